package quota

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// guard is a guard of limit per 10 s on a fresh origin and a fake clock.
func guard(t *testing.T, limit int) (*Guard, *FakeClock) {
	t.Helper()
	clock := NewFakeClock(t0)
	g := New(newOrigin(), Config{Limit: limit, Window: 10 * time.Second, Fallback: 1})
	g.SetClock(clock)
	return g, clock
}

// spend admits n requests answered at once.
func spend(t *testing.T, g *Guard, n int) {
	t.Helper()
	for range n {
		tk, err := g.Admit(context.Background(), 0)
		require.NoError(t, err)
		g.Done(context.Background(), tk, 200)
	}
}

type admitted struct {
	name string
	t    Ticket
	err  error
}

func admitAsync(g *Guard, ctx context.Context, name string, maxWait time.Duration, out chan<- admitted) {
	go func() {
		t, err := g.Admit(ctx, maxWait)
		out <- admitted{name, t, err}
	}()
}

func TestWaitFailsAtOnceWhenTheSlotIsTooFar(t *testing.T) {
	g, clock := guard(t, 1)
	spend(t, g, 1)
	_, err := g.Admit(context.Background(), 5*time.Second)
	var full *Full
	require.ErrorAs(t, err, &full)
	assert.Equal(t, 10*time.Second, full.RetryAfter)
	assert.Zero(t, clock.Timers(), "it did not sleep first")

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = g.Admit(ctx, time.Hour)
	assert.ErrorAs(t, err, &full, "nor past the context's deadline")
	assert.Zero(t, clock.Timers())

	_, err = g.Admit(context.Background(), 0)
	assert.ErrorAs(t, err, &full, "without a wait, a call fails at once as before")
}

func TestWaitAdmitsWhenTheSlotFrees(t *testing.T) {
	g, clock := guard(t, 1)
	spend(t, g, 1)
	clock.Advance(4 * time.Second)
	out := make(chan admitted, 1)
	admitAsync(g, context.Background(), "a", 20*time.Second, out)
	clock.WaitForTimers(2) // its give-up timer and its wake-up
	clock.Advance(6*time.Second - time.Nanosecond)
	select {
	case a := <-out:
		t.Fatalf("admitted early: %+v", a)
	default:
	}
	clock.Advance(time.Nanosecond)
	a := <-out
	require.NoError(t, a.err)
	assert.Equal(t, 6*time.Second, a.t.Waited)
}

func TestWaitCancelledCountsNothing(t *testing.T) {
	g, clock := guard(t, 1)
	spend(t, g, 1)
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan admitted, 1)
	admitAsync(g, ctx, "a", time.Minute, out)
	clock.WaitForTimers(2)
	cancel()
	a := <-out
	assert.ErrorIs(t, a.err, context.Canceled)
	g.o.log.mu.Lock()
	assert.Zero(t, g.o.log.inflight, "it holds no slot")
	assert.Len(t, g.o.log.times, 1, "and counts nothing")
	g.o.log.mu.Unlock()
	assert.Zero(t, g.o.waiting.len())
}

func TestWaitersAreServedInArrivalOrder(t *testing.T) {
	g, clock := guard(t, 1)
	spend(t, g, 1)
	out := make(chan admitted, 3)
	for i, name := range []string{"first", "second", "third"} {
		admitAsync(g, context.Background(), name, time.Minute, out)
		clock.WaitForTimers(i + 2) // each waiter's give-up timer, and the first's wake-up
	}
	for _, want := range []string{"first", "second", "third"} {
		clock.Advance(10 * time.Second)
		a := <-out
		require.NoError(t, a.err)
		assert.Equal(t, want, a.name)
		g.Done(context.Background(), a.t, 200)
		if want != "third" {
			// The three give-up timers stay; wait for the next waiter's
			// wake-up too, or the clock could move before it sets it.
			clock.WaitForTimers(4)
		}
	}
}

func TestCheckoutsGoBeforeWaiters(t *testing.T) {
	o := newOrigin()
	clock := NewFakeClock(t0)
	batch := New(o, Config{Limit: 2, Window: 10 * time.Second})
	checkout := New(o, Config{Limit: 4, Window: 10 * time.Second})
	batch.SetClock(clock)
	checkout.SetClock(clock)
	spend(t, batch, 2)
	out := make(chan admitted, 1)
	admitAsync(batch, context.Background(), "batch", time.Minute, out)
	clock.WaitForTimers(2)
	spend(t, checkout, 2) // the batch's own limit keeps the rest free
	_, err := checkout.Admit(context.Background(), 0)
	var full *Full
	assert.ErrorAs(t, err, &full, "4 in the window")
	clock.Advance(10 * time.Second)
	a := <-out
	require.NoError(t, a.err)
}

func TestNoWaitingOnTheBreaker(t *testing.T) {
	g, clock := guard(t, 1)
	open(t, &g.o.breaker, clock.Now())
	_, err := g.Admit(context.Background(), time.Hour)
	var o *Open
	assert.ErrorAs(t, err, &o)
	assert.Zero(t, clock.Timers())

	t.Run("a breaker that opens during a wait refuses after it", func(t *testing.T) {
		g, clock := guard(t, 1)
		spend(t, g, 1)
		out := make(chan admitted, 1)
		admitAsync(g, context.Background(), "a", time.Minute, out)
		clock.WaitForTimers(2)
		open(t, &g.o.breaker, clock.Now())
		clock.Advance(10 * time.Second)
		a := <-out
		assert.ErrorAs(t, a.err, &o)
		g.o.log.mu.Lock()
		assert.Zero(t, g.o.log.inflight, "the slot is given back")
		g.o.log.mu.Unlock()
	})
}

// bookingStore is a QuotaStore that books every request wait ahead, or
// refuses when that is past maxWait.
type bookingStore struct {
	mu       sync.Mutex
	unknown  int // answers "no slot can be named yet" this many times first
	wait     time.Duration
	err      error
	reserves int
	released []string // never sent
	finished []string // sent
}

func (s *bookingStore) Reserve(_ context.Context, _ string, _ int, _, maxWait time.Duration, _ string) (bool, time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reserves++
	if s.err != nil {
		return false, 0, s.err
	}
	if s.unknown > 0 {
		s.unknown--
		return false, time.Second, nil
	}
	return s.wait <= maxWait, s.wait, nil
}

func (s *bookingStore) Release(_ context.Context, _, member string, sent bool, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sent {
		s.finished = append(s.finished, member)
	} else {
		s.released = append(s.released, member)
	}
	return nil
}

func TestWaitThroughAStore(t *testing.T) {
	store := &bookingStore{wait: 3 * time.Second}
	clock := NewFakeClock(t0)
	g := New(newOrigin(), Config{Limit: 10, Window: time.Minute, Fallback: 2, Store: store, Key: "k"})
	g.SetClock(clock)

	_, err := g.Admit(context.Background(), time.Second)
	var full *Full
	require.ErrorAs(t, err, &full, "booked further than the wait allows")
	assert.Equal(t, 3*time.Second, full.RetryAfter)

	out := make(chan admitted, 1)
	admitAsync(g, context.Background(), "a", 5*time.Second, out)
	clock.WaitForTimers(1)
	clock.Advance(3 * time.Second)
	a := <-out
	require.NoError(t, a.err)
	assert.Equal(t, 3*time.Second, a.t.Waited)
	g.Done(context.Background(), a.t, 200) // counted in-process too, for a switch to the fallback
	assert.Equal(t, 2, store.reserves, "one reservation a request: the store is asked once, not polled")
	assert.Len(t, store.finished, 1, "the slot of a sent request is held until a window after its answer")

	ctx, cancel := context.WithCancel(context.Background())
	admitAsync(g, ctx, "b", 5*time.Second, out)
	clock.WaitForTimers(1)
	cancel()
	assert.ErrorIs(t, (<-out).err, context.Canceled)
	assert.Len(t, store.released, 1, "a call cancelled while it waits gives its booking back")

	store.err = errors.New("connection refused")
	tk, err := g.Admit(context.Background(), 5*time.Second)
	require.NoError(t, err, "the fallback share")
	g.Done(context.Background(), tk, 200)
	_, err = g.Admit(context.Background(), 0)
	assert.ErrorAs(t, err, &full, "the fallback share is 2, a's request included")
}

// When requests in flight hold every slot, the store names no time to book;
// the waiter asks again once the time it gave has passed, not before.
func TestWaitAsksTheStoreAgainOnlyWhenItSaid(t *testing.T) {
	store := &bookingStore{unknown: 1}
	clock := NewFakeClock(t0)
	g := New(newOrigin(), Config{Limit: 10, Window: time.Minute, Fallback: 2, Store: store, Key: "k"})
	g.SetClock(clock)
	out := make(chan admitted, 1)
	admitAsync(g, context.Background(), "a", 5*time.Second, out)
	clock.WaitForTimers(1)
	clock.Advance(time.Second - time.Nanosecond)
	assert.Equal(t, 1, store.reserves, "no polling before the time the store gave")
	clock.Advance(time.Second / 10) // past the jitter
	a := <-out
	require.NoError(t, a.err)
	assert.Equal(t, 2, store.reserves)

	store.unknown = 1
	_, err := g.Admit(context.Background(), 500*time.Millisecond)
	var full *Full
	assert.ErrorAs(t, err, &full, "a second is more than it may wait")
}

// A request that was admitted and never sent (its observer panicked before
// it left) gives its slot back, counting nothing, and a probe frees.
func TestUnsentGivesTheSlotAndTheProbeBack(t *testing.T) {
	g, clock := guard(t, 1)
	tk, err := g.Admit(context.Background(), 0)
	require.NoError(t, err)
	g.Unsent(context.Background(), tk)
	tk, err = g.Admit(context.Background(), 0)
	require.NoError(t, err, "the slot counted nothing")
	g.Done(context.Background(), tk, 200)

	b, clock2 := guard(t, 0)
	for range 3 {
		tk, err := b.Admit(context.Background(), 0)
		require.NoError(t, err)
		b.Done(context.Background(), tk, 403)
	}
	clock2.Advance(time.Minute)
	probe, err := b.Admit(context.Background(), 0)
	require.NoError(t, err)
	require.True(t, probe.Probe)
	b.Unsent(context.Background(), probe)
	again, err := b.Admit(context.Background(), 0)
	require.NoError(t, err, "the probe was never sent: another may go")
	assert.True(t, again.Probe)
	_ = clock
}
