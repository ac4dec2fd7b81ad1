package iimmpact_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

// front is a loopback server before a sandbox handler: at each arrival it
// calls onArrival (with the arrival's number, from 1) before the sandbox
// answers, so a test can end a stop while a request is in flight.
type front struct {
	*httptest.Server
	sandbox  *iimmpacttest.Server
	arrivals atomic.Int32
}

func startFront(t *testing.T, onArrival func(n int) (status int), opts ...iimmpacttest.Option) *front {
	t.Helper()
	f := &front{sandbox: iimmpacttest.NewHandler(opts...)}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(f.arrivals.Add(1))
		if status := onArrival(n); status != 0 {
			w.WriteHeader(status)
			return
		}
		f.sandbox.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *front) client(t *testing.T, opts ...iimmpact.Option) *iimmpact.Client {
	t.Helper()
	c, err := iimmpact.NewClient(f.sandbox.APIKey, f.sandbox.HMACSecret, append([]iimmpact.Option{
		iimmpact.WithBaseURL(f.URL), iimmpact.WithRetryBackoff(time.Millisecond, 2*time.Millisecond)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// A call waiting for its quota slot ends at once when the stop comes, and
// sends nothing.
func TestStopEndsACallWaitingForItsSlot(t *testing.T) {
	f := startFront(t, func(int) int { return 0 })
	c := f.client(t, iimmpact.WithQuota(1, time.Hour), iimmpact.WithQuotaWait(time.Hour))
	_, err := c.BillPresentment(context.Background(), aksb) // takes the only slot
	require.NoError(t, err)

	stop, signal := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.BillPresentment(iimmpact.WithStop(context.Background(), stop), aksb)
		done <- err
	}()
	signal()
	err = <-done
	assert.ErrorIs(t, err, iimmpact.ErrNotSent)
	assert.NotErrorIs(t, err, iimmpact.ErrQuotaExceeded, "a stop is not a quota refusal")
	assert.EqualValues(t, 1, f.arrivals.Load(), "nothing new left after the stop")
}

// A stop that comes while a request is in flight lets that request finish
// (its answer is read), but no retry follows it.
func TestStopLetsTheRequestInFlightFinishAndSendsNoRetry(t *testing.T) {
	stop, signal := context.WithCancel(context.Background())
	t.Cleanup(signal)
	f := startFront(t, func(int) int { signal(); return 0 })
	c := f.client(t)
	bill, err := c.BillPresentment(iimmpact.WithStop(context.Background(), stop), aksb)
	require.NoError(t, err, "the request in flight finishes")
	assert.Equal(t, iimmpact.ActionShow, bill.Decision().Action)

	stop2, signal2 := context.WithCancel(context.Background())
	t.Cleanup(signal2)
	f2 := startFront(t, func(int) int { signal2(); return http.StatusServiceUnavailable })
	c2 := f2.client(t)
	_, err = c2.BillPresentment(iimmpact.WithStop(context.Background(), stop2), aksb)
	assert.ErrorIs(t, err, iimmpact.ErrNotSent)
	assert.EqualValues(t, 1, f2.arrivals.Load(), "a 503 after the stop is not retried")

	stop3, signal3 := context.WithCancel(context.Background())
	t.Cleanup(signal3)
	f3 := startFront(t, func(int) int { signal3(); return http.StatusServiceUnavailable })
	_, err = f3.client(t).Pay(iimmpact.WithStop(context.Background(), stop3), tnbPayment)
	assert.ErrorIs(t, err, iimmpact.ErrOutcomeUnknown, "a payment's 503 may have been acted on: the stop changes nothing of that")
	assert.EqualValues(t, 1, f3.arrivals.Load())
}

// PayUntilFinal asks no more once the stop comes: the payment stays
// unknown, never failed.
func TestStopEndsPayUntilFinalsAsking(t *testing.T) {
	stop, signal := context.WithCancel(context.Background())
	t.Cleanup(signal)
	f := startFront(t, func(int) int { signal(); return 0 })
	f.sandbox.SetPaymentSteps(2)
	c := f.client(t, iimmpact.WithPaymentPolling(time.Hour, time.Hour))
	tx, err := c.PayUntilFinal(iimmpact.WithStop(context.Background(), stop), tnbPayment)
	assert.ErrorIs(t, err, iimmpact.ErrOutcomeUnknown)
	require.NotNil(t, tx)
	assert.Equal(t, iimmpact.TransactionAccepted, tx.Status)
	assert.EqualValues(t, 1, f.arrivals.Load())
}

// A batch hands out nothing after the stop: the queries waiting for a slot
// end at once as ErrNotSent, and the one in flight is presented.
func TestStopEndsABatch(t *testing.T) {
	stop, signal := context.WithCancel(context.Background())
	t.Cleanup(signal)
	f := startFront(t, func(n int) int {
		if n == 2 {
			signal()
		}
		return 0
	})
	c := f.client(t, iimmpact.WithQuota(2, time.Hour))
	var mu sync.Mutex
	presented, notSent := 0, 0
	for _, r := range c.BillPresentments(iimmpact.WithStop(context.Background(), stop), repeat(aksb, 10), 3) {
		mu.Lock()
		switch {
		case r.Err == nil:
			presented++
		case errors.Is(r.Err, iimmpact.ErrNotSent):
			notSent++
		default:
			t.Errorf("unexpected error: %v", r.Err)
		}
		mu.Unlock()
	}
	assert.Equal(t, 2, presented)
	assert.Equal(t, 8, notSent)
	assert.EqualValues(t, 2, f.arrivals.Load())
}
