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

const statusEndpoint = ProductionURL + "/v2/networkstatus"

const tnbStatus = `{"data":{"product_code":"TNB","product_name":"Tenaga Nasional Berhad","product_img":"https://dashboard.iimmpact.com/img/TNB.png","network_status":"Healthy"},"metadata":{"status_code":200,"last_updated":"19-05-2025 14:49:03"}}`

func TestNetworkStatusDecodesTheReferenceExample(t *testing.T) {
	h := newHarness(t)
	h.mt.RegisterResponder(http.MethodGet, statusEndpoint, func(req *http.Request) (*http.Response, error) {
		assert.Empty(t, h.check(req), "signed like bill presentment")
		assert.Equal(t, "product=TNB", req.URL.RawQuery)
		return jsonResponder(200, []byte(tnbStatus))(req)
	})
	st, err := h.c.NetworkStatus(context.Background(), " TNB ")
	require.NoError(t, err)
	assert.Equal(t, "TNB", st.ProductCode)
	assert.Equal(t, "Tenaga Nasional Berhad", st.ProductName)
	assert.Equal(t, "https://dashboard.iimmpact.com/img/TNB.png", st.ProductImage)
	assert.Equal(t, "Healthy", st.Status)
	assert.False(t, st.Interrupted())
	when, err := st.LastUpdated.Time()
	require.NoError(t, err)
	assert.Equal(t, "2025-05-19T14:49:03+08:00", when.Format("2006-01-02T15:04:05Z07:00"))
	assert.False(t, (*NetworkStatus)(nil).Interrupted(), "an error never warns the customer")
}

func TestNetworkStatusInterruptionAndUnknownTexts(t *testing.T) {
	var logs bytes.Buffer
	h := newHarness(t, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	status := "Interruption"
	h.mt.RegisterResponder(http.MethodGet, statusEndpoint, func(req *http.Request) (*http.Response, error) {
		return jsonResponder(200, []byte(strings.Replace(tnbStatus, "Healthy", status, 1)))(req)
	})
	for _, s := range []string{"Interruption", " interruption. ", "Interruption\u200b"} {
		status = s
		st, err := h.c.NetworkStatus(context.Background(), "TNB")
		require.NoError(t, err)
		assert.True(t, st.Interrupted(), "%q", s)
	}
	assert.Empty(t, logs.String())
	status = "Degraded service (new)"
	for range 3 {
		st, err := h.c.NetworkStatus(context.Background(), "TNB")
		require.NoError(t, err)
		assert.Equal(t, "Degraded service (new)", st.Status, "kept as sent")
		assert.False(t, st.Interrupted(), "an unknown text is not an interruption")
	}
	assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), "logged once, like an unrecognised message")
}

func TestNetworkStatusIsStrict(t *testing.T) {
	for name, body := range map[string]string{
		"not json":        `<html>`,
		"no data":         `{"metadata":{}}`,
		"status a number": `{"data":{"network_status":1}}`,
		"status null":     `{"data":{"network_status":null}}`,
		"no status":       `{"data":{"product_code":"TNB"}}`,
		"twice":           `{"data":{"network_status":"Healthy","network_status":"Interruption"}}`,
		"bytes after":     tnbStatus + "<html>",
	} {
		h := newHarness(t)
		h.mt.RegisterResponder(http.MethodGet, statusEndpoint, jsonResponder(200, []byte(body)))
		st, err := h.c.NetworkStatus(context.Background(), "TNB")
		assert.ErrorIs(t, err, ErrMalformedResponse, name)
		assert.False(t, st.Interrupted())
		assert.Equal(t, 1, h.mt.GetTotalCallCount(), "a malformed 200 is not retried")
	}
	h := newHarness(t)
	h.mt.RegisterResponder(http.MethodGet, statusEndpoint, jsonResponder(200, []byte(
		`{"data":{"product_name":"TNB\u001b[2J \u202eX","product_img":"javascript:alert(1)","network_status":"Healthy"}}`)))
	st, err := h.c.NetworkStatus(context.Background(), "TNB")
	require.NoError(t, err)
	assert.Equal(t, "TNB X", st.ProductName, "safe to show")
	assert.Empty(t, st.ProductImage, "only an http or https image")

	_, err = h.c.NetworkStatus(context.Background(), " ")
	assert.ErrorIs(t, err, ErrInvalidQuery)
}

func TestNetworkStatusRetriesAndCountsLikeAnyRequest(t *testing.T) {
	h := newHarness(t)
	h.respond(t, jsonResponder(200, golden(t, "valid_aksb.json")))
	h.mt.RegisterResponder(http.MethodGet, statusEndpoint, jsonResponder(503, []byte(`{}`)).Once().Then(jsonResponder(200, []byte(tnbStatus))))
	st, err := h.c.NetworkStatus(context.Background(), "TNB")
	require.NoError(t, err)
	assert.Equal(t, "Healthy", st.Status)
	assert.Equal(t, 2, h.mt.GetTotalCallCount())
	assert.Len(t, h.sleeps, 1, "a 503 is retried with backoff")

	g, _ := guarded(t, WithQuota(1, 60e9))
	g.mt.RegisterResponder(http.MethodGet, statusEndpoint, jsonResponder(200, []byte(tnbStatus)))
	g.respond(t, jsonResponder(200, golden(t, "valid_aksb.json")))
	_, err = g.c.NetworkStatus(context.Background(), "TNB")
	require.NoError(t, err)
	_, err = g.c.BillPresentment(context.Background(), aksb)
	assert.ErrorIs(t, err, ErrQuotaExceeded, "one IP quota for every endpoint")
}
