package iimmpact_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

// recorder is an Observer that keeps what it was told.
type recorder struct {
	mu       sync.Mutex
	calls    []iimmpact.CallInfo
	results  []iimmpact.CallResult
	requests []iimmpact.RequestInfo
	answers  []iimmpact.RequestResult
	values   []any // the caller's context value, as each hook saw it
}

type ctxKey struct{}

func (r *recorder) StartCall(ctx context.Context, c iimmpact.CallInfo) (context.Context, func(iimmpact.CallResult)) {
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.values = append(r.values, ctx.Value(ctxKey{}))
	r.mu.Unlock()
	return ctx, func(res iimmpact.CallResult) {
		r.mu.Lock()
		r.results = append(r.results, res)
		r.mu.Unlock()
	}
}

func (r *recorder) StartRequest(ctx context.Context, req iimmpact.RequestInfo) (context.Context, func(iimmpact.RequestResult)) {
	r.mu.Lock()
	r.requests = append(r.requests, req)
	r.values = append(r.values, ctx.Value(ctxKey{}))
	r.mu.Unlock()
	return ctx, func(res iimmpact.RequestResult) {
		r.mu.Lock()
		r.answers = append(r.answers, res)
		r.mu.Unlock()
	}
}

func TestObserverSeesCallsAndRequests(t *testing.T) {
	rec := &recorder{}
	srv := iimmpacttest.NewHandler(iimmpacttest.WithClientOptions(iimmpact.WithObserver(rec)))
	srv.FailTimes("TNB", "220012345678", 1, iimmpacttest.Raw(503, http.Header{"X-Request-Id": {"r-503"}}, `{"message":"busy"}`))
	ctx := context.WithValue(context.Background(), ctxKey{}, "trace-42")
	bill, err := srv.Client.BillPresentment(ctx, iimmpact.Query{Product: "TNB", Account: "220012345678"})
	require.NoError(t, err)
	require.Equal(t, iimmpact.ActionShow, bill.Decision().Action)

	assert.Equal(t, []iimmpact.CallInfo{{Operation: "bill_presentment", Product: "TNB"}}, rec.calls)
	require.Len(t, rec.results, 1)
	r := rec.results[0]
	assert.Equal(t, iimmpact.ReasonValid, r.Decision.Reason)
	assert.Equal(t, 2, r.Attempts)
	assert.Equal(t, 200, r.StatusCode)
	assert.Empty(t, r.ErrorKind)
	assert.Positive(t, r.Duration)
	require.Len(t, rec.requests, 2)
	assert.Equal(t, []int{0, 1}, []int{rec.requests[0].Resend, rec.requests[1].Resend})
	assert.Equal(t, srv.URL+"/v2/bill-presentment", rec.requests[0].URL, "no query: it holds the account")
	assert.Equal(t, "GET", rec.requests[0].Method)
	assert.Equal(t, []int{503, 200}, []int{rec.answers[0].StatusCode, rec.answers[1].StatusCode})
	for _, v := range rec.values {
		assert.Equal(t, "trace-42", v, "every hook has the caller's context")
	}

	_, err = srv.Client.BillPresentment(ctx, iimmpact.Query{Product: "JOMPAY", Account: "1"})
	require.Error(t, err)
	last := rec.results[len(rec.results)-1]
	assert.Equal(t, iimmpact.ErrorKindInvalidQuery, last.ErrorKind)
	assert.Equal(t, iimmpact.ReasonError, last.Decision.Reason, "an error decides too")
	assert.Equal(t, 0, last.Attempts)
}

func TestObserverSeesTheQuotaAndTheBreaker(t *testing.T) {
	rec := &recorder{}
	srv := iimmpacttest.NewHandler(iimmpacttest.WithRateLimit(2, time.Minute, time.Hour),
		iimmpacttest.WithClientOptions(iimmpact.WithObserver(rec), iimmpact.WithMaxRetries(0)))
	q := iimmpact.Query{Product: "AKSB", Account: "1234567890"}
	for range 6 {
		_, _ = srv.Client.BillPresentment(context.Background(), q)
	}
	opened := 0
	for _, a := range rec.answers {
		if a.BreakerOpened {
			opened++
		}
	}
	assert.Equal(t, 1, opened, "the third 403 in a row opens the breaker")
	kinds := []string{}
	for _, r := range rec.results {
		kinds = append(kinds, string(r.ErrorKind))
	}
	assert.Equal(t, []string{"", "", "http_error", "http_error", "http_error", "blocked"}, kinds)
	assert.Len(t, rec.requests, 5, "a refused call sends no request")

	rec2 := &recorder{}
	srv2 := iimmpacttest.NewHandler(iimmpacttest.WithClientOptions(iimmpact.WithObserver(rec2), iimmpact.WithQuota(1, time.Minute)))
	_, err := srv2.Client.BillPresentment(context.Background(), q)
	require.NoError(t, err)
	_, err = srv2.Client.BillPresentment(context.Background(), q)
	require.ErrorIs(t, err, iimmpact.ErrQuotaExceeded)
	assert.Equal(t, iimmpact.ErrorKindQuotaExceeded, rec2.results[1].ErrorKind)
	assert.Len(t, rec2.requests, 1)
}

func TestObserverHearsNothingSecret(t *testing.T) {
	rec := &recorder{}
	srv := iimmpacttest.NewHandler(iimmpacttest.WithClientOptions(iimmpact.WithObserver(rec), iimmpact.WithMaxRetries(0)))
	const account = "4455 6677/88"
	srv.Set("AKSB", account, iimmpacttest.Raw(404, http.Header{"X-Request-Id": {"id-4455%206677%2F88"}}, `{"message":"no `+account+`"}`))
	_, err := srv.Client.BillPresentment(context.Background(), iimmpact.Query{Product: "AKSB", Account: account})
	require.Error(t, err)
	out := fmt.Sprintf("%+v %+v %+v %+v %v", rec.calls, rec.results, rec.requests, rec.answers, rec.results[0].Err)
	for _, secret := range []string{account, "4455%206677%2F88", srv.APIKey, srv.HMACSecret, srv.Requests()[0].Header.Get("X-Nonce")} {
		assert.NotContains(t, out, secret)
	}
	assert.Contains(t, rec.results[0].RequestID, "[REDACTED]")
}

// The vendor-drift alarm: a data.message the SDK does not know is one Warn per
// text per process, and a count under its reason every time.
func TestUnrecognisedMessageWarnsOnce(t *testing.T) {
	var logs bytes.Buffer
	rec := &recorder{}
	text := fmt.Sprintf("Invalid account number (%d)", time.Now().UnixNano()) // a text no other test uses
	srv := iimmpacttest.NewHandler(iimmpacttest.WithClientOptions(iimmpact.WithObserver(rec),
		iimmpact.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))))
	srv.Set("AKSB", "1234567890", iimmpacttest.Message(text))
	for range 3 {
		bill, err := srv.Client.BillPresentment(context.Background(), iimmpact.Query{Product: "AKSB", Account: "1234567890"})
		require.NoError(t, err)
		assert.Equal(t, iimmpact.ReasonUnrecognised, bill.Decision().Reason)
	}
	assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), logs.String())
	assert.Contains(t, logs.String(), "the vendor may have reworded it")
	assert.Contains(t, logs.String(), "Invalid account number")
	counted := 0
	for _, r := range rec.results {
		if r.Decision.Reason == iimmpact.ReasonUnrecognised {
			counted++
		}
	}
	assert.Equal(t, 3, counted)

	srv.Set("AKSB", "1234567890", iimmpacttest.Message("  "+strings.ToUpper(text)+" !"))
	_, err := srv.Client.BillPresentment(context.Background(), iimmpact.Query{Product: "AKSB", Account: "1234567890"})
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), "the same text after the decision's normalisation")
}

// panicky is an Observer whose every request hook panics.
type panicky struct{ recorder }

func (p *panicky) StartRequest(context.Context, iimmpact.RequestInfo) (context.Context, func(iimmpact.RequestResult)) {
	panic("observer bug")
}

// An observer that panics reaches the caller, and never eats a quota slot or
// leaves the breaker's probe taken.
func TestPanickingObserverLeaksNoSlot(t *testing.T) {
	obs := &panicky{}
	srv := iimmpacttest.NewHandler(iimmpacttest.WithClientOptions(iimmpact.WithObserver(obs), iimmpact.WithQuota(3, time.Hour)))
	plain := iimmpact.NewTestClient(t, srv.APIKey, srv.HMACSecret, iimmpact.WithBaseURL(srv.URL), iimmpact.WithQuota(3, time.Hour),
		iimmpact.WithHTTPClient(&http.Client{Transport: roundTrip(srv.Responder())}))
	q := iimmpact.Query{Product: "TNB", Account: "220012345678"}
	for range 3 {
		assert.PanicsWithValue(t, "observer bug", func() { _, _ = srv.Client.BillPresentment(context.Background(), q) })
	}
	assert.Empty(t, srv.Requests(), "nothing was sent")
	for range 3 {
		_, err := plain.BillPresentment(context.Background(), q)
		require.NoError(t, err, "the three slots were given back")
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Every reported name is a documented one: an attempt cut short by
// WithTimeout is ErrorType timeout, and its call deadline_exceeded.
func TestTimeoutsAreReportedByTheirDocumentedNames(t *testing.T) {
	srv := iimmpacttest.Start(t)
	srv.Set("TNB", "220012345678", iimmpacttest.Message("Account no is valid").After(time.Hour))
	rec := &recorder{}
	c := iimmpact.NewTestClient(t, srv.APIKey, srv.HMACSecret, iimmpact.WithBaseURL(srv.URL), iimmpact.WithObserver(rec),
		iimmpact.WithTimeout(50*time.Millisecond), iimmpact.WithMaxRetries(0))
	_, err := c.BillPresentment(context.Background(), iimmpact.Query{Product: "TNB", Account: "220012345678"})
	require.Error(t, err)
	require.Len(t, rec.answers, 1)
	assert.Equal(t, iimmpact.ErrorTypeTimeout, rec.answers[0].ErrorType)
	assert.Equal(t, iimmpact.ErrorKindDeadlineExceeded, rec.results[0].ErrorKind)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	c2 := iimmpact.NewTestClient(t, srv.APIKey, srv.HMACSecret, iimmpact.WithBaseURL(srv.URL), iimmpact.WithObserver(rec))
	_, err = c2.BillPresentment(ctx, iimmpact.Query{Product: "TNB", Account: "220012345678"})
	require.Error(t, err)
	assert.Equal(t, iimmpact.ErrorTypeTimeout, rec.answers[1].ErrorType, "the caller's deadline too")
}

func TestNetworkStatusReadsBothMetadataSpellings(t *testing.T) {
	srv := iimmpacttest.NewHandler()
	mt := roundTrip(func(*http.Request) (*http.Response, error) {
		body := `{"data":{"product_code":"TNB","product_name":"TNB","network_status":"Healthy"},` +
			`"metadata":{"status_code":200,"last_updated":"19-05-2025 14:49:03"},"@metadata":{"status_code":200,"last_updated":"01-01-2020 00:00:00"}}`
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}, nil
	})
	c := iimmpact.NewTestClient(t, srv.APIKey, srv.HMACSecret, iimmpact.WithHTTPClient(&http.Client{Transport: mt}), iimmpact.WithoutQuota())
	s, err := c.NetworkStatus(context.Background(), "TNB")
	require.NoError(t, err, "both spellings, as a bill's are read")
	ts, err := s.LastUpdated.Time()
	require.NoError(t, err)
	assert.Equal(t, 2025, ts.Year(), "metadata first")
}
