package quota

import (
	"sync"
	"sync/atomic"
	"time"
)

const (
	breakerTrips = 3 // consecutive calls answered 403
	breakerFirst = time.Minute
	breakerMax   = 30 * time.Minute
)

// Breaker stops sending after breakerTrips calls in a row were answered 403,
// for a cool-down of breakerFirst that doubles up to breakerMax while the one
// probe it then lets through is answered 403 again.
type Breaker struct {
	// busy is true while a 403 is counted or the breaker is open, so the
	// common case, no 403 at all, takes no lock.
	busy atomic.Bool

	mu          sync.Mutex
	consecutive int
	openUntil   time.Time // zero when closed
	cooldown    time.Duration
	probing     bool
	last        error
}

// admit lets a request through, or refuses it while the breaker is open. It
// reads the clock only when a 403 was seen.
func (b *Breaker) admit(clock func() time.Time) (Ticket, error) {
	if !b.busy.Load() {
		return Ticket{}, nil
	}
	now := clock()
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.openUntil.IsZero():
		return Ticket{}, nil
	case now.Before(b.openUntil) || b.probing:
		return Ticket{}, &Open{Left: max(0, b.openUntil.Sub(now)), Last: b.last}
	}
	b.probing = true
	return Ticket{Probe: true}, nil
}

// observe records what a request admitted with t came to: status 0 for no
// answer. It reports whether this answer opened the breaker.
func (b *Breaker) observe(t Ticket, status int, clock func() time.Time) (opened bool) {
	if status != 403 && !t.Probe && !b.busy.Load() {
		return false
	}
	now := clock()
	b.mu.Lock()
	defer b.mu.Unlock()
	defer func() { b.busy.Store(b.consecutive > 0 || !b.openUntil.IsZero()) }()
	switch {
	case status == 0:
		if t.Probe {
			b.probing = false
		}
	case status != 403:
		b.consecutive, b.openUntil, b.cooldown, b.probing = 0, time.Time{}, 0, false
	case t.Probe:
		b.cooldown = min(2*b.cooldown, breakerMax)
		b.openUntil, b.probing = now.Add(b.cooldown), false
		return true
	case b.openUntil.IsZero():
		if b.consecutive++; b.consecutive >= breakerTrips {
			b.cooldown, b.openUntil = breakerFirst, now.Add(breakerFirst)
			return true
		}
	} // a 403 from a request sent before the breaker opened changes nothing
	return false
}

func (b *Breaker) remember(err error) {
	b.mu.Lock()
	b.last = err
	b.mu.Unlock()
}
