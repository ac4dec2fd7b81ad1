package iimmpact_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

func repeat(q iimmpact.Query, n int) iter.Seq[iimmpact.Query] {
	return func(yield func(iimmpact.Query) bool) {
		for range n {
			if !yield(q) {
				return
			}
		}
	}
}

// mostInWindow is the most requests the sandbox received in any trailing
// window.
func mostInWindow(srv *iimmpacttest.Server, window time.Duration) int {
	var times []time.Time
	for _, r := range srv.Requests() {
		times = append(times, r.Time)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	most := 0
	for i := range times {
		j := sort.Search(len(times), func(j int) bool { return !times[j].Before(times[i].Add(window)) })
		most = max(most, j-i)
	}
	return most
}

// A reminders job over the sandbox in real time: 100 calls, 8 workers, a
// quota of 20 per 2 s. Each call waits for its slot instead of being refused.
func TestBatchPacesThroughTheQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("about 8 s of real time")
	}
	srv := iimmpacttest.Start(t, iimmpacttest.WithRateLimit(20, 2*time.Second, time.Hour))
	c := iimmpact.NewTestClient(t, srv.APIKey, srv.HMACSecret, iimmpact.WithBaseURL(srv.URL),
		iimmpact.WithQuota(20, 2*time.Second), iimmpact.WithQuotaWait(time.Minute))

	start := time.Now()
	seen := map[int]bool{}
	for i, r := range c.BillPresentments(context.Background(), repeat(iimmpact.Query{Product: "AKSB", Account: "1234567890"}, 100), 8) {
		require.NoError(t, r.Err, "call %d", i)
		assert.Equal(t, iimmpact.ActionShow, r.Bill.Decision().Action)
		seen[i] = true
	}
	elapsed := time.Since(start)
	assert.Len(t, seen, 100, "one result for each query")
	assert.LessOrEqual(t, mostInWindow(srv, 2*time.Second), 20, "the sandbox never saw more than the quota in any trailing 2 s")
	// The first 20 go at once, then 20 every 2 s: 8 s is the ideal.
	ideal := 8 * time.Second
	t.Logf("100 calls in %s against the ideal %s: pacing efficiency (ideal ÷ actual) %.3f", elapsed.Round(time.Millisecond),
		ideal, float64(ideal)/float64(elapsed))
	assert.GreaterOrEqual(t, elapsed, ideal-50*time.Millisecond, "the quota cannot be beaten")
	assert.Less(t, elapsed, ideal+2*time.Second, "close to the ideal")
}

// A batch with a lower limit than the checkouts beside it never takes their
// share.
func TestBatchBesideCheckouts(t *testing.T) {
	if testing.Short() {
		t.Skip("several seconds of real time")
	}
	srv := iimmpacttest.Start(t, iimmpacttest.WithRateLimit(15, time.Second, time.Hour))
	process := iimmpact.WithShared(iimmpact.NewShared()) // one process, one count
	batchClient := iimmpact.NewTestClient(t, srv.APIKey, srv.HMACSecret, iimmpact.WithBaseURL(srv.URL), process,
		iimmpact.WithQuota(10, time.Second), iimmpact.WithQuotaWait(time.Minute))
	checkout := iimmpact.NewTestClient(t, srv.APIKey, srv.HMACSecret, iimmpact.WithBaseURL(srv.URL), process, iimmpact.WithQuota(15, time.Second))

	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, r := range batchClient.BillPresentments(context.Background(), repeat(iimmpact.Query{Product: "AKSB", Account: "1234567890"}, 30), 4) {
			assert.NoError(t, r.Err)
		}
	}()
	checkouts := 0
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-tick.C:
			_, err := checkout.BillPresentment(context.Background(), iimmpact.Query{Product: "TNB", Account: "220012345678"})
			require.NoError(t, err, "a checkout is never refused while the batch runs")
			checkouts++
		}
	}
	assert.Positive(t, checkouts)
	assert.LessOrEqual(t, mostInWindow(srv, time.Second), 15)
	t.Logf("%d checkouts beside a 30-account batch, none refused", checkouts)
}

func TestBatchKeepsGoingPastAccountErrors(t *testing.T) {
	srv := iimmpacttest.NewHandler()
	queries := []iimmpact.Query{
		{Product: "AKSB", Account: "1234567890"},
		{Product: "AKSB", Account: "0000000000"},
		{Product: "JOMPAY", Account: "1"}, // no biller code: never sent
		{Product: "DIGI", Account: "0123456789"},
		{Product: "TNB", Account: "220012345678"},
	}
	got := make([]iimmpact.BatchResult, len(queries))
	for i, r := range srv.Client.BillPresentments(context.Background(), slices.Values(queries), 3) {
		got[i] = r
	}
	want := []iimmpact.Action{iimmpact.ActionShow, iimmpact.ActionBlock, iimmpact.ActionHide, iimmpact.ActionHide, iimmpact.ActionShow}
	for i, r := range got {
		assert.Equal(t, queries[i], r.Query)
		assert.Equal(t, want[i], r.Bill.Decision().Action, "%d", i)
	}
	assert.ErrorIs(t, got[2].Err, iimmpact.ErrInvalidQuery)
	assert.Len(t, srv.Requests(), 4)
}

func TestBatchStopsAtTheFirstBlock(t *testing.T) {
	srv := iimmpacttest.NewHandler(iimmpacttest.WithRateLimit(5, time.Minute, time.Hour), iimmpacttest.WithClientOptions(iimmpact.WithMaxRetries(0)))
	var results []iimmpact.BatchResult
	indexes := map[int]bool{}
	for i, r := range srv.Client.BillPresentments(context.Background(), repeat(iimmpact.Query{Product: "AKSB", Account: "1234567890"}, 100), 1) {
		results = append(results, r)
		indexes[i] = true
	}
	require.Len(t, results, 100, "every query is reported")
	assert.Len(t, indexes, 100)
	var ok, forbidden, blocked, notSent int
	for _, r := range results {
		var apiErr *iimmpact.APIError
		switch {
		case r.Err == nil:
			ok++
		case errors.Is(r.Err, iimmpact.ErrNotSent):
			assert.ErrorIs(t, r.Err, iimmpact.ErrBlocked)
			notSent++
		case errors.Is(r.Err, iimmpact.ErrBlocked):
			blocked++
		case errors.As(r.Err, &apiErr) && apiErr.StatusCode == 403:
			forbidden++
		default:
			t.Errorf("unexpected: %v", r.Err)
		}
	}
	assert.Equal(t, []int{5, 3, 1, 91}, []int{ok, forbidden, blocked, notSent}, "5 sent, 3 answered 403, then the breaker: the rest is never sent")
	assert.Len(t, srv.Requests(), 8)
}

func TestBatchHonoursItsContext(t *testing.T) {
	srv := iimmpacttest.NewHandler()
	srv.Set("AKSB", "slow", iimmpacttest.ValidBill(iimmpacttest.Data{"BillerName": "x"}).After(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	results, notSent := 0, 0
	for _, r := range srv.Client.BillPresentments(ctx, repeat(iimmpact.Query{Product: "AKSB", Account: "slow"}, 10), 2) {
		results++
		assert.ErrorIs(t, r.Err, context.DeadlineExceeded)
		if errors.Is(r.Err, iimmpact.ErrNotSent) {
			notSent++
		}
	}
	assert.Equal(t, 10, results)
	assert.Equal(t, 10, notSent+len(srv.Requests()), "what was not sent is reported so")
	assert.LessOrEqual(t, len(srv.Requests()), 2, "no more than the workers")
}

func TestBatchBreakCancelsTheCallsInFlight(t *testing.T) {
	srv := iimmpacttest.NewHandler()
	srv.Set("AKSB", "slow", iimmpacttest.ValidBill(iimmpacttest.Data{"BillerName": "x"}).After(time.Hour))
	queries := []iimmpact.Query{{Product: "AKSB", Account: "1234567890"}, {Product: "AKSB", Account: "slow"}, {Product: "AKSB", Account: "slow"}}
	for _, r := range srv.Client.BillPresentments(context.Background(), slices.Values(queries), 3) {
		require.NoError(t, r.Err)
		break // the two slow calls end with it; goleak checks no worker is left
	}
}

func ExampleClient_BillPresentments() {
	srv := iimmpacttest.NewServer() // the sandbox; use iimmpact.NewClientFromEnv with WithQuotaWait in production
	defer srv.Close()
	accounts := []iimmpact.Query{
		{Product: "AKSB", Account: "1234567890"},
		{Product: "TNB", Account: "220012345678"},
		{Product: "AKSB", Account: "0000000000"},
	}
	due := make([]string, len(accounts))
	for i, r := range srv.Client.BillPresentments(context.Background(), slices.Values(accounts), 4) {
		switch d := r.Bill.Decision(); {
		case r.Err != nil:
			due[i] = "error: " + r.Err.Error()
		case d.Action == iimmpact.ActionShow:
			due[i] = r.Bill.Data.Outstanding.Ringgit() + " due " + r.Bill.Data.DueDate.String()
		default:
			due[i] = string(d.Reason)
		}
	}
	for i, line := range due {
		fmt.Println(accounts[i].Product, line)
	}
	// Output:
	// AKSB RM 45.94 due 13/06/2025
	// TNB RM 120.50 due 28/06/2025
	// AKSB invalid_account
}

// Without WithQuotaWait, a batch under a tight quota still presents every
// query: it waits for each slot instead of refusing.
func TestBatchNeverDropsAQuery(t *testing.T) {
	srv := iimmpacttest.Start(t)
	c := iimmpact.NewTestClient(t, srv.APIKey, srv.HMACSecret, iimmpact.WithBaseURL(srv.URL), iimmpact.WithQuota(3, 300*time.Millisecond))
	presented := 0
	for _, r := range c.BillPresentments(context.Background(), repeat(iimmpact.Query{Product: "AKSB", Account: "1234567890"}, 12), 6) {
		require.NoError(t, r.Err)
		presented++
	}
	assert.Equal(t, 12, presented)
	assert.LessOrEqual(t, mostInWindow(srv, 300*time.Millisecond), 3)
}

func TestQuotaRetryAfterIsNeverZero(t *testing.T) {
	srv := iimmpacttest.NewHandler(iimmpacttest.WithClientOptions(iimmpact.WithQuota(1, time.Hour)))
	_, err := srv.Client.BillPresentment(context.Background(), iimmpact.Query{Product: "AKSB", Account: "1234567890"})
	require.NoError(t, err)
	_, err = srv.Client.BillPresentment(context.Background(), iimmpact.Query{Product: "AKSB", Account: "1234567890"})
	var qe *iimmpact.QuotaError
	require.ErrorAs(t, err, &qe)
	assert.Positive(t, qe.RetryAfter)
	assert.NotContains(t, err.Error(), "in 0s")
}
