package iimmpact_test

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

// TestQuotaUnderLoad hammers a client for several seconds of real time and
// checks with the sandbox's own records that the API would never have blocked.
func TestQuotaUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("several seconds of real time")
	}
	srv := iimmpacttest.Start(t, iimmpacttest.WithRateLimit(40, 4*time.Second, time.Hour))
	c := iimmpact.NewTestClient(t, srv.APIKey, srv.HMACSecret, iimmpact.WithBaseURL(srv.URL), iimmpact.WithQuota(40, 4*time.Second))
	t.Cleanup(c.CloseIdleConnections)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var mu sync.Mutex
	var refused []time.Duration
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				start := time.Now()
				_, err := c.BillPresentment(ctx, iimmpact.Query{Product: "AKSB", Account: "1234567890"})
				switch {
				case errors.Is(err, iimmpact.ErrQuotaExceeded):
					mu.Lock()
					refused = append(refused, time.Since(start))
					mu.Unlock()
				case err != nil && ctx.Err() == nil:
					t.Errorf("unexpected error: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	for _, r := range srv.Requests() {
		assert.NotEqual(t, http.StatusForbidden, r.Status, "the sandbox never blocked")
	}
	assert.LessOrEqual(t, mostInWindow(srv, 4*time.Second), 40, "requests in any trailing 4 s")
	assert.GreaterOrEqual(t, len(srv.Requests()), 40, "the quota was used")
	require.NotEmpty(t, refused)
	sort.Slice(refused, func(i, j int) bool { return refused[i] < refused[j] })
	median, p99 := refused[len(refused)/2], refused[len(refused)*99/100]
	t.Logf("%d requests sent, %d refused; refusal took median %s, p99 %s", len(srv.Requests()), len(refused), median, p99)
	assert.Less(t, median, 2*time.Millisecond, "a refused call returns at once")
}
