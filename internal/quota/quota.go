// Package quota keeps a client under IIMMPACT's IP quota: a trailing-window
// count of the requests sent to one origin, shared by every client of the
// process, optionally through a store that a fleet shares, and a breaker that
// stops sending after the API answers 403 to several calls in a row.
//
// The root package turns its options into a Config and its refusals (*Full,
// *Open) into its own error types; nothing here is part of the public API.
package quota

import (
	"context"
	"crypto/rand"
	"log/slog"
	mathrand "math/rand/v2"
	"sync"
	"time"
)

const (
	storeTimeout    = 50 * time.Millisecond // a store slower than this counts as down
	storeRetryAfter = 5 * time.Second       // how long to count locally before trying the store again
	warnEvery       = time.Minute
)

// Store is iimmpact.QuotaStore; the root package documents it.
type Store interface {
	Reserve(ctx context.Context, key string, limit int, window, maxWait time.Duration, member string) (ok bool, wait time.Duration, err error)
	Release(ctx context.Context, key, member string, sent bool, window time.Duration) error
}

// Clock is the time the guard waits on; tests replace it.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Table maps an origin to its shared state. The zero Table is ready to use.
type Table struct{ m sync.Map }

// Origin returns the state shared by every guard for origin.
func (t *Table) Origin(origin string) *Origin {
	if o, ok := t.m.Load(origin); ok {
		return o.(*Origin)
	}
	o, _ := t.m.LoadOrStore(origin, newOrigin())
	return o.(*Origin)
}

// Origin is the state every client of the process shares for one API origin.
type Origin struct {
	log     Log
	breaker Breaker

	waiting line // the calls waiting for a slot, served in arrival order

	mu        sync.Mutex
	storeDown time.Time // the store is skipped until then
	lastWarn  time.Time
}

func newOrigin() *Origin { return &Origin{} }

// Config is a client's view of its origin's quota.
type Config struct {
	Limit    int // requests per Window; 0 leaves only the breaker on
	Window   time.Duration
	Fallback int // the limit while Store is down
	Store    Store
	Key      string
	Logger   *slog.Logger
}

// Guard applies one client's Config to its origin's shared state.
type Guard struct {
	o     *Origin
	cfg   Config
	clock Clock
}

// New returns a guard for o.
func New(o *Origin, cfg Config) *Guard {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Guard{o: o, cfg: cfg, clock: realClock{}}
}

// SetClock replaces the guard's clock, for tests.
func (g *Guard) SetClock(c Clock) { g.clock = c }

// Config returns the guard's configuration.
func (g *Guard) Config() Config { return g.cfg }

// Full refuses a request the quota has no slot for.
type Full struct{ RetryAfter time.Duration }

// Error says the quota has no slot.
func (e *Full) Error() string { return "quota full" }

// Open refuses a request while the breaker is open.
type Open struct {
	Left time.Duration
	Last error // the last 403, as the root package made it
}

// Error says the breaker is open.
func (e *Open) Error() string { return "breaker open" }

// Ticket is a request the guard let through.
type Ticket struct {
	Probe  bool          // the one request the breaker lets through after a cool-down
	Waited time.Duration // how long the request waited for a slot
	member string        // its booking in the store, "" when counted in-process
	quota  bool          // it holds a slot of the in-process log
}

// Admit decides whether one more request may be sent: the breaker first, then
// the quota, through the store when there is one. With maxWait > 0 it waits
// up to maxWait (and never past ctx's deadline) for a slot, failing at once
// when the slot is further away than that; it never waits on the breaker.
func (g *Guard) Admit(ctx context.Context, maxWait time.Duration) (Ticket, error) {
	t, err := g.o.breaker.admit(g.clock.Now)
	if err != nil || g.cfg.Limit == 0 {
		return t, err
	}
	if deadline, ok := ctx.Deadline(); ok {
		maxWait = min(maxWait, time.Until(deadline))
	}
	waited, member, err := g.reserve(ctx, max(maxWait, 0))
	t.Waited, t.member, t.quota = waited, member, err == nil
	if err == nil && waited > 0 && !t.Probe {
		// The breaker may have opened while this request waited.
		if _, err = g.o.breaker.admit(g.clock.Now); err != nil {
			g.o.log.release()
			g.release(ctx, member, false)
		}
	}
	if err != nil {
		g.o.breaker.observe(t, 0, g.clock.Now) // no answer: a probe slot frees
		return t, err
	}
	return t, nil
}

// Done records what a request admitted with t came to: status 0 for no
// answer. It reports whether this answer opened the breaker.
func (g *Guard) Done(ctx context.Context, t Ticket, status int) (opened bool) {
	if t.quota {
		g.o.log.finish(g.clock.Now())
		g.release(ctx, t.member, true)
	}
	return g.o.breaker.observe(t, status, g.clock.Now)
}

// Unsent gives back what a request admitted with t held when it was never
// sent (a panic before it left): its slot counts nothing, and a probe frees.
func (g *Guard) Unsent(ctx context.Context, t Ticket) {
	if t.quota {
		g.o.log.release()
		g.release(ctx, t.member, false)
	}
	g.o.breaker.observe(t, 0, g.clock.Now)
}

// Remember keeps the last 403's error for the refusals of an open breaker.
func (g *Guard) Remember(err error) { g.o.breaker.remember(err) }

// reserve takes a slot, through the store while it answers: member is its
// booking there, "" when it was counted in-process only.
func (g *Guard) reserve(ctx context.Context, maxWait time.Duration) (waited time.Duration, member string, err error) {
	limit := g.cfg.Limit
	if g.cfg.Store != nil {
		if g.storeUp() {
			waited, member, err, ok := g.reserveInStore(ctx, maxWait)
			if ok {
				return waited, member, err
			}
		}
		limit = g.cfg.Fallback
	}
	waited, err = g.reserveLocal(ctx, limit, maxWait)
	return waited, "", err
}

func (g *Guard) storeUp() bool {
	g.o.mu.Lock()
	defer g.o.mu.Unlock()
	return !g.clock.Now().Before(g.o.storeDown)
}

// reserveInStore books a slot in the store, then waits for it. When the
// store can name no slot yet (requests in flight hold them all), it asks again
// once the time the store gave has passed, with a little jitter, and no
// sooner. ok is false when the store failed and the caller should count
// locally instead.
func (g *Guard) reserveInStore(ctx context.Context, maxWait time.Duration) (waited time.Duration, member string, err error, ok bool) {
	member = rand.Text()
	start := g.clock.Now()
	for {
		waited = g.clock.Now().Sub(start)
		sctx, cancel := context.WithTimeout(ctx, storeTimeout)
		booked, wait, err := g.cfg.Store.Reserve(sctx, g.cfg.Key, g.cfg.Limit, g.cfg.Window, maxWait-waited, member)
		cancel()
		switch {
		case err != nil && ctx.Err() != nil:
			return 0, "", ctx.Err(), true
		case err != nil:
			g.storeFailed(ctx, err)
			return 0, "", nil, false
		case !booked && waited+wait > maxWait:
			return 0, "", &Full{RetryAfter: wait}, true
		case !booked:
			wait += mathrand.N(wait/10 + time.Millisecond) // so waiters of a fleet do not ask at once
		}
		if wait > 0 {
			select {
			case <-g.clock.After(wait):
			case <-ctx.Done():
				if booked {
					g.release(ctx, member, false)
				}
				return 0, "", ctx.Err(), true
			}
		}
		if booked {
			if err := g.holdLocally(ctx, maxWait-g.clock.Now().Sub(start)); err != nil {
				g.release(ctx, member, false)
				return 0, "", err, true
			}
			return g.clock.Now().Sub(start), member, nil, true
		}
	}
}

// holdLocally takes a slot of the process's own log, under the client's own
// limit, for a request the store booked: whatever the store says (a Redis
// that restarted empty, evicted the key or failed over to a lagging replica
// has forgotten what this process sent), the process never sends past its
// limit in any trailing window. It waits up to maxWait for the slot.
func (g *Guard) holdLocally(ctx context.Context, maxWait time.Duration) error {
	waited := time.Duration(0)
	for {
		after, ok := g.o.log.reserve(g.clock.Now(), g.cfg.Limit, g.cfg.Window)
		switch {
		case ok:
			return nil
		case waited+after > maxWait:
			return &Full{RetryAfter: after}
		}
		select {
		case <-g.clock.After(after):
			waited += after
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release ends a booking in the store: one whose request was sent stays
// counted until a window after now, since the API counts a request when it
// arrives, which may be well after its booking; one never sent counts
// nothing. A failure leaves the booking as it was.
func (g *Guard) release(ctx context.Context, member string, sent bool) {
	if member == "" {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	_ = g.cfg.Store.Release(rctx, g.cfg.Key, member, sent, g.cfg.Window)
}

func (g *Guard) storeFailed(ctx context.Context, err error) {
	now := g.clock.Now()
	g.o.mu.Lock()
	g.o.storeDown = now.Add(storeRetryAfter)
	warn := now.Sub(g.o.lastWarn) >= warnEvery
	if warn {
		g.o.lastWarn = now
	}
	g.o.mu.Unlock()
	if warn {
		g.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "iimmpact: quota store failed; counting in-process at the fallback share",
			slog.String("error", err.Error()), slog.Int("fallback", g.cfg.Fallback), slog.Duration("window", g.cfg.Window))
	}
}

// reserveLocal takes a slot in the in-process log. A call that may wait
// queues behind the calls already waiting, so waiters are served in arrival
// order, while a call that may not wait takes a free slot at once: checkouts
// go before batches.
func (g *Guard) reserveLocal(ctx context.Context, limit int, maxWait time.Duration) (time.Duration, error) {
	l := &g.o.log
	queued := g.o.waiting.len()
	if maxWait == 0 || queued == 0 {
		after, ok := l.reserve(g.clock.Now(), limit, g.cfg.Window)
		switch {
		case ok:
			return 0, nil
		case after > maxWait:
			return 0, &Full{RetryAfter: after}
		}
	} else if after := l.next(g.clock.Now(), limit, g.cfg.Window, queued); after > maxWait {
		return 0, &Full{RetryAfter: after}
	}

	place := g.o.waiting.join()
	defer g.o.waiting.leave(place)
	start := g.clock.Now()
	giveUp := g.clock.After(maxWait)
	select {
	case <-place:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-giveUp:
		return 0, &Full{RetryAfter: l.next(g.clock.Now(), limit, g.cfg.Window, 0)}
	}
	for {
		now := g.clock.Now()
		after, ok := l.reserve(now, limit, g.cfg.Window)
		waited := now.Sub(start)
		switch {
		case ok:
			return waited, nil
		case waited+after > maxWait:
			return 0, &Full{RetryAfter: after}
		}
		select {
		case <-g.clock.After(after):
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-giveUp:
			return 0, &Full{RetryAfter: after}
		}
	}
}
