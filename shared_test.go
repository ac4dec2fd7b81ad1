package iimmpact

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The drift alarm cannot be flooded: after far more distinct texts than it
// remembers (billers that put reference numbers in messages), a rewording of
// "Invalid account no" still warns.
func TestDriftAlarmCannotBeFlooded(t *testing.T) {
	var logs bytes.Buffer
	shared := NewShared()
	c := newTestClient(t, WithShared(shared), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	cl := call{op: opBillPresentment, product: "TNB"}
	for i := range 3 * maxUnrecognised {
		c.unrecognised(context.Background(), cl, nil, "data.message", fmt.Sprintf("Your reference is %d", i))
	}
	assert.Equal(t, maxUnrecognised, strings.Count(logs.String(), "level=WARN"), "memory stays bounded")
	logs.Reset()
	for _, rewording := range []string{"Invalid acount number.", "No akaun tidak sah", "Account not found"} {
		c.unrecognised(context.Background(), cl, nil, "data.message", rewording)
		c.unrecognised(context.Background(), cl, nil, "data.message", rewording)
	}
	assert.Equal(t, 3, strings.Count(logs.String(), "level=WARN"), "each rewording warns once: %s", logs.String())

	shared.drift.Lock()
	for i := range maxUnrecognised {
		shared.drift.blockLike[fmt.Sprint(i)] = true
	}
	shared.drift.Unlock()
	logs.Reset()
	c.unrecognised(context.Background(), cl, nil, "data.message", "Invalid account no (ref 77)")
	c.unrecognised(context.Background(), cl, nil, "data.message", "Invalid account no (ref 77)")
	assert.Equal(t, 2, strings.Count(logs.String(), "level=WARN"), "past its own bound, a block-like text warns every time")

	var other bytes.Buffer
	d := newTestClient(t, WithShared(NewShared()), WithLogger(slog.New(slog.NewTextHandler(&other, nil))))
	d.unrecognised(context.Background(), cl, nil, "data.message", "Invalid acount number.")
	assert.Equal(t, 1, strings.Count(other.String(), "level=WARN"), "another Shared has its own memory")
}
