package quota

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Unix(1000, 0)

func TestLogTrailingWindow(t *testing.T) {
	var l Log
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
	assert.Equal(t, 2*time.Second, l.next(t0.Add(10*time.Second), 3, 10*time.Second, 1), "the second slot to free is the third oldest's")
}

func TestLogHoldsInFlightSlots(t *testing.T) {
	var l Log
	_, ok := l.reserve(t0, 1, 10*time.Second)
	require.True(t, ok)
	after, ok := l.reserve(t0.Add(time.Hour), 1, 10*time.Second)
	assert.False(t, ok, "still in flight")
	assert.Equal(t, 10*time.Second, after, "at least a window after its answer")
	l.finish(t0.Add(time.Hour))
	after, ok = l.reserve(t0.Add(time.Hour+time.Second), 1, 10*time.Second)
	assert.False(t, ok)
	assert.Equal(t, 9*time.Second, after)

	_, ok = l.reserve(t0.Add(2*time.Hour), 1, 10*time.Second)
	require.True(t, ok)
	l.release()
	_, ok = l.reserve(t0.Add(2*time.Hour), 1, 10*time.Second)
	assert.True(t, ok, "a slot given back unused frees at once")
}

func TestLogMemoryIsForTheWindowOnly(t *testing.T) {
	var l Log
	for i := range 100_000 {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		_, ok := l.reserve(now, 1_000_000, time.Second)
		require.True(t, ok)
		l.finish(now)
	}
	assert.LessOrEqual(t, len(l.times), 2_001, "about one window of requests is kept, not 100,000")
}

// BenchmarkLog is the in-process guard's cost a call, with the log holding a
// full window of 30,000 requests.
func BenchmarkLog(b *testing.B) {
	var l Log
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
