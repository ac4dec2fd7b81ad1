package iimmpact

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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

func TestAPIErrorDetails(t *testing.T) {
	c, err := NewClient(testKey, testSecret)
	require.NoError(t, err)
	var cl call
	sent := 1
	apiErr := func(status int, body string) *APIError {
		return newAPIError(c.redactor(cl, nil), &response{status: status, header: http.Header{}, body: []byte(body)}, sent, "")
	}
	e := apiErr(503, "\xff\xfe not utf8 "+strings.Repeat("x", 600))
	assert.LessOrEqual(t, len(e.Body), 512+6, "bounded")
	assert.True(t, strings.HasPrefix(e.Body, "\ufffd"), "invalid UTF-8 replaced")

	e = apiErr(401, `{"error":401,"message":{"nested":true}}`)
	assert.Equal(t, "401", e.Kind, "a scalar error is kept as text")
	assert.Equal(t, -1, e.Code, "no vendor code")
	assert.Empty(t, e.Message, "an object is not a message")
	assert.Equal(t, "iimmpact: HTTP 401 Unauthorized: 401", e.Error())

	e = apiErr(401, `{"Error":"a","MESSAGE":"b","error":"unauthorized"}`)
	assert.Equal(t, "unauthorized", e.Kind, "keys are matched exactly")
	assert.Empty(t, e.Message)

	sent = 3
	e = apiErr(502, "<html>\n<title>502</title>")
	assert.Equal(t, `iimmpact: HTTP 502 Bad Gateway: "<html>" (after 3 attempts)`, e.Error())

	e = newAPIError(c.redactor(cl, nil), &response{status: 429, body: []byte(`{"message":"slow down"}`), header: http.Header{
		"Retry-After": {"120"}, "X-Amzn-Requestid": {"c0ffee-1234"},
	}}, sent, "")
	assert.Equal(t, 2*time.Minute, e.RetryAfter)
	assert.Equal(t, "c0ffee-1234", e.RequestID)
	assert.Equal(t, "iimmpact: HTTP 429 Too Many Requests: slow down (after 3 attempts) (retry after 2m0s) (request ID c0ffee-1234)", e.Error())
	e = newAPIError(c.redactor(cl, nil), &response{status: 500, body: nil, header: http.Header{"X-Request-Id": {"r-9"}, "Retry-After": {"5"}}}, sent, "")
	assert.Equal(t, "r-9", e.RequestID)
	assert.Zero(t, e.RetryAfter, "Retry-After is kept for 429 and 503, which ask for it")
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
