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
				ok, after, err := store.Reserve(context.Background(), k, 100, time.Minute, fmt.Sprint(g, "-", i))
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

	ttl, err := newRedis(t, addr).PTTL(context.Background(), k).Result()
	require.NoError(t, err)
	assert.True(t, ttl > 0 && ttl <= time.Minute, "the key expires on its own: %s", ttl)
}

func TestTrailingWindowFreesSlots(t *testing.T) {
	store := redisquota.New(newRedis(t, redisAddr(t)))
	k := key(t)
	ctx := context.Background()
	for i := range 3 {
		ok, _, err := store.Reserve(ctx, k, 3, 300*time.Millisecond, fmt.Sprint(i))
		require.NoError(t, err)
		require.True(t, ok)
	}
	ok, after, err := store.Reserve(ctx, k, 3, 300*time.Millisecond, "late")
	require.NoError(t, err)
	require.False(t, ok)
	require.LessOrEqual(t, after, 300*time.Millisecond)
	// Wait for exactly the time Redis said, on a timer rather than a guess.
	<-time.After(after + 5*time.Millisecond)
	ok, _, err = store.Reserve(ctx, k, 3, 300*time.Millisecond, "later")
	require.NoError(t, err)
	assert.True(t, ok, "a slot freed when Redis said it would")
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
	path, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not installed: .ci/run installs it")
		}
		t.Skip("redis-server is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
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

// countHook counts the round trips go-redis makes.
type countHook struct{ n atomic.Int64 }

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
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
	_, _, _ = store.Reserve(context.Background(), k, 1, time.Second, "warm") // loads the script
	hook.n.Store(0)
	i := 0
	for b.Loop() {
		i++
		if _, _, err := store.Reserve(context.Background(), k, 1<<30, 5*time.Minute, fmt.Sprint(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(hook.n.Load())/float64(i), "roundtrips/op")
}
