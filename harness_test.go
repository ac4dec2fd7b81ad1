package iimmpact

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iimmpact-go/iimmpact/internal/quota"
	"github.com/iimmpact-go/iimmpact/internal/retry"
	"github.com/iimmpact-go/iimmpact/internal/verify"
	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The harness every internal test builds its client with: NewTestClient,
// and on it an httpmock transport (harness), a payment responder (payHarness),
// a fake clock for the quota (guarded), or a raw TCP server (startRaw).

// retryWait is the real wait, which must end when ctx does.
var retryWait = retry.Wait

const (
	testKey    = "iimm_prod_TESTKEY0123456789"
	testSecret = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY="
	endpoint   = ProductionURL + "/v2/bill-presentment"
)

var aksb = Query{Account: "1234567890", Product: "AKSB"}

// harness is a Client on an httpmock transport, with waits recorded instead of
// slept and the sandbox's own verifier checking every request.
type harness struct {
	c         *Client
	mt        *httpmock.MockTransport
	shared    *Shared
	serverNow func() time.Time

	mu     sync.Mutex
	sleeps []time.Duration
	nonces []string
	sigs   []string
}

// NewTestClient is the one way a test builds a client: key and secret (the
// package's test credentials, or a sandbox's), a Shared of its own so that no
// test shares a quota count, a breaker or a drift alarm with another, then
// opts, and its idle connections closed when the test ends. It is exported
// for the package's external tests (harness_sandbox_test.go), and exists in
// the test binary only.
func NewTestClient(tb testing.TB, key, secret string, opts ...Option) *Client {
	tb.Helper()
	c, err := NewClient(key, secret, append([]Option{WithShared(NewShared())}, opts...)...)
	require.NoError(tb, err)
	tb.Cleanup(c.CloseIdleConnections)
	return c
}

// newTestClient is NewTestClient with the package's test credentials.
func newTestClient(tb testing.TB, opts ...Option) *Client {
	tb.Helper()
	return NewTestClient(tb, testKey, testSecret, opts...)
}

func newHarness(t *testing.T, opts ...Option) *harness {
	t.Helper()
	h := &harness{mt: httpmock.NewMockTransport(), shared: NewShared()}
	c := newTestClient(t, append([]Option{WithShared(h.shared), WithHTTPClient(&http.Client{Transport: h.mt})}, opts...)...)
	c.sleep = func(ctx context.Context, d time.Duration) error {
		h.mu.Lock()
		h.sleeps = append(h.sleeps, d)
		h.mu.Unlock()
		return ctx.Err()
	}
	h.c = c
	h.serverNow = time.Now
	return h
}

// freshOrigins gives a client a Shared of its own, so that a test's spent
// quota, open breaker or drift alarm is no other test's.
func freshOrigins() Option { return WithShared(NewShared()) }

// check returns "" when req is signed as the API requires, or its 401 message.
func (h *harness) check(req *http.Request) string {
	return verify.Request(req, nil, testKey, [][]byte{[]byte("secret-key-for-tests-only-123456")}, h.serverNow(), verify.DefaultTolerance)
}

// respond registers a responder for the endpoint that first checks the request
// is signed correctly and records its nonce and signature.
func (h *harness) respond(t *testing.T, r httpmock.Responder) {
	h.mt.RegisterResponder(http.MethodGet, endpoint, func(req *http.Request) (*http.Response, error) {
		assert.Empty(t, h.check(req), "request must be signed")
		h.mu.Lock()
		h.nonces = append(h.nonces, req.Header.Get("X-Nonce"))
		h.sigs = append(h.sigs, req.Header.Get("X-Signature"))
		h.mu.Unlock()
		return r(req)
	})
}

func jsonResponder(status int, body []byte) httpmock.Responder {
	return func(*http.Request) (*http.Response, error) {
		resp := httpmock.NewBytesResponse(status, body)
		resp.Header.Set("Content-Type", "application/json")
		return resp, nil
	}
}

// payHarness answers POST /v2/topup with answers in turn (the last stays),
// checking each request is signed over its body.
func payHarness(t *testing.T, answers ...func() (*http.Response, error)) *harness {
	t.Helper()
	h := newHarness(t)
	var mu sync.Mutex
	n := 0
	h.mt.RegisterResponder(http.MethodPost, ProductionURL+paymentPath, func(req *http.Request) (*http.Response, error) {
		body, _ := io.ReadAll(req.Body)
		assert.Empty(t, verifyBody(h, req, body), "request must be signed over its body")
		mu.Lock()
		a := answers[min(n, len(answers)-1)]
		n++
		mu.Unlock()
		return a()
	})
	return h
}

func verifyBody(h *harness, req *http.Request, body []byte) string {
	return verify.Request(req, body, testKey, [][]byte{[]byte("secret-key-for-tests-only-123456")}, h.serverNow(), verify.DefaultTolerance)
}

func reply(status int, body string) func() (*http.Response, error) {
	return func() (*http.Response, error) { return httpmock.NewStringResponse(status, body), nil }
}

// guarded is a harness whose client has the quota guard on a fake clock.
func guarded(t *testing.T, opts ...Option) (*harness, *quota.FakeClock) {
	t.Helper()
	h := newHarness(t, append([]Option{WithMaxRetries(4)}, opts...)...)
	require.NotNil(t, h.c.guard)
	clock := quota.NewFakeClock(time.Unix(1_750_000_000, 0))
	h.c.guard.SetClock(clock)
	return h, clock
}

func golden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "responses", name))
	require.NoError(t, err)
	return b
}

// rawServer is a TCP listener on loopback that hands every connection, after
// reading its request, to handle: it can misbehave in ways net/http cannot.
type rawServer struct {
	URL      string
	attempts atomic.Int32
	mu       sync.Mutex
	sigs     []string
}

func startRaw(t *testing.T, handle func(c net.Conn, req *http.Request)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &rawServer{URL: "http://" + ln.Addr().String()}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				for { // serve keep-alive requests until the client leaves
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					s.attempts.Add(1)
					s.mu.Lock()
					s.sigs = append(s.sigs, strings.TrimPrefix(req.Header.Get("X-Signature"), "v1="))
					s.mu.Unlock()
					if !handleKeepsConn(c, req, handle) {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return s
}

// handleKeepsConn runs handle and reports whether it answered with a complete
// response (writeResponse), after which the connection can serve another request.
func handleKeepsConn(c net.Conn, req *http.Request, handle func(net.Conn, *http.Request)) (keep bool) {
	kc := &keepTracker{Conn: c}
	handle(kc, req)
	return kc.keep
}

func writeResponse(c net.Conn, status int, headers []string, body string) {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	_, _ = io.WriteString(c, b.String())
	if kt, ok := c.(*keepTracker); ok {
		kt.keep = true
	}
}

func reset(c net.Conn) {
	if kt, ok := c.(*keepTracker); ok {
		c = kt.Conn
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close with RST, not FIN
	}
	_ = c.Close()
}

// faultClient is a client with the default transport, short timeouts and a
// debug logger writing to logs.
func faultClient(t *testing.T, base string, logs *bytes.Buffer, opts ...Option) *Client {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return newTestClient(t, append([]Option{
		WithBaseURL(base), WithTimeout(300 * time.Millisecond),
		WithRetryBackoff(time.Millisecond, 5*time.Millisecond), WithLogger(logger),
	}, opts...)...)
}

func validBody(t *testing.T) string { return string(golden(t, "valid_aksb.json")) }

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

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// invalidEnvelope is the API's answer for an invalid account, the one answer
// that must always block.
const invalidEnvelope = `{"data":{"message":"Invalid account no","Outstanding":null},"metadata":{"status_code":400,"product_code":"AKSB"},"error_message":"Invalid account no"}`
