package quota

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func open(t *testing.T, b *Breaker, now time.Time) {
	t.Helper()
	for i := range 3 {
		tk, err := b.admit(at(now))
		require.NoError(t, err)
		assert.Equal(t, i == 2, b.observe(tk, 403, at(now)), "the third 403 opens it")
	}
	_, err := b.admit(at(now))
	var o *Open
	require.ErrorAs(t, err, &o)
}

func TestBreakerCooldownsDouble(t *testing.T) {
	var b Breaker
	b.remember(errors.New("the last 403"))
	open(t, &b, t0)
	now := t0
	for _, d := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 30 * time.Minute, 30 * time.Minute} {
		_, err := b.admit(at(now.Add(d - time.Second)))
		var o *Open
		require.ErrorAs(t, err, &o, "cool-down %s", d)
		assert.Equal(t, time.Second, o.Left)
		assert.EqualError(t, o.Last, "the last 403")
		now = now.Add(d)
		probe, err := b.admit(at(now))
		require.NoError(t, err)
		require.True(t, probe.Probe)
		assert.True(t, b.observe(probe, 403, at(now)), "a probe answered 403 opens it again")
	}
	probe, _ := b.admit(at(now.Add(30 * time.Minute)))
	assert.False(t, b.observe(probe, 200, at(now)))
	tk, err := b.admit(at(now))
	assert.NoError(t, err, "a probe answered 200 closes it")
	assert.False(t, tk.Probe)
	assert.False(t, b.busy.Load(), "closed again, the fast path is back")
}

func TestBreakerDetails(t *testing.T) {
	t.Run("a 403 between other answers never opens it", func(t *testing.T) {
		var b Breaker
		for _, s := range []int{403, 403, 200, 403, 403, 500, 403, 403} {
			tk, _ := b.admit(at(t0))
			b.observe(tk, s, at(t0))
		}
		_, err := b.admit(at(t0))
		assert.NoError(t, err)
	})
	t.Run("403s in flight when it opened do not double it", func(t *testing.T) {
		var b Breaker
		inFlight, _ := b.admit(at(t0))
		open(t, &b, t0)
		assert.False(t, b.observe(inFlight, 403, at(t0)))
		assert.Equal(t, time.Minute, b.cooldown)
		assert.Equal(t, t0.Add(time.Minute), b.openUntil)
	})
	t.Run("a probe with no answer frees the slot", func(t *testing.T) {
		var b Breaker
		open(t, &b, t0)
		later := t0.Add(time.Minute)
		probe, err := b.admit(at(later))
		require.NoError(t, err)
		require.True(t, probe.Probe)
		_, err = b.admit(at(later))
		assert.Error(t, err, "one probe at a time")
		b.observe(probe, 0, at(later))
		next, err := b.admit(at(later))
		require.NoError(t, err)
		assert.True(t, next.Probe, "the next call probes")
	})
}

// at is a clock stopped at t.
func at(t time.Time) func() time.Time { return func() time.Time { return t } }
