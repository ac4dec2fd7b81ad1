package iimmpact

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// guarded is a harness whose client has the quota guard on a fake clock.
func guarded(t *testing.T, opts ...Option) (*harness, *fakeClock) {
	t.Helper()
	h := newHarness(t, append([]Option{WithMaxRetries(4)}, opts...)...)
	require.NotNil(t, h.c.guard)
	clock := &fakeClock{now: time.Unix(1_750_000_000, 0)}
	h.c.guard.now = clock.Now
	return h, clock
}

func TestSlidingLogTrailingWindow(t *testing.T) {
	var l slidingLog
	t0 := time.Unix(1000, 0)
	admit := func(at time.Duration) (time.Duration, bool) {
		after, ok := l.reserve(t0.Add(at), 3, 10*time.Second)
		if ok {
			l.finish(t0.Add(at)) // an instant answer
		}
		return after, ok
	}
	for _, at := range []time.Duration{0, time.Second, 2 * time.Second} {
		_, ok := admit(at)
		require.True(t, ok)
	}
	after, ok := admit(3 * time.Second)
	assert.False(t, ok)
	assert.Equal(t, 7*time.Second, after, "the oldest leaves the window at 10 s")
	_, ok = admit(10*time.Second - time.Nanosecond)
	assert.False(t, ok, "one nanosecond early")
	_, ok = admit(10 * time.Second)
	assert.True(t, ok, "exactly a window later the slot is free")
	_, ok = admit(10 * time.Second)
	assert.False(t, ok, "no fixed-window reset lets 2x through at the boundary")

	t.Run("in flight counts until a window after the answer", func(t *testing.T) {
		var l slidingLog
		_, ok := l.reserve(t0, 1, 10*time.Second)
		require.True(t, ok)
		_, ok = l.reserve(t0.Add(time.Hour), 1, 10*time.Second)
		assert.False(t, ok, "still in flight")
		l.finish(t0.Add(time.Hour))
		after, ok := l.reserve(t0.Add(time.Hour+time.Second), 1, 10*time.Second)
		assert.False(t, ok)
		assert.Equal(t, 9*time.Second, after)
	})

	t.Run("memory for the window only", func(t *testing.T) {
		var l slidingLog
		for i := range 100_000 {
			now := t0.Add(time.Duration(i) * time.Millisecond)
			_, ok := l.reserve(now, 1_000_000, time.Second)
			require.True(t, ok)
			l.finish(now)
		}
		assert.LessOrEqual(t, len(l.times), 2_001, "about one window of requests is kept, not 100,000")
	})
}

func TestQuotaDefaultsByHost(t *testing.T) {
	tests := []struct {
		base string
		opts []Option
		on   bool
	}{
		{ProductionURL, nil, true},
		{StagingURL, nil, true},
		{"HTTPS://API.IIMMPACT.COM:8443", nil, true},
		{"https://api.iimmpact.com.evil.example", nil, false},
		{"http://127.0.0.1:8080", nil, false},
		{"http://127.0.0.1:8080", []Option{WithQuota(10, time.Second)}, true},
		{ProductionURL, []Option{WithoutQuota()}, false},
	}
	for _, tt := range tests {
		c, err := NewClient(testKey, testSecret, append([]Option{WithBaseURL(tt.base)}, tt.opts...)...)
		require.NoError(t, err, tt.base)
		assert.Equal(t, tt.on, c.guard != nil, tt.base)
		if tt.on && tt.opts == nil {
			assert.Equal(t, 28_500, c.guard.limit)
			assert.Equal(t, 5*time.Minute, c.guard.window)
			assert.Equal(t, 2_850, c.guard.fallback)
		}
	}
	for _, conflict := range [][]Option{
		{WithoutQuota(), WithQuota(1, time.Second)},
		{WithQuotaStore(failingStore{}, "k"), WithoutQuota()},
		{WithoutQuota(), WithQuotaFallback(3)},
	} {
		_, err := NewClient(testKey, testSecret, conflict...)
		assert.ErrorContains(t, err, "WithoutQuota conflicts with")
	}
	for _, bad := range []Option{WithQuota(0, time.Second), WithQuota(1, 0), WithQuotaStore(nil, "k"), WithQuotaStore(failingStore{}, " "), WithQuotaFallback(0)} {
		_, err := NewClient(testKey, testSecret, bad)
		assert.ErrorContains(t, err, "iimmpact: WithQuota")
	}
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
	a, _ := guarded(t, WithQuota(2, time.Minute))
	a.respond(t, jsonResponder(200, golden(t, "valid_aksb.json")))
	b, err := NewClient(testKey, testSecret, WithHTTPClient(&http.Client{Transport: a.mt}), WithQuota(3, time.Minute))
	require.NoError(t, err)
	b.guard.now = a.c.guard.now
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

func (s failingStore) Reserve(context.Context, string, int, time.Duration, string) (bool, time.Duration, error) {
	if s.calls != nil {
		s.calls.Add(1)
	}
	return false, 0, errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
}

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
	h, clock := guarded(t)
	var status atomic.Int32
	status.Store(403)
	h.respond(t, func(req *http.Request) (*http.Response, error) {
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
	assert.Equal(t, Decision{Action: ActionHide, CanProceed: true, Reason: ReasonError}, (*Bill)(nil).Decision())

	cooldowns := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 30 * time.Minute, 30 * time.Minute}
	for i, d := range cooldowns {
		clock.Advance(d - time.Second)
		assert.ErrorIs(t, call(), ErrBlocked, "cool-down %d is %s", i, d)
		clock.Advance(time.Second)
		before := h.mt.GetTotalCallCount()
		err := call()
		assert.NotErrorIs(t, err, ErrBlocked, "the probe is sent")
		assert.Equal(t, before+1, h.mt.GetTotalCallCount())
	}
	status.Store(200)
	clock.Advance(30 * time.Minute)
	assert.NoError(t, call(), "a probe answered 200 closes it")
	assert.NoError(t, call())
}

func TestBreakerDetails(t *testing.T) {
	now := time.Unix(0, 0)
	open := func(b *breaker, now time.Time) {
		for range 3 {
			tk, err := b.admit(now)
			require.NoError(t, err)
			b.observe(tk, 403, now)
		}
		_, err := b.admit(now)
		require.ErrorIs(t, err, ErrBlocked)
	}

	t.Run("a 403 between other answers never opens it", func(t *testing.T) {
		var b breaker
		for _, s := range []int{403, 403, 200, 403, 403, 500, 403, 403} {
			tk, _ := b.admit(now)
			b.observe(tk, s, now)
		}
		_, err := b.admit(now)
		assert.NoError(t, err)
	})
	t.Run("403s in flight when it opened do not double it", func(t *testing.T) {
		var b breaker
		inFlight, _ := b.admit(now)
		open(&b, now)
		b.observe(inFlight, 403, now)
		assert.Equal(t, time.Minute, b.cooldown)
		assert.Equal(t, now.Add(time.Minute), b.openUntil)
	})
	t.Run("a probe with no answer frees the slot", func(t *testing.T) {
		var b breaker
		open(&b, now)
		later := now.Add(time.Minute)
		probe, err := b.admit(later)
		require.NoError(t, err)
		require.True(t, probe.probe)
		_, err = b.admit(later)
		assert.ErrorIs(t, err, ErrBlocked, "one probe at a time")
		b.observe(probe, 0, later)
		next, err := b.admit(later)
		require.NoError(t, err)
		assert.True(t, next.probe, "the next call probes")
	})
	t.Run("calls fail before the quota is consulted", func(t *testing.T) {
		h, _ := guarded(t, WithQuota(1, time.Minute))
		open(&h.c.guard.breaker, h.c.guard.now())
		for range 5 {
			_, err := h.c.BillPresentment(context.Background(), aksb)
			assert.ErrorIs(t, err, ErrBlocked)
			assert.NotErrorIs(t, err, ErrQuotaExceeded)
		}
		assert.Zero(t, h.c.guard.log.inflight+len(h.c.guard.log.times), "blocked calls take no quota")
	})
}

// BenchmarkQuotaGuard is the in-process guard's cost a call, with the log
// holding a full window of 30,000 requests.
func BenchmarkQuotaGuard(b *testing.B) {
	var l slidingLog
	now := time.Unix(1_750_000_000, 0)
	const window = 5 * time.Minute
	step := window / 30_000
	for b.Loop() {
		now = now.Add(step)
		if _, ok := l.reserve(now, 28_500, window); ok {
			l.finish(now)
		}
	}
}
