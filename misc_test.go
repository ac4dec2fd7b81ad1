package iimmpact

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClientRedactedInSlogAndGoString(t *testing.T) {
	c, err := NewClient(testKey, testSecret)
	require.NoError(t, err)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("client", "c", c, "v", *c, "s", c.signer)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("client", "c", c)
	out := buf.String() + c.GoString() + c.signer.GoString()
	assert.Contains(t, out, "iimm_prod_…")
	assert.NotContains(t, out, "TESTKEY0123456789")
	assert.NotContains(t, out, testSecret)
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
		var tx Text
		raw := strings.ReplaceAll(in, `\xff`, "\xff")
		require.NoError(t, json.Unmarshal([]byte(raw), &tx), in)
		assert.Equal(t, want, tx.Value, in)
		assert.Equal(t, Present, tx.State)
	}
	var tx Text
	assert.Error(t, json.Unmarshal([]byte(`[1]`), &tx), "an array is not text")
	require.NoError(t, json.Unmarshal([]byte(`12.5`), &tx))
	assert.Equal(t, "12.5", tx.String(), "a number sent as Balance is kept as its text")
}

func TestAPIErrorDetails(t *testing.T) {
	e := newAPIError(503, []byte("\xff\xfe not utf8 "+strings.Repeat("x", 600)))
	assert.True(t, e.Temporary())
	assert.LessOrEqual(t, len(e.Body), maxExcerpt+6, "bounded")
	assert.True(t, strings.HasPrefix(e.Body, "\ufffd"), "invalid UTF-8 replaced")
	assert.False(t, newAPIError(403, nil).Temporary(), "a 403 is never retried")

	e = newAPIError(401, []byte(`{"error":401,"message":{"nested":true}}`))
	assert.Equal(t, "401", e.Code, "a scalar code is kept as text")
	assert.Empty(t, e.Message, "an object is not a message")
	assert.Equal(t, "iimmpact: HTTP 401 Unauthorized: 401", e.Error())

	e = newAPIError(502, []byte("<html>\n<title>502</title>"))
	e.Attempts = 3
	assert.Equal(t, `iimmpact: HTTP 502 Bad Gateway: "<html>" (after 3 attempts)`, e.Error())
}

func TestRetryBackoffOption(t *testing.T) {
	for _, bad := range [][2]time.Duration{{0, time.Second}, {time.Second, time.Millisecond}, {-1, -1}} {
		_, err := NewClient(testKey, testSecret, WithRetryBackoff(bad[0], bad[1]))
		assert.ErrorContains(t, err, "WithRetryBackoff")
	}
	c, err := NewClient(testKey, testSecret, WithRetryBackoff(time.Millisecond, 2*time.Millisecond))
	require.NoError(t, err)
	assert.Equal(t, 2*time.Millisecond, c.backoff.Max)
}
