package quota

import (
	"slices"
	"sort"
	"sync"
	"time"
)

// Log counts the requests of the trailing window: those in flight, and those
// finished within the window, by the time they finished. The API counts a
// request when it arrives, which is after it was sent, so a slot is held until
// a window after the answer: never earlier than the API frees it. The count is
// exact, and memory is for the requests in the window only.
type Log struct {
	mu       sync.Mutex
	times    []time.Time // when requests finished, in order
	inflight int
	keep     time.Duration // the longest window any client asked for
}

// reserve admits one request when fewer than limit are in the window, or says
// when the next slot frees.
func (l *Log) reserve(now time.Time, limit int, window time.Duration) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if after := l.after(now, limit, window, 0); after > 0 {
		return after, false
	}
	l.inflight++
	return 0, true
}

// next says how long until queued+1 more requests fit, without reserving.
func (l *Log) next(now time.Time, limit int, window time.Duration, queued int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.after(now, limit, window, queued)
}

// after is how long until queued+1 requests fit: 0 when they fit now. A slot
// a request in flight holds frees a window after its answer at the earliest,
// so for those the answer is the window, a lower bound.
func (l *Log) after(now time.Time, limit int, window time.Duration, queued int) time.Duration {
	l.prune(now, window)
	first := sort.Search(len(l.times), func(i int) bool { return l.times[i].After(now.Add(-window)) })
	done := len(l.times) - first
	excess := done + l.inflight + queued - limit
	switch {
	case excess < 0:
		return 0
	case excess < done: // the slot frees when the excess+1'th oldest leaves the window
		return max(l.times[first+excess].Add(window).Sub(now), time.Millisecond)
	}
	return window
}

// release gives back a slot whose request was never sent.
func (l *Log) release() {
	l.mu.Lock()
	l.inflight--
	l.mu.Unlock()
}

// finish records that a request admitted by reserve or start ended at now.
func (l *Log) finish(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	i := len(l.times)
	for i > 0 && l.times[i-1].After(now) { // requests end nearly in order: a short walk
		i--
	}
	l.times = slices.Insert(l.times, i, now)
}

// prune drops what no window reaches any more; copying the rest down keeps the
// slice from growing without bound.
func (l *Log) prune(now time.Time, window time.Duration) {
	l.keep = max(l.keep, window)
	n := sort.Search(len(l.times), func(i int) bool { return l.times[i].After(now.Add(-l.keep)) })
	if n > 0 && n >= len(l.times)/2 {
		l.times = append(l.times[:0], l.times[n:]...)
	}
}
