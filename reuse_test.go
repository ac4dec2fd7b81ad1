package iimmpact

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingServer starts h on loopback, closed when the test ends, and counts the
// connections it accepts.
func countingServer(t *testing.T, h http.Handler) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var opened atomic.Int32
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	ts.Start()
	t.Cleanup(ts.Close)
	return ts, &opened
}

// TestConnectionReuse64Callers: 12,800 calls from 64 concurrent callers through
// the default transport reuse their connections. net/http dials a spare
// connection when a caller asks for one in the instant before its last one is
// back in the pool, so the count is 64 plus such spares (64 to 97 seen; see
// BENCHMARKS.md), never more than the idle pool keeps: without reuse it would
// be one a call.
func TestConnectionReuse64Callers(t *testing.T) {
	body := golden(t, "valid_aksb.json")
	ts, opened := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(body)
	}))
	c, err := NewClient(testKey, testSecret, WithBaseURL(ts.URL))
	require.NoError(t, err)
	defer c.hc.CloseIdleConnections()

	const callers, each = 64, 200
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				_, err := c.BillPresentment(context.Background(), aksb)
				if !assert.NoError(t, err) {
					return
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d calls opened %d connections", callers*each, opened.Load())
	assert.LessOrEqual(t, opened.Load(), int32(c.hc.Transport.(ownTransport).pool.MaxIdleConnsPerHost))
}

// CloseIdleConnections closes only the pool the client owns: another
// client's connections stay open and are reused.
func TestCloseIdleConnectionsClosesOnlyItsOwn(t *testing.T) {
	body := golden(t, "valid_aksb.json")
	ts, opened := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
	a, err := NewClient(testKey, testSecret, WithBaseURL(ts.URL), freshOrigins())
	require.NoError(t, err)
	b, err := NewClient(testKey, testSecret, WithBaseURL(ts.URL), freshOrigins())
	require.NoError(t, err)
	defer b.CloseIdleConnections()
	for _, c := range []*Client{a, b} {
		_, err := c.BillPresentment(context.Background(), aksb)
		require.NoError(t, err)
	}
	require.EqualValues(t, 2, opened.Load(), "a pool each")
	a.CloseIdleConnections()
	_, err = b.BillPresentment(context.Background(), aksb)
	require.NoError(t, err)
	assert.EqualValues(t, 2, opened.Load(), "b's connection was not closed by a")
	_, err = a.BillPresentment(context.Background(), aksb)
	require.NoError(t, err)
	assert.EqualValues(t, 3, opened.Load(), "a's was")
	a.CloseIdleConnections()
}
