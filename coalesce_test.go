package iimmpact

import (
	"context"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitForWaiters spins until n callers are waiting on key's shared call. It
// yields rather than sleeps, and gives up with the test's deadline.
func waitForWaiters(t *testing.T, g *flights, key string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		g.mu.Lock()
		c := g.calls[key]
		got := 0
		if c != nil {
			got = c.waiters
		}
		g.mu.Unlock()
		if got == n {
			return
		}
		runtime.Gosched()
	}
	t.Fatalf("never saw %d waiters", n)
}

const aksbKey = billPath + "?account=1234567890&product=AKSB"

func TestCoalescingSharesOneCall(t *testing.T) {
	h := newHarness(t, WithCoalescing())
	release := make(chan struct{})
	var upstream atomic.Int32
	h.respond(t, func(req *http.Request) (*http.Response, error) {
		upstream.Add(1)
		<-release
		return jsonResponder(200, golden(t, "valid_aksb.json"))(req)
	})
	const callers = 64
	bills := make([]*Bill, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := h.c.BillPresentment(context.Background(), aksb)
			assert.NoError(t, err)
			bills[i] = b
		}()
	}
	waitForWaiters(t, h.c.flights, aksbKey, callers)
	close(release)
	wg.Wait()
	assert.Equal(t, int32(1), upstream.Load(), "64 identical queries, one upstream call")
	for _, b := range bills {
		require.NotNil(t, b)
		assert.Equal(t, ActionShow, b.Decision().Action)
	}
	bills[0].Raw()[0] = 'X'
	*bills[0].TransactionValidity = false
	assert.Equal(t, byte('{'), bills[1].Raw()[0], "each caller has its own copy of the body")
	assert.True(t, *bills[1].TransactionValidity, "and of every pointer")

	// A later call is not served from the finished one.
	_, err := h.c.BillPresentment(context.Background(), aksb)
	require.NoError(t, err)
	assert.Equal(t, int32(2), upstream.Load())
}

func TestCoalescingHonoursEachContext(t *testing.T) {
	h := newHarness(t, WithCoalescing())
	release := make(chan struct{})
	upstreamCancelled := make(chan struct{})
	h.respond(t, func(req *http.Request) (*http.Response, error) {
		select {
		case <-release:
			return jsonResponder(200, golden(t, "valid_aksb.json"))(req)
		case <-req.Context().Done():
			close(upstreamCancelled)
			return nil, req.Context().Err()
		}
	})

	impatient, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := h.c.BillPresentment(impatient, aksb)
		done <- err
	}()
	patient := make(chan *Bill, 1)
	go func() {
		b, _ := h.c.BillPresentment(context.Background(), aksb)
		patient <- b
	}()
	waitForWaiters(t, h.c.flights, aksbKey, 2)
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled, "the impatient caller returns at once")
	close(release)
	b := <-patient
	require.NotNil(t, b, "the other caller still gets the answer")
	assert.Equal(t, ActionShow, b.Decision().Action)

	// When every caller has gone, the shared call is cancelled.
	h2 := newHarness(t, WithCoalescing())
	h2.respond(t, func(req *http.Request) (*http.Response, error) {
		<-req.Context().Done()
		close(upstreamCancelled)
		return nil, req.Context().Err()
	})
	ctx, cancel2 := context.WithCancel(context.Background())
	go func() {
		waitForWaiters(t, h2.c.flights, aksbKey, 1)
		cancel2()
	}()
	_, err := h2.c.BillPresentment(ctx, aksb)
	assert.ErrorIs(t, err, context.Canceled)
	<-upstreamCancelled
}

// A caller that arrives just after every earlier caller gave up must not inherit
// their cancellation: the abandoned request is never joined.
func TestCoalescingNeverJoinsAnAbandonedRequest(t *testing.T) {
	for range 50 {
		h := newHarness(t, WithCoalescing())
		var upstream atomic.Int32
		started := make(chan struct{})
		h.respond(t, func(req *http.Request) (*http.Response, error) {
			if upstream.Add(1) == 1 {
				close(started)
				<-req.Context().Done() // the first request hangs until abandoned
				return nil, req.Context().Err()
			}
			return jsonResponder(200, golden(t, "valid_aksb.json"))(req)
		})
		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan error, 1)
		go func() {
			_, err := h.c.BillPresentment(ctx, aksb)
			first <- err
		}()
		<-started
		cancel()
		require.ErrorIs(t, <-first, context.Canceled)
		bill, err := h.c.BillPresentment(context.Background(), aksb)
		require.NoError(t, err, "the later caller gets its own request")
		assert.Equal(t, ActionShow, bill.Decision().Action)
	}
}

// Each caller's own deadline decides whether a Retry-After wait is worth it,
// exactly as without coalescing.
func TestCoalescingRetryAfterFollowsEachDeadline(t *testing.T) {
	h := newHarness(t, WithCoalescing())
	release := make(chan struct{})
	var upstream atomic.Int32
	h.respond(t, func(req *http.Request) (*http.Response, error) {
		if upstream.Add(1) == 1 {
			<-release
			return jsonResponder(429, []byte(`{"message":"slow down"}`)).HeaderSet(http.Header{"Retry-After": {"20"}})(req)
		}
		return jsonResponder(200, golden(t, "valid_aksb.json"))(req)
	})
	hurried, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	hurriedErr := make(chan error, 1)
	go func() {
		_, err := h.c.BillPresentment(hurried, aksb)
		hurriedErr <- err
	}()
	patient := make(chan *Bill, 1)
	go func() {
		b, _ := h.c.BillPresentment(context.Background(), aksb)
		patient <- b
	}()
	waitForWaiters(t, h.c.flights, aksbKey, 2)
	close(release)

	err := <-hurriedErr
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr, "the 429 at once, not a deadline error later")
	assert.Equal(t, 429, apiErr.StatusCode)
	assert.NotErrorIs(t, err, context.DeadlineExceeded)
	assert.NoError(t, hurried.Err(), "returned before its deadline")
	b := <-patient
	require.NotNil(t, b, "the caller without a deadline waited and retried")
	assert.Equal(t, ActionShow, b.Decision().Action)
	assert.Contains(t, h.sleeps, 20*time.Second)
}

// A panic in a request shared by coalescing reaches each caller in its own
// goroutine, as it would without coalescing, and never ends the process from
// the shared one.
func TestCoalescedPanicReachesEachCaller(t *testing.T) {
	release := make(chan struct{})
	h := newHarness(t, WithCoalescing(), WithHTTPClient(&http.Client{Transport: roundTripper(func(*http.Request) (*http.Response, error) {
		<-release
		panic("transport bug")
	})}))
	const callers = 3
	got := make(chan any, callers)
	for range callers {
		go func() {
			defer func() { got <- recover() }()
			_, _ = h.c.BillPresentment(context.Background(), aksb)
		}()
	}
	waitForWaiters(t, h.c.flights, aksbKey, callers)
	close(release)
	for range callers {
		assert.Equal(t, "transport bug", <-got)
	}
}
