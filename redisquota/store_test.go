package redisquota_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
	"github.com/iimmpact-go/iimmpact/redisquota"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// redisAddr is the real redis-server .ci/run starts (IIMMPACT_TEST_REDIS). Under
// CI its absence is a failure; elsewhere the test is skipped with the reason.
func redisAddr(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("IIMMPACT_TEST_REDIS")
	if addr == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("IIMMPACT_TEST_REDIS is not set: .ci/run must start redis-server and export its address")
		}
		t.Skip("IIMMPACT_TEST_REDIS is not set; run bash .ci/run, which starts a redis-server, to run the Redis tests")
	}
	return addr
}

func newRedis(t *testing.T, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	if os.Getenv("IIMMPACT_TEST_REDIS") == addr {
		require.NoError(t, rdb.Ping(context.Background()).Err(), "redis-server at %s is not reachable", addr)
	}
	return rdb
}

func key(t *testing.T) string {
	return "iimmpact:test:" + t.Name() + ":" + fmt.Sprint(time.Now().UnixNano())
}

func TestReserveIsAtomicUnderConcurrency(t *testing.T) {
	addr := redisAddr(t)
	store := redisquota.New(newRedis(t, addr))
	k := key(t)
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				ok, after, err := store.Reserve(context.Background(), k, 100, time.Minute, 0, fmt.Sprint(g, "-", i))
				if !assert.NoError(t, err) {
					return
				}
				if ok {
					allowed.Add(1)
				} else {
					assert.Greater(t, after, 50*time.Second, "the first request frees its slot a minute after it was sent")
				}
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(100), allowed.Load(), "640 tries, exactly the limit admitted")

	ttl, err := newRedis(t, addr).PTTL(context.Background(), "{"+k+"}:live").Result()
	require.NoError(t, err)
	assert.True(t, ttl > 0 && ttl <= 2*time.Minute+time.Second, "the key expires on its own: %s", ttl)
}

func TestTrailingWindowFreesSlots(t *testing.T) {
	store := redisquota.New(newRedis(t, redisAddr(t)))
	k := key(t)
	ctx := context.Background()
	for i := range 3 {
		ok, _, err := store.Reserve(ctx, k, 3, 300*time.Millisecond, 0, fmt.Sprint(i))
		require.NoError(t, err)
		require.True(t, ok)
		require.NoError(t, store.Release(ctx, k, fmt.Sprint(i), true, 300*time.Millisecond), "answered")
	}
	ok, after, err := store.Reserve(ctx, k, 3, 300*time.Millisecond, 0, "late")
	require.NoError(t, err)
	require.False(t, ok)
	require.LessOrEqual(t, after, 300*time.Millisecond)
	// Wait for exactly the time Redis said, on a timer rather than a guess.
	<-time.After(after + 5*time.Millisecond)
	ok, _, err = store.Reserve(ctx, k, 3, 300*time.Millisecond, 0, "later")
	require.NoError(t, err)
	assert.True(t, ok, "a slot freed when Redis said it would")
}

func TestBookingAhead(t *testing.T) {
	rdb := newRedis(t, redisAddr(t))
	store := redisquota.New(rdb)
	k := key(t)
	live, done := "{"+k+"}:live", "{"+k+"}:done"
	ctx := context.Background()
	const window = time.Second
	for i := range 3 {
		ok, wait, err := store.Reserve(ctx, k, 3, window, time.Minute, fmt.Sprint(i))
		require.NoError(t, err)
		require.True(t, ok)
		assert.Zero(t, wait, "a free slot is booked for now")
	}
	ok, wait, err := store.Reserve(ctx, k, 3, window, time.Minute, "unknown")
	require.NoError(t, err)
	assert.False(t, ok, "requests in flight hold every slot: no time can be named yet")
	assert.Equal(t, window, wait, "ask again in a window at the soonest")
	for i := range 3 {
		require.NoError(t, store.Release(ctx, k, fmt.Sprint(i), true, window), "answered")
	}
	ok, wait, err = store.Reserve(ctx, k, 3, window, time.Minute, "fourth")
	require.NoError(t, err)
	require.True(t, ok, "booked ahead")
	assert.InDelta(t, window, wait, float64(100*time.Millisecond), "a window after the first answer")
	ok, retry, err := store.Reserve(ctx, k, 3, window, 10*time.Millisecond, "impatient")
	require.NoError(t, err)
	assert.False(t, ok, "the next slot is further than it may wait")
	assert.InDelta(t, window, retry, float64(100*time.Millisecond))
	count := func(set string) int64 {
		n, err := rdb.ZCard(ctx, set).Result()
		require.NoError(t, err)
		return n
	}
	assert.Equal(t, []int64{1, 3}, []int64{count(live), count(done)}, "a refusal books nothing")
	require.NoError(t, store.Release(ctx, k, "fourth", false, window))
	assert.Equal(t, []int64{0, 3}, []int64{count(live), count(done)}, "a booking never sent counts nothing")
	require.NoError(t, store.Release(ctx, k, "0", true, window))
	assert.Equal(t, int64(3), count(done), "releasing again adds nothing")
	ttl, err := rdb.PTTL(ctx, done).Result()
	require.NoError(t, err)
	assert.Greater(t, ttl, window, "the answered requests live at least a window")
}

// recordingStore notes when each booking it grants is for.
type recordingStore struct {
	*redisquota.Store
	mu       sync.Mutex
	booked   []time.Time
	reserves int
}

func (s *recordingStore) Reserve(ctx context.Context, key string, limit int, window, maxWait time.Duration, member string) (bool, time.Duration, error) {
	ok, wait, err := s.Store.Reserve(ctx, key, limit, window, maxWait, member)
	s.mu.Lock()
	s.reserves++
	if ok && err == nil {
		s.booked = append(s.booked, time.Now().Add(wait))
	}
	s.mu.Unlock()
	return ok, wait, err
}

// A batch sharded across three pods behind one egress IP: each pod's client
// has its own Redis connection, and together they pace through one quota.
func TestFleetPacesThroughRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("about 8 s of real time")
	}
	addr := redisAddr(t)
	const limit, window, total = 20, 2 * time.Second, 99
	srv := iimmpacttest.Start(t, iimmpacttest.WithRateLimit(limit, window, time.Hour))
	k := key(t)
	hook := &countHook{evalOnly: true}
	var stores []*recordingStore
	var clients []*iimmpact.Client
	for range 3 {
		rdb := newRedis(t, addr)
		rdb.AddHook(hook)
		store := &recordingStore{Store: redisquota.New(rdb)}
		stores = append(stores, store)
		c, err := iimmpact.NewClient(srv.APIKey, srv.HMACSecret, iimmpact.WithBaseURL(srv.URL),
			iimmpact.WithQuota(limit, window), iimmpact.WithQuotaWait(time.Minute), iimmpact.WithQuotaStore(store, k))
		require.NoError(t, err)
		t.Cleanup(c.CloseIdleConnections)
		clients = append(clients, c)
	}
	start := time.Now()
	var ok atomic.Int32
	var wg sync.WaitGroup
	for _, c := range clients { // each pod takes a third of the accounts
		wg.Add(1)
		go func() {
			defer wg.Done()
			queries := func(yield func(iimmpact.Query) bool) {
				for range total / 3 {
					if !yield(iimmpact.Query{Product: "AKSB", Account: "1234567890"}) {
						return
					}
				}
			}
			for _, r := range c.BillPresentments(context.Background(), queries, 4) {
				if assert.NoError(t, r.Err) {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	assert.Equal(t, int32(total), ok.Load(), "every request finished, none refused")

	var arrived, booked []time.Time
	for _, r := range srv.Requests() {
		assert.NotEqual(t, 403, r.Status, "the sandbox never blocked")
		arrived = append(arrived, r.Time)
	}
	reserves := 0
	for _, s := range stores {
		booked = append(booked, s.booked...)
		reserves += s.reserves
	}
	sort.Slice(arrived, func(i, j int) bool { return arrived[i].Before(arrived[j]) })
	sort.Slice(booked, func(i, j int) bool { return booked[i].Before(booked[j]) })
	most := 0
	for i := range arrived {
		j := sort.Search(len(arrived), func(j int) bool { return !arrived[j].Before(arrived[i].Add(window)) })
		most = max(most, j-i)
	}
	assert.LessOrEqual(t, most, limit, "requests in any trailing window, as the API counts them")
	require.Len(t, booked, total)
	var drift time.Duration
	for i := range arrived {
		drift = max(drift, arrived[i].Sub(booked[i]).Abs())
	}
	calls := hook.n.Load()
	ideal := time.Duration((total-1)/limit) * window
	t.Logf("%d requests from 3 pods in %s (ideal %s, efficiency %.3f); %d reservations (%.2f a request), %d script round trips with the releases; booking-to-arrival drift at most %s",
		total, elapsed.Round(time.Millisecond), ideal, float64(ideal)/float64(elapsed), reserves, float64(reserves)/total, calls, drift.Round(time.Microsecond))
	assert.LessOrEqual(t, reserves, total+3, "about one reservation a request, not a polling storm")
	assert.LessOrEqual(t, calls, int64(2*total+20), "and one release")
}

// Three clients, each with its own Redis connection, as three pods would have,
// together stay under one quota.
func TestThreeClientsShareOneQuota(t *testing.T) {
	addr := redisAddr(t)
	srv := iimmpacttest.Start(t, iimmpacttest.WithRateLimit(40, time.Minute, time.Hour))
	k := key(t)
	var clients []*iimmpact.Client
	for range 3 {
		c, err := iimmpact.NewClient(srv.APIKey, srv.HMACSecret, iimmpact.WithBaseURL(srv.URL),
			iimmpact.WithQuota(40, time.Minute), iimmpact.WithQuotaStore(redisquota.New(newRedis(t, addr)), k))
		require.NoError(t, err)
		t.Cleanup(c.CloseIdleConnections)
		clients = append(clients, c)
	}
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for _, c := range clients {
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					_, err := c.BillPresentment(context.Background(), iimmpact.Query{Product: "AKSB", Account: "1234567890"})
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, iimmpact.ErrQuotaExceeded):
						refused.Add(1)
					default:
						t.Errorf("unexpected error: %v", err)
					}
				}
			}()
		}
	}
	wg.Wait()
	assert.Equal(t, int32(40), ok.Load(), "exactly the fleet's quota got through")
	assert.Equal(t, int32(200), refused.Load())
	assert.Len(t, srv.Requests(), 40, "the sandbox saw no more, so it never blocked")
}

// startRedis runs a redis-server of its own, to be stopped by the test.
func startRedis(t *testing.T) (addr string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return startRedisOn(t, port)
}

// startRedisOn runs a redis-server of its own on port, empty, with no
// persistence.
func startRedisOn(t *testing.T, port int) (addr string, stop func()) {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not installed: .ci/run installs it")
		}
		t.Skip("redis-server is not installed")
	}
	cmd := exec.Command(path, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var once sync.Once
	stop = func() { once.Do(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) }
	t.Cleanup(stop)
	ready := make(chan struct{})
	go func() { // redis-server says when it accepts connections; drain the rest
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				close(ready)
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("redis-server did not start within 10 s")
	}
	return fmt.Sprint("127.0.0.1:", port), stop
}

// A Redis that stops mid-traffic makes the client count in-process at the
// fallback share, warn once, and keep serving.
func TestStoppedRedisFallsBack(t *testing.T) {
	addr, stop := startRedis(t)
	srv := iimmpacttest.Start(t)
	var logs bytes.Buffer
	c, err := iimmpact.NewClient(srv.APIKey, srv.HMACSecret, iimmpact.WithBaseURL(srv.URL),
		iimmpact.WithQuota(100, time.Minute), iimmpact.WithQuotaFallback(5),
		iimmpact.WithQuotaStore(redisquota.New(newRedis(t, addr)), key(t)),
		iimmpact.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	q := iimmpact.Query{Product: "AKSB", Account: "1234567890"}
	for range 3 {
		_, err := c.BillPresentment(context.Background(), q)
		require.NoError(t, err, "counted in Redis")
	}
	stop()
	start := time.Now()
	_, err = c.BillPresentment(context.Background(), q)
	require.NoError(t, err, "Redis is down, the checkout goes on")
	assert.Less(t, time.Since(start), time.Second)
	_, err = c.BillPresentment(context.Background(), q)
	require.NoError(t, err)
	_, err = c.BillPresentment(context.Background(), q)
	assert.ErrorIs(t, err, iimmpact.ErrQuotaExceeded, "3 from Redis + 2 more reach the fallback share of 5")
	assert.Equal(t, 1, strings.Count(logs.String(), "quota store failed"), "one warning, not one a call")
	assert.Len(t, srv.Requests(), 5)
}

// A Redis that restarts empty mid-run has forgotten what the process sent:
// the process still never sends past its own limit in any trailing window.
func TestRedisRestartedEmptyNeverLetsAProcessPastItsLimit(t *testing.T) {
	addr, stop := startRedis(t)
	const limit, window = 10, 8 * time.Second
	srv := iimmpacttest.Start(t)
	c, err := iimmpact.NewClient(srv.APIKey, srv.HMACSecret, iimmpact.WithBaseURL(srv.URL),
		iimmpact.WithQuota(limit, window), iimmpact.WithQuotaStore(redisquota.New(newRedis(t, addr)), key(t)))
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	q := iimmpact.Query{Product: "AKSB", Account: "1234567890"}
	for range limit {
		_, err := c.BillPresentment(context.Background(), q)
		require.NoError(t, err, "counted in Redis")
	}
	stop()
	_, port, _ := net.SplitHostPort(addr)
	var p int
	_, _ = fmt.Sscan(port, &p)
	startRedisOn(t, p) // the same address, empty
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := 0
	for _, r := range c.BillPresentments(ctx, func(yield func(iimmpact.Query) bool) {
		for range limit {
			if !yield(q) {
				return
			}
		}
	}, 4) {
		require.NoError(t, r.Err)
		n++
	}
	assert.Equal(t, limit, n)
	reqs := srv.Requests()
	require.Len(t, reqs, 2*limit)
	for i := limit; i < len(reqs); i++ {
		assert.GreaterOrEqual(t, reqs[i].Time.Sub(reqs[i-limit].Time), window,
			"request %d came within a window of request %d: %d in a window", i, i-limit, limit+1)
	}
}

// countHook counts the round trips go-redis makes, or only the scripts it runs.
type countHook struct {
	n        atomic.Int64
	evalOnly bool
}

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if name := cmd.Name(); !h.evalOnly || name == "evalsha" || name == "eval" {
			h.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// BenchmarkReserve is the guard's cost a call through Redis, and its round trips.
func BenchmarkReserve(b *testing.B) {
	addr := os.Getenv("IIMMPACT_TEST_REDIS")
	if addr == "" {
		b.Skip("IIMMPACT_TEST_REDIS is not set")
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	hook := &countHook{}
	rdb.AddHook(hook)
	store := redisquota.New(rdb)
	k := fmt.Sprint("iimmpact:bench:", time.Now().UnixNano())
	_, _, _ = store.Reserve(context.Background(), k, 1, time.Second, 0, "warm") // loads the script
	hook.n.Store(0)
	i := 0
	for b.Loop() {
		i++
		if _, _, err := store.Reserve(context.Background(), k, 1<<30, 5*time.Minute, 0, fmt.Sprint(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(hook.n.Load())/float64(i), "roundtrips/op")
}
