package iimmpact

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOddFramingNeverUnblocks(t *testing.T) {
	for name, body := range map[string]string{
		"byte order mark":   "\ufeff" + invalidEnvelope,
		"garbage after":     invalidEnvelope + "garbage",
		"a NUL after":       invalidEnvelope + "\x00",
		"an HTML page":      invalidEnvelope + "\n<html><body><h1>502 Bad Gateway</h1></body></html>",
		"a second envelope": invalidEnvelope + `{"data":{"message":"Account no is valid"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.respond(t, jsonResponder(400, []byte(body)))
			bill, err := h.c.BillPresentment(context.Background(), aksb)
			require.NoError(t, err)
			assert.Equal(t, ActionBlock, bill.Decision().Action)
		})
	}
	bill, err := DecodeBill(append([]byte("\ufeff"), golden(t, "valid_aksb.json")...))
	require.NoError(t, err, "a byte order mark is framing, nothing more")
	assert.Equal(t, ActionShow, bill.Decision().Action)
	_, err = DecodeBill(append(golden(t, "valid_aksb.json"), "<html>"...))
	assert.ErrorIs(t, err, ErrMalformedResponse, "a bill a proxy spoilt is not shown")
}

// deep returns a CustomField nested depth arrays deep around a string, padded
// to about size bytes.
func deep(depth, size int) string {
	inner := `"` + strings.Repeat("x", max(1, size-2*depth-2)) + `"`
	return strings.Repeat("[", depth) + inner + strings.Repeat("]", depth)
}

func TestHostileNestingIsReadInBoundedTime(t *testing.T) {
	for _, depth := range []int{250, 600, 9_999} {
		body := `{"data":{"message":"Account no is valid","CustomField":` + deep(depth, 0) + `}}`
		start := time.Now()
		bill, err := DecodeBill([]byte(body))
		require.NoError(t, err)
		fields := bill.Fields()
		// Before, 250 levels took 1.6 s and 600 took 21 s: the check for
		// blanks read the value again at every level.
		assert.Less(t, time.Since(start), time.Second, "depth %d", depth)
		require.Len(t, fields, 1)
		assert.Equal(t, "x", fields[0].Value)
	}
}

func TestTextUnquotesEscapes(t *testing.T) {
	for in, want := range map[string]string{
		`"plain"`:              "plain",
		`"caf\u00e9 \"x\""`:    `café "x"`,
		`"line\nbreak"`:        "line\nbreak",
		`"bad \xff utf8"`:      "bad \ufffd utf8",
		`"tab\tand\\slash"`:    "tab\tand\\slash",
		`"emoji \ud83d\ude00"`: "emoji 😀",
	} {
		tx := readText([]byte(strings.ReplaceAll(in, `\xff`, "\xff")))
		assert.Equal(t, want, tx.String(), in)
		assert.Equal(t, Returned, tx.State())
	}
	assert.Equal(t, Unreadable, readText([]byte(`[1]`)).State(), "an array is not text")
	tx := readText([]byte(`12.5`))
	assert.Equal(t, "12.5", tx.String(), "a number sent as Balance is kept as its text")
	assert.Equal(t, Blank, readText([]byte(`" \t "`)).State())
}
