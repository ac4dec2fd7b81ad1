package iimmpact

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuotaDefaultsByHost(t *testing.T) {
	tests := []struct {
		base  string
		opts  []Option
		limit int
	}{
		{ProductionURL, nil, 28_500},
		{StagingURL, nil, 28_500},
		{"HTTPS://API.IIMMPACT.COM:8443", nil, 28_500},
		{"https://api.iimmpact.com.", nil, 28_500},
		{"https://api.iimmpact.com.evil.example", nil, 0},
		{"http://127.0.0.1:8080", nil, 0},
		{"http://127.0.0.1:8080", []Option{WithQuota(10, time.Second)}, 10},
	}
	for _, tt := range tests {
		c, err := NewClient(testKey, testSecret, append([]Option{freshOrigins(), WithBaseURL(tt.base)}, tt.opts...)...)
		require.NoError(t, err, tt.base)
		require.NotNil(t, c.guard, "the 403 breaker is on for every base URL: %s", tt.base)
		cfg := c.guard.Config()
		assert.Equal(t, tt.limit, cfg.Limit, tt.base)
		if tt.limit == 28_500 {
			assert.Equal(t, 5*time.Minute, cfg.Window)
			assert.Equal(t, 2_850, cfg.Fallback)
		}
	}
	c := newTestClient(t, WithoutQuota())
	assert.Nil(t, c.guard, "WithoutQuota turns the breaker off too")

	for _, conflict := range [][]Option{
		{WithoutQuota(), WithQuota(1, time.Second)},
		{WithQuotaStore(failingStore{}, "k"), WithoutQuota()},
		{WithoutQuota(), WithQuotaFallback(3)},
		{WithoutQuota(), WithQuotaWait(time.Second)},
	} {
		_, err := NewClient(testKey, testSecret, conflict...)
		assert.ErrorContains(t, err, "WithoutQuota conflicts with")
	}
	for _, bad := range []Option{WithQuota(0, time.Second), WithQuota(1, 0), WithQuotaStore(nil, "k"), WithQuotaStore(failingStore{}, " "), WithQuotaFallback(0), WithQuotaWait(0)} {
		_, err := NewClient(testKey, testSecret, bad)
		assert.ErrorContains(t, err, "iimmpact: WithQuota")
	}
}

// An origin is one origin however its URL is spelt: one count, one breaker.
func TestOriginSpellings(t *testing.T) {
	for _, spelling := range []string{"https://API.iimmpact.com.", "https://api.iimmpact.com:443", "https://api.iimmpact.com/v2"} {
		assert.Equal(t, originOf(ProductionURL), originOf(spelling), spelling)
	}
	assert.NotEqual(t, originOf(ProductionURL), originOf("https://api.iimmpact.com:8443"))
	assert.NotEqual(t, originOf(ProductionURL), originOf(StagingURL))

	shared := WithShared(NewShared())
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodGet, endpoint, jsonResponder(200, golden(t, "valid_aksb.json")))
	mt.RegisterResponder(http.MethodGet, "https://api.iimmpact.com./v2/bill-presentment", jsonResponder(200, golden(t, "valid_aksb.json")))
	a := newTestClient(t, shared, WithHTTPClient(&http.Client{Transport: mt}), WithQuota(1, time.Minute))
	b := newTestClient(t, shared, WithHTTPClient(&http.Client{Transport: mt}), WithQuota(1, time.Minute), WithBaseURL("https://API.iimmpact.com."))
	_, err := a.BillPresentment(context.Background(), aksb)
	require.NoError(t, err)
	_, err = b.BillPresentment(context.Background(), aksb)
	assert.ErrorIs(t, err, ErrQuotaExceeded, "the trailing dot spells the same origin")
}

func TestQuotaRefusesAtOnceAndSendsNothing(t *testing.T) {
	h, clock := guarded(t, WithQuota(2, time.Minute))
	h.respond(t, jsonResponder(200, golden(t, "valid_aksb.json")))
	for range 2 {
		_, err := h.c.BillPresentment(context.Background(), aksb)
		require.NoError(t, err)
	}
	clock.Advance(15 * time.Second)
	bill, err := h.c.BillPresentment(context.Background(), aksb)
	assert.ErrorIs(t, err, ErrQuotaExceeded)
	var qe *QuotaError
	require.ErrorAs(t, err, &qe)
	assert.Equal(t, 45*time.Second, qe.RetryAfter)
	var apiErr *APIError
	assert.False(t, errors.As(err, &apiErr), "nothing was answered")
	assert.Equal(t, Decision{Action: ActionHide, CanProceed: true, Reason: ReasonError}, bill.Decision())
	assert.Equal(t, 2, h.mt.GetTotalCallCount(), "the refused call sent nothing")
	assert.Contains(t, err.Error(), "next request allowed in 45s")

	clock.Advance(45 * time.Second)
	_, err = h.c.BillPresentment(context.Background(), aksb)
	assert.NoError(t, err)
}

func TestQuotaWaitSignsWhenAdmitted(t *testing.T) {
	h, clock := guarded(t, WithQuota(1, time.Minute), WithQuotaWait(2*time.Minute))
	local := time.Unix(1_750_000_000, 0)
	h.c.signer.Now = clock.Now
	h.serverNow = clock.Now
	h.respond(t, jsonResponder(200, golden(t, "valid_aksb.json")))
	_, err := h.c.BillPresentment(context.Background(), aksb)
	require.NoError(t, err)
	var stamps []string
	h.mt.RegisterResponder(http.MethodGet, endpoint, func(req *http.Request) (*http.Response, error) {
		stamps = append(stamps, req.Header.Get("X-Timestamp"))
		return jsonResponder(200, golden(t, "valid_aksb.json"))(req)
	})
	done := make(chan error, 1)
	go func() {
		_, err := h.c.BillPresentment(context.Background(), aksb)
		done <- err
	}()
	clock.WaitForTimers(2)
	clock.Advance(time.Minute)
	require.NoError(t, <-done, "it waited for the slot instead of failing")
	require.Len(t, stamps, 1)
	assert.Equal(t, fmt.Sprint(local.Add(time.Minute).Unix()), stamps[0], "signed after the wait, not before")
}

func TestQuotaCountsRetriesAndTheResign(t *testing.T) {
	h, _ := guarded(t, WithQuota(2, time.Minute))
	h.respond(t, jsonResponder(503, []byte(`{"message":"down"}`)))
	_, err := h.c.BillPresentment(context.Background(), aksb)
	assert.ErrorIs(t, err, ErrQuotaExceeded, "the second retry would be the third request")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr, "and the answer before it")
	assert.Equal(t, 503, apiErr.StatusCode)
	assert.Equal(t, 2, apiErr.Attempts)
	assert.Equal(t, 2, h.mt.GetTotalCallCount())

	h2, _ := guarded(t, WithQuota(1, time.Minute))
	h2.mt.RegisterResponder(http.MethodGet, endpoint, func(*http.Request) (*http.Response, error) {
		resp := httpmock.NewStringResponse(401, `{"message":"stale"}`)
		resp.Header.Set("Date", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
		return resp, nil
	})
	_, err = h2.c.BillPresentment(context.Background(), aksb)
	assert.ErrorIs(t, err, ErrQuotaExceeded, "the re-signed request counts too")
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 401, apiErr.StatusCode)
	assert.Equal(t, 1, h2.mt.GetTotalCallCount())
}

func TestQuotaIsSharedByTheClientsOfAnOrigin(t *testing.T) {
	a, clock := guarded(t, WithQuota(2, time.Minute))
	a.respond(t, jsonResponder(200, golden(t, "valid_aksb.json")))
	b, err := NewClient(testKey, testSecret, WithShared(a.shared),
		WithHTTPClient(&http.Client{Transport: a.mt}), WithQuota(3, time.Minute))
	require.NoError(t, err)
	b.guard.SetClock(clock)
	for range 2 {
		_, err := a.c.BillPresentment(context.Background(), aksb)
		require.NoError(t, err)
	}
	_, err = a.c.BillPresentment(context.Background(), aksb)
	assert.ErrorIs(t, err, ErrQuotaExceeded)
	_, err = b.BillPresentment(context.Background(), aksb)
	assert.NoError(t, err, "b's own limit of 3 counts a's 2")
	_, err = b.BillPresentment(context.Background(), aksb)
	assert.ErrorIs(t, err, ErrQuotaExceeded)
}

// failingStore is a QuotaStore whose backend is down.
type failingStore struct{ calls *atomic.Int32 }

func (s failingStore) Reserve(context.Context, string, int, time.Duration, time.Duration, string) (bool, time.Duration, error) {
	if s.calls != nil {
		s.calls.Add(1)
	}
	return false, 0, errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
}

func (failingStore) Release(context.Context, string, string, bool, time.Duration) error { return nil }

func TestQuotaStoreOutageFallsBackToALocalShare(t *testing.T) {
	var calls atomic.Int32
	h, clock := guarded(t, WithQuota(100, time.Minute), WithQuotaStore(failingStore{&calls}, "egress-a"))
	h.respond(t, jsonResponder(200, golden(t, "valid_aksb.json")))
	ok := 0
	for range 20 {
		if _, err := h.c.BillPresentment(context.Background(), aksb); err == nil {
			ok++
		} else {
			assert.ErrorIs(t, err, ErrQuotaExceeded)
		}
	}
	assert.Equal(t, 10, ok, "a tenth of the quota while the store is down")
	assert.Equal(t, int32(1), calls.Load(), "one try per few seconds, not one per call")
	clock.Advance(6 * time.Second)
	_, _ = h.c.BillPresentment(context.Background(), aksb)
	assert.Equal(t, int32(2), calls.Load(), "tried again after 5 s")
}

func TestBreaker(t *testing.T) {
	for _, base := range []string{ProductionURL, "https://egress-proxy.internal.example"} {
		t.Run(base, func(t *testing.T) {
			h, clock := guarded(t, WithBaseURL(base))
			var status atomic.Int32
			status.Store(403)
			h.mt.RegisterResponder(http.MethodGet, base+billPath, func(req *http.Request) (*http.Response, error) {
				if status.Load() == 200 {
					return jsonResponder(200, golden(t, "valid_aksb.json"))(req)
				}
				return jsonResponder(403, []byte(`{"message":"Forbidden"}`))(req)
			})
			call := func() error {
				_, err := h.c.BillPresentment(context.Background(), aksb)
				return err
			}
			for range 3 {
				err := call()
				require.Error(t, err)
				assert.NotErrorIs(t, err, ErrBlocked)
			}
			err := call()
			assert.ErrorIs(t, err, ErrBlocked, "3 calls in a row answered 403")
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, 403, apiErr.StatusCode)
			assert.Equal(t, "Forbidden", apiErr.Message)
			assert.Equal(t, 3, h.mt.GetTotalCallCount(), "nothing sent while open")

			clock.Advance(time.Minute)
			before := h.mt.GetTotalCallCount()
			assert.NotErrorIs(t, call(), ErrBlocked, "the probe is sent")
			assert.Equal(t, before+1, h.mt.GetTotalCallCount())
			status.Store(200)
			clock.Advance(2 * time.Minute)
			assert.NoError(t, call(), "a probe answered 200 closes it")
			assert.NoError(t, call())
		})
	}
}

func TestBlockedCallsTakeNoQuota(t *testing.T) {
	h, _ := guarded(t, WithQuota(3, time.Minute), WithQuotaWait(time.Hour))
	h.respond(t, jsonResponder(403, []byte(`{"message":"Forbidden"}`)))
	for range 3 {
		_, err := h.c.BillPresentment(context.Background(), aksb)
		require.Error(t, err)
	}
	calls := h.mt.GetTotalCallCount()
	for range 5 {
		start := time.Now()
		_, err := h.c.BillPresentment(context.Background(), aksb)
		assert.ErrorIs(t, err, ErrBlocked, "not a wait for the quota")
		assert.NotErrorIs(t, err, ErrQuotaExceeded)
		assert.Less(t, time.Since(start), time.Second, "at once")
	}
	assert.Equal(t, calls, h.mt.GetTotalCallCount())
}
