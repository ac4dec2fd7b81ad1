package iimmpact_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact"
)

// A call waiting for its quota slot ends at once when the stop comes, and
// sends nothing.
func TestStopEndsACallWaitingForItsSlot(t *testing.T) {
	f := startHostile(t, always(pass))
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
	assert.Equal(t, 1, f.arrivals(), "nothing new left after the stop")
}

// A stop that comes while a request is in flight lets that request finish
// (its answer is read), but no retry follows it.
func TestStopLetsTheRequestInFlightFinishAndSendsNoRetry(t *testing.T) {
	stop, signal := context.WithCancel(context.Background())
	t.Cleanup(signal)
	f := startHostile(t, func(int, []byte) (int, string) { signal(); return pass, "" })
	c := f.client(t)
	bill, err := c.BillPresentment(iimmpact.WithStop(context.Background(), stop), aksb)
	require.NoError(t, err, "the request in flight finishes")
	assert.Equal(t, iimmpact.ActionShow, bill.Decision().Action)

	stop2, signal2 := context.WithCancel(context.Background())
	t.Cleanup(signal2)
	f2 := startHostile(t, func(int, []byte) (int, string) { signal2(); return http.StatusServiceUnavailable, "" })
	c2 := f2.client(t)
	_, err = c2.BillPresentment(iimmpact.WithStop(context.Background(), stop2), aksb)
	assert.ErrorIs(t, err, iimmpact.ErrNotSent)
	assert.Equal(t, 1, f2.arrivals(), "a 503 after the stop is not retried")

	stop3, signal3 := context.WithCancel(context.Background())
	t.Cleanup(signal3)
	f3 := startHostile(t, func(int, []byte) (int, string) { signal3(); return http.StatusServiceUnavailable, "" })
	_, err = f3.client(t).Pay(iimmpact.WithStop(context.Background(), stop3), tnbPayment)
	assert.ErrorIs(t, err, iimmpact.ErrOutcomeUnknown, "a payment's 503 may have been acted on: the stop changes nothing of that")
	assert.Equal(t, 1, f3.arrivals())
}

// PayUntilFinal asks no more once the stop comes: the payment stays
// unknown, never failed.
func TestStopEndsPayUntilFinalsAsking(t *testing.T) {
	stop, signal := context.WithCancel(context.Background())
	t.Cleanup(signal)
	f := startHostile(t, func(int, []byte) (int, string) { signal(); return pass, "" })
	f.sandbox.SetPaymentSteps(2)
	c := f.client(t, iimmpact.WithPaymentPolling(time.Hour, time.Hour))
	tx, err := c.PayUntilFinal(iimmpact.WithStop(context.Background(), stop), tnbPayment)
	assert.ErrorIs(t, err, iimmpact.ErrOutcomeUnknown)
	require.NotNil(t, tx)
	assert.Equal(t, iimmpact.TransactionAccepted, tx.Status)
	assert.Equal(t, 1, f.arrivals())
}

// A batch hands out nothing after the stop: the queries waiting for a slot
// end at once as ErrNotSent, and the one in flight is presented.
func TestStopEndsABatch(t *testing.T) {
	stop, signal := context.WithCancel(context.Background())
	t.Cleanup(signal)
	f := startHostile(t, func(n int, _ []byte) (int, string) {
		if n == 1 { // the second arrival
			signal()
		}
		return pass, ""
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
	assert.Equal(t, 2, f.arrivals())
}
