package iimmpactotel_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/iimmpactotel"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// telemetry is the real OpenTelemetry SDK, recording in memory.
type telemetry struct {
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	opt    iimmpact.Option
}

func newTelemetry(t *testing.T) *telemetry {
	tel := &telemetry{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tel.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	tel.opt = iimmpactotel.Instrument(iimmpactotel.WithTracerProvider(tp), iimmpactotel.WithMeterProvider(mp))
	return tel
}

func (tel *telemetry) metrics(t *testing.T) map[string]metricdata.Aggregation {
	var rm metricdata.ResourceMetrics
	require.NoError(t, tel.reader.Collect(context.Background(), &rm))
	got := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, "github.com/iimmpact-go/iimmpact/iimmpactotel", sm.Scope.Name)
		assert.Equal(t, iimmpact.Version, sm.Scope.Version)
		for _, m := range sm.Metrics {
			got[m.Name] = m.Data
		}
	}
	return got
}

// sum is a counter's total for the points whose attributes hold want.
func sum(t *testing.T, agg metricdata.Aggregation, want ...attribute.KeyValue) int64 {
	s, ok := agg.(metricdata.Sum[int64])
	require.True(t, ok, "%T", agg)
	var n int64
	for _, p := range s.DataPoints {
		if hasAll(p.Attributes, want) {
			n += p.Value
		}
	}
	return n
}

func hasAll(set attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

func attrs(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.Emit()
	}
	return m
}

func TestTracesAndMetricsOverTheSandbox(t *testing.T) {
	tel := newTelemetry(t)
	srv := iimmpacttest.Start(t, iimmpacttest.WithClientOptions(tel.opt))
	srv.FailTimes("TNB", "220012345678", 1, iimmpacttest.Raw(503, nil, `{"message":"busy"}`))
	t.Cleanup(srv.Client.CloseIdleConnections)
	ctx := context.Background()
	for _, q := range []iimmpact.Query{
		{Product: "AKSB", Account: "1234567890"},  // show
		{Product: "DIGI", Account: "0123456789"},  // hide
		{Product: "AKSB", Account: "0000000000"},  // block
		{Product: "TNB", Account: "220012345678"}, // a 503, retried, then show
	} {
		_, err := srv.Client.BillPresentment(ctx, q)
		require.NoError(t, err)
	}

	var calls, requests []sdktrace.ReadOnlySpan
	for _, s := range tel.spans.Ended() {
		switch s.SpanKind().String() {
		case "client":
			requests = append(requests, s)
		default:
			calls = append(calls, s)
		}
	}
	require.Len(t, calls, 4)
	require.Len(t, requests, 5, "one client span per HTTP request, the retry included")
	decided := map[string]string{}
	for _, s := range calls {
		a := attrs(s.Attributes())
		assert.Equal(t, "iimmpact.bill_presentment", s.Name())
		decided[a["iimmpact.product"]+" "+a["iimmpact.decision.action"]] = a["iimmpact.decision.reason"]
	}
	assert.Equal(t, map[string]string{"AKSB show": "valid", "DIGI hide": "unavailable", "AKSB block": "invalid_account", "TNB show": "valid"}, decided)

	host, port := hostPort(t, srv.URL)
	retried := 0
	for _, s := range requests {
		a := attrs(s.Attributes())
		assert.Equal(t, "GET", s.Name())
		assert.Equal(t, "GET", a["http.request.method"])
		assert.Equal(t, host, a["server.address"])
		assert.Equal(t, port, a["server.port"])
		assert.Equal(t, srv.URL+"/v2/bill-presentment", a["url.full"], "without its query, which holds the account")
		parent := s.Parent().SpanID()
		assert.True(t, parent.IsValid(), "under the call's span")
		if a["http.response.status_code"] == "503" {
			assert.Equal(t, "503", a["error.type"])
			assert.Equal(t, codes.Error, s.Status().Code)
		}
		if a["http.request.resend_count"] == "1" {
			retried++
		}
	}
	assert.Equal(t, 1, retried, "the retry carries http.request.resend_count")

	m := tel.metrics(t)
	decisions := m["iimmpact.bill_presentment.decisions"]
	assert.Equal(t, int64(2), sum(t, decisions, attribute.String("iimmpact.decision.reason", "valid")))
	assert.Equal(t, int64(1), sum(t, decisions, attribute.String("iimmpact.decision.action", "block"), attribute.String("iimmpact.product", "AKSB")))
	assert.Equal(t, int64(1), sum(t, decisions, attribute.String("iimmpact.decision.reason", "unavailable")))
	hist, ok := m["http.client.request.duration"].(metricdata.Histogram[float64])
	require.True(t, ok)
	var count uint64
	for _, p := range hist.DataPoints {
		count += p.Count
		a := attrs(p.Attributes.ToSlice())
		assert.Equal(t, "GET", a["http.request.method"])
		assert.Equal(t, host, a["server.address"])
		assert.NotEmpty(t, a["http.response.status_code"])
	}
	assert.Equal(t, uint64(5), count, "per attempt")
}

func TestQuotaAndBreakerRefusals(t *testing.T) {
	tel := newTelemetry(t)
	srv := iimmpacttest.Start(t, iimmpacttest.WithRateLimit(3, time.Minute, time.Hour),
		iimmpacttest.WithClientOptions(tel.opt, iimmpact.WithQuota(10, time.Minute), iimmpact.WithMaxRetries(0)))
	t.Cleanup(srv.Client.CloseIdleConnections)
	q := iimmpact.Query{Product: "AKSB", Account: "1234567890"}
	ctx := context.Background()
	for range 3 {
		_, err := srv.Client.BillPresentment(ctx, q)
		require.NoError(t, err)
	}
	for range 3 { // the sandbox blocks the IP: three 403s open the breaker
		_, err := srv.Client.BillPresentment(ctx, q)
		require.Error(t, err)
	}
	_, err := srv.Client.BillPresentment(ctx, q)
	assert.ErrorIs(t, err, iimmpact.ErrBlocked)

	events := map[string]int{}
	for _, s := range tel.spans.Ended() {
		for _, e := range s.Events() {
			events[e.Name]++
		}
	}
	assert.Equal(t, 1, events["iimmpact.breaker.opened"])
	assert.Equal(t, 1, events["iimmpact.breaker.refused"])
	m := tel.metrics(t)
	assert.Equal(t, int64(1), sum(t, m["iimmpact.breaker.opens"]))
	assert.Equal(t, int64(4), sum(t, m["iimmpact.bill_presentment.decisions"], attribute.String("iimmpact.decision.reason", "error")), "errors decide too")

	tel2 := newTelemetry(t)
	srv2 := iimmpacttest.Start(t, iimmpacttest.WithClientOptions(tel2.opt, iimmpact.WithQuota(1, time.Minute)))
	t.Cleanup(srv2.Client.CloseIdleConnections)
	_, err = srv2.Client.BillPresentment(ctx, q)
	require.NoError(t, err)
	_, err = srv2.Client.BillPresentment(ctx, q)
	require.ErrorIs(t, err, iimmpact.ErrQuotaExceeded)
	assert.Equal(t, int64(1), sum(t, tel2.metrics(t)["iimmpact.quota.refusals"]))
	var refused int
	for _, s := range tel2.spans.Ended() {
		for _, e := range s.Events() {
			if e.Name == "iimmpact.quota.refused" {
				refused++
				assert.Equal(t, "quota_exceeded", attrs(s.Attributes())["error.type"])
			}
		}
	}
	assert.Equal(t, 1, refused)
}

func TestQuotaWaitIsRecorded(t *testing.T) {
	tel := newTelemetry(t)
	srv := iimmpacttest.Start(t, iimmpacttest.WithClientOptions(tel.opt, iimmpact.WithQuota(1, 50*time.Millisecond), iimmpact.WithQuotaWait(time.Second)))
	t.Cleanup(srv.Client.CloseIdleConnections)
	for range 2 {
		_, err := srv.Client.BillPresentment(context.Background(), iimmpact.Query{Product: "AKSB", Account: "1234567890"})
		require.NoError(t, err)
	}
	hist, ok := tel.metrics(t)["iimmpact.quota.wait.duration"].(metricdata.Histogram[float64])
	require.True(t, ok)
	require.Len(t, hist.DataPoints, 1)
	assert.Equal(t, uint64(1), hist.DataPoints[0].Count, "the second call waited")
	assert.Greater(t, hist.DataPoints[0].Sum, 0.0)
}

// No span, event, status or metric attribute holds the account, Ref-2, the
// key, the secret, a nonce or a signature.
func TestNoSecretInTelemetry(t *testing.T) {
	tel := newTelemetry(t)
	srv := iimmpacttest.Start(t, iimmpacttest.WithClientOptions(tel.opt, iimmpact.WithMaxRetries(1)))
	t.Cleanup(srv.Client.CloseIdleConnections)
	const account, ref2 = "8800123456", "PJ-2025-001"
	srv.Set("AKSB", "4455667788", iimmpacttest.Raw(404, http.Header{"X-Request-Id": {"echo-4455667788"}}, `{"message":"no account 4455667788"}`))
	srv.FailTimes("JOMPAY", account, 1, iimmpacttest.Raw(503, nil, `{"message":"`+account+` `+ref2+`"}`))
	ctx := context.Background()
	_, err := srv.Client.BillPresentment(ctx, iimmpact.Query{Product: "JOMPAY", Account: account, BillerCode: "5454", Ref2: ref2})
	require.NoError(t, err)
	_, err = srv.Client.BillPresentment(ctx, iimmpact.Query{Product: "AKSB", Account: "4455667788"})
	require.Error(t, err)

	var out strings.Builder
	for _, s := range tel.spans.Ended() {
		fmt.Fprintf(&out, "%s %v %v %v\n", s.Name(), s.Attributes(), s.Status(), s.Events())
	}
	for name, agg := range tel.metrics(t) {
		fmt.Fprintf(&out, "%s %+v\n", name, agg)
	}
	secrets := []string{account, ref2, "4455667788", srv.APIKey, srv.HMACSecret}
	for _, r := range srv.Requests() {
		secrets = append(secrets, r.Header.Get("X-Nonce"), strings.TrimPrefix(r.Header.Get("X-Signature"), "v1="))
	}
	for _, secret := range secrets {
		assert.NotContains(t, out.String(), secret)
	}
	assert.Contains(t, out.String(), "[REDACTED]", "the echoed request ID was redacted, not dropped")
}

func hostPort(t *testing.T, base string) (string, string) {
	u := strings.TrimPrefix(base, "http://")
	host, port, ok := strings.Cut(u, ":")
	require.True(t, ok)
	return host, port
}

// Made-up product codes (a checkout that takes free text) never push the
// decisions past the SDK's cardinality limit: iimmpact.product takes at most
// 200 values, the rest are "other", and the unrecognised_message alert still
// sees every decision.
func TestProductCardinalityIsBounded(t *testing.T) {
	tel := newTelemetry(t)
	srv := iimmpacttest.NewHandler(iimmpacttest.WithClientOptions(tel.opt))
	for i := range 2500 {
		_, err := srv.Client.BillPresentment(context.Background(), iimmpact.Query{Product: fmt.Sprintf("X%d", i), Account: "1"})
		require.NoError(t, err)
	}
	_, err := srv.Client.BillPresentment(context.Background(), iimmpact.Query{Product: "UNIFI", Account: "0312345678"})
	require.NoError(t, err)
	decisions := tel.metrics(t)["iimmpact.bill_presentment.decisions"]
	assert.Equal(t, int64(1), sum(t, decisions, attribute.String("iimmpact.decision.reason", "unrecognised_message")), "the alert sees it")
	assert.Equal(t, int64(2501), sum(t, decisions))
	products := map[string]bool{}
	for _, p := range decisions.(metricdata.Sum[int64]).DataPoints {
		_, overflow := p.Attributes.Value("otel.metric.overflow")
		assert.False(t, overflow, "no decision falls into the SDK's overflow series")
		v, _ := p.Attributes.Value("iimmpact.product")
		products[v.AsString()] = true
	}
	assert.LessOrEqual(t, len(products), 201)
	assert.True(t, products["other"])
}
