package ledger

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each item is held by one owner at a time, whoever races for it; a lease
// that ended (a process that died) is taken over; the holder renews.
func TestClaimsAreOneOwnerEach(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			l := open(t)
			ctx := context.Background()
			clock := time.Unix(1_800_000_000, 0)
			l.now = func() time.Time { return clock }

			var mu sync.Mutex
			held := map[string][]string{}
			var wg sync.WaitGroup
			for w := range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					owner := fmt.Sprintf("pod-%d", w)
					for i := range 20 {
						item := fmt.Sprintf("instruction-%d", i)
						ok, err := l.Claim(ctx, "2026-12", item, owner, time.Minute)
						if !assert.NoError(t, err) {
							return
						}
						if ok {
							mu.Lock()
							held[item] = append(held[item], owner)
							mu.Unlock()
						}
					}
				}()
			}
			wg.Wait()
			require.Len(t, held, 20)
			for item, owners := range held {
				assert.Len(t, owners, 1, "%s has one owner", item)
			}

			owner := held["instruction-0"][0]
			ok, err := l.Claim(ctx, "2026-12", "instruction-0", owner, time.Minute)
			require.NoError(t, err)
			assert.True(t, ok, "the holder renews")
			ok, err = l.Claim(ctx, "2026-12", "instruction-0", "pod-new", time.Minute)
			require.NoError(t, err)
			assert.False(t, ok, "its lease runs")
			clock = clock.Add(2 * time.Minute) // the holder died
			ok, err = l.Claim(ctx, "2026-12", "instruction-0", "pod-new", time.Minute)
			require.NoError(t, err)
			assert.True(t, ok, "a lease that ended is taken over")
			ok, err = l.Claim(ctx, "2027-01", "instruction-0", "pod-x", time.Minute)
			require.NoError(t, err)
			assert.True(t, ok, "another run's item is another item")

			require.NoError(t, l.Release(ctx, "2026-12", "instruction-0", "pod-new"))
			ok, err = l.Claim(ctx, "2026-12", "instruction-0", owner, time.Minute)
			require.NoError(t, err)
			assert.True(t, ok, "a released item is taken at once")
		})
	}
}

// A stop seen by one process is every process's, until the run resumes.
func TestAStopIsTheRunsStop(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			l := open(t)
			ctx := context.Background()
			clock := time.Unix(1_800_000_000, 0)
			l.now = func() time.Time { return clock }
			why, _, err := l.Stopped(ctx, "2026-12")
			require.NoError(t, err)
			assert.Empty(t, why)
			require.NoError(t, l.Stop(ctx, "2026-12", "wallet"))
			require.NoError(t, l.Stop(ctx, "2026-12", "blocked"))
			why, at, err := l.Stopped(ctx, "2026-12")
			require.NoError(t, err)
			assert.Equal(t, "wallet", why, "the first reason stays")
			assert.True(t, at.Equal(clock))
			require.NoError(t, l.Resume(ctx, "2026-12", clock))
			why, _, err = l.Stopped(ctx, "2026-12")
			require.NoError(t, err)
			assert.Equal(t, "wallet", why, "a process started as it stopped still sees the stop")
			require.NoError(t, l.Resume(ctx, "2026-12", clock.Add(time.Second)))
			why, _, err = l.Stopped(ctx, "2026-12")
			require.NoError(t, err)
			assert.Empty(t, why, "one started after it pays on")
		})
	}
}
