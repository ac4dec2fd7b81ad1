package iimmpact

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
	c := newTestClient(t, WithBaseURL(ts.URL))
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
	a := newTestClient(t, WithBaseURL(ts.URL), freshOrigins())
	b := newTestClient(t, WithBaseURL(ts.URL), freshOrigins())
	defer b.CloseIdleConnections()
	for _, c := range []*Client{a, b} {
		_, err := c.BillPresentment(context.Background(), aksb)
		require.NoError(t, err)
	}
	require.EqualValues(t, 2, opened.Load(), "a pool each")
	a.CloseIdleConnections()
	_, err := b.BillPresentment(context.Background(), aksb)
	require.NoError(t, err)
	assert.EqualValues(t, 2, opened.Load(), "b's connection was not closed by a")
	_, err = a.BillPresentment(context.Background(), aksb)
	require.NoError(t, err)
	assert.EqualValues(t, 3, opened.Load(), "a's was")
	a.CloseIdleConnections()
}

func TestWithHTTPClientIsNotMutated(t *testing.T) {
	hc := &http.Client{}
	c, err := NewClient(testKey, testSecret, WithHTTPClient(hc))
	require.NoError(t, err)
	assert.Nil(t, hc.CheckRedirect, "the caller's client is left as it was")
	assert.NotNil(t, c.hc.CheckRedirect)
	assert.NotSame(t, hc, c.hc)
}

func TestDefaultTransportIsSizedForConcurrency(t *testing.T) {
	c, err := NewClient(testKey, testSecret)
	require.NoError(t, err)
	own, ok := c.hc.Transport.(ownTransport)
	require.True(t, ok, "a pool of the client's own")
	tr := own.pool
	require.NotNil(t, tr)
	other, err := NewClient(testKey, testSecret)
	require.NoError(t, err)
	assert.NotSame(t, tr, other.hc.Transport.(ownTransport).pool, "no pool is shared behind the caller's back")
	assert.GreaterOrEqual(t, tr.MaxIdleConnsPerHost, 64)
	assert.GreaterOrEqual(t, tr.MaxIdleConns, 64)
	assert.Equal(t, 35*time.Second, c.timeout, "there is always a timeout")
}
