package iimmpact

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The drift alarm cannot be flooded: after far more distinct texts than it
// remembers (billers that put reference numbers in messages), a rewording of
// "Invalid account no" still warns.
func TestDriftAlarmCannotBeFlooded(t *testing.T) {
	var logs bytes.Buffer
	shared := NewShared()
	c, err := NewClient(testKey, testSecret, WithShared(shared), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
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
	d, err := NewClient(testKey, testSecret, WithShared(NewShared()), WithLogger(slog.New(slog.NewTextHandler(&other, nil))))
	require.NoError(t, err)
	d.unrecognised(context.Background(), cl, nil, "data.message", "Invalid acount number.")
	assert.Equal(t, 1, strings.Count(other.String(), "level=WARN"), "another Shared has its own memory")
}

// A dial that times out is reported as the documented deadline_exceeded.
func TestErrorKindOfADialTimeout(t *testing.T) {
	err := &urlErrorTimeout{}
	assert.Equal(t, ErrorKindDeadlineExceeded, errorKind(err))
	assert.Equal(t, ErrorTypeTimeout, errorType(err))
}

type urlErrorTimeout struct{}

func (*urlErrorTimeout) Error() string { return "dial tcp 10.0.0.1:443: i/o timeout" }
func (*urlErrorTimeout) Timeout() bool { return true }

// A doc comment cites only files in the repository: the vendor's pages are
// cited by their path on its documentation site.
func TestDocsCiteOnlyFilesInTheRepository(t *testing.T) {
	cited := regexp.MustCompile(`//.*?\b([\w./-]+\.md)\b`)
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range cited.FindAllStringSubmatch(string(src), -1) {
			if _, err := os.Stat(filepath.Join(filepath.Dir(path), m[1])); err != nil {
				if _, err := os.Stat(m[1]); err != nil {
					t.Errorf("%s cites %s, which is not in the repository", path, m[1])
				}
			}
		}
		return nil
	})
	require.NoError(t, err)
}
