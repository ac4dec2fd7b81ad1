package iimmpact

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAccountNeverLeaksPercentEncoded(t *testing.T) {
	const account = "12 34/56+78"
	echoes := []string{
		"12%2034%2F56%2B78", "12%2034%2f56%2b78", "12+34%2F56%2B78", "12%2034/56%2B78", "%31%32%20%33%34%2f%35%36%2b%37%38",
		"12%252034%252F56%252B78",
	}
	for _, echo := range echoes {
		var logs bytes.Buffer
		h := newHarness(t, WithMaxRetries(0), WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
		h.respond(t, func(*http.Request) (*http.Response, error) {
			resp, err := jsonResponder(404, []byte(`{"error":"not_found `+echo+`","message":"no account `+echo+`"} see /v2?account=`+echo))(nil)
			resp.Header.Set("X-Request-Id", "req-"+echo)
			return resp, err
		})
		_, err := h.c.BillPresentment(context.Background(), Query{Product: "AKSB", Account: account})
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		out := strings.Join([]string{err.Error(), apiErr.Body, apiErr.Message, apiErr.Kind, apiErr.RequestID, logs.String()}, "\n")
		assert.NotContains(t, out, echo, "echoed as %s", echo)
		assert.Contains(t, apiErr.Message, redacted)
	}
}
