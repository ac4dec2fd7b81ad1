package iimmpact

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// signatures returns the signatures the server received.
func (s *rawServer) signatures() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sigs...)
}

type keepTracker struct {
	net.Conn
	keep bool
}

func TestFaults(t *testing.T) {
	var logs bytes.Buffer
	var allErrs []error
	var allSigs []string
	tests := []struct {
		name     string
		handle   func(c net.Conn, req *http.Request)
		attempts int32
		check    func(t *testing.T, bill *Bill, err error)
	}{
		{"reset before headers", func(c net.Conn, _ *http.Request) { reset(c) }, 3, func(t *testing.T, _ *Bill, err error) {
			assert.Error(t, err)
		}},
		{"reset mid-body", func(c net.Conn, _ *http.Request) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 400\r\n\r\n"+validBody(t)[:100])
			reset(c)
		}, 3, func(t *testing.T, _ *Bill, err error) { assert.Error(t, err) }},
		{"headers never finish", func(c net.Conn, _ *http.Request) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
			_, _ = io.Copy(io.Discard, c) // until the client gives up
		}, 3, func(t *testing.T, _ *Bill, err error) { assert.ErrorIs(t, err, context.DeadlineExceeded) }},
		{"body trickles slower than the timeout", func(c net.Conn, _ *http.Request) {
			body := validBody(t)
			_, _ = fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(body))
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for i := range len(body) {
				<-tick.C
				if _, err := io.WriteString(c, body[i:i+1]); err != nil {
					return
				}
			}
		}, 3, func(t *testing.T, _ *Bill, err error) { assert.ErrorIs(t, err, context.DeadlineExceeded) }},
		{"content-length longer than body", func(c net.Conn, _ *http.Request) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"+validBody(t)[:100])
		}, 3, func(t *testing.T, _ *Bill, err error) { assert.ErrorIs(t, err, io.ErrUnexpectedEOF) }},
		{"gzip that is not gzip", func(c net.Conn, _ *http.Request) {
			writeResponse(c, 200, []string{"Content-Encoding: gzip"}, validBody(t))
		}, 3, func(t *testing.T, _ *Bill, err error) { assert.ErrorContains(t, err, "gzip") }},
		{"wrong content type, JSON body", func(c net.Conn, _ *http.Request) {
			writeResponse(c, 200, []string{"Content-Type: text/plain"}, validBody(t))
		}, 1, func(t *testing.T, bill *Bill, err error) {
			require.NoError(t, err, "the body decides, not the label")
			assert.Equal(t, ActionShow, bill.Decision().Action)
		}},
		{"HTML page with 200", func(c net.Conn, _ *http.Request) {
			writeResponse(c, 200, []string{"Content-Type: text/html"}, "<html><body>Maintenance</body></html>")
		}, 1, func(t *testing.T, _ *Bill, err error) { assert.ErrorIs(t, err, ErrMalformedResponse) }},
		{"HTML error page", func(c net.Conn, _ *http.Request) {
			writeResponse(c, 502, []string{"Content-Type: text/html"}, string(golden(t, "bad_gateway.html")))
		}, 3, func(t *testing.T, _ *Bill, err error) {
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, 502, apiErr.StatusCode)
			assert.Contains(t, apiErr.Error(), "502 Bad Gateway")
		}},
		{"oversized headers", func(c net.Conn, _ *http.Request) {
			writeResponse(c, 200, []string{"X-Flood: " + strings.Repeat("a", 512<<10)}, validBody(t))
		}, 3, func(t *testing.T, _ *Bill, err error) { assert.ErrorContains(t, err, "headers exceeded") }},
		{"oversized chunked body", func(c net.Conn, _ *http.Request) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
			chunk := strings.Repeat("x", 64<<10)
			for range 20 {
				if _, err := fmt.Fprintf(c, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
					return
				}
			}
		}, 1, func(t *testing.T, _ *Bill, err error) { assert.ErrorIs(t, err, ErrResponseTooLarge) }},
		{"429 with absurd Retry-After", func(c net.Conn, _ *http.Request) {
			writeResponse(c, 429, []string{"Retry-After: 86400"}, `{"message":"slow down"}`)
		}, 1, func(t *testing.T, _ *Bill, err error) {
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr, "clamped wait is still past the deadline: no retry")
			assert.Equal(t, 429, apiErr.StatusCode)
		}},
		{"401 is tried once", func(c net.Conn, _ *http.Request) {
			writeResponse(c, 401, nil, string(golden(t, "unauthorized.json")))
		}, 1, func(t *testing.T, _ *Bill, err error) { assert.ErrorContains(t, err, "API key not found") }},
		{"proxy echoes the credentials in a malformed status line", func(c net.Conn, req *http.Request) {
			// One token, so net/http quotes the whole line in its error.
			_, _ = io.WriteString(c, "X-Api-Key:"+req.Header.Get("X-Api-Key")+";"+req.Header.Get("X-Signature")+";"+req.URL.RawQuery+"\r\n\r\n")
		}, 3, func(t *testing.T, _ *Bill, err error) { assert.ErrorContains(t, err, "malformed HTTP") }},
		{"404 echoes the account", func(c net.Conn, req *http.Request) {
			writeResponse(c, 404, nil, `{"error":"not_found","message":"no route for `+req.URL.RequestURI()+` account `+aksb.Account+`"}`)
		}, 1, func(t *testing.T, _ *Bill, err error) { assert.ErrorContains(t, err, "404") }},
		{"500 echoes the request in HTML", func(c net.Conn, req *http.Request) {
			writeResponse(c, 500, []string{"X-Request-Id: " + aksb.Account}, "<pre>"+req.URL.RawQuery+"\n"+req.Header.Get("X-Api-Key")+"</pre>")
		}, 3, func(t *testing.T, _ *Bill, err error) { assert.ErrorContains(t, err, "500") }},
		{"refused redirect whose body echoes the account", func(c net.Conn, req *http.Request) {
			writeResponse(c, 302, []string{"Location: https://evil.example/?a=" + aksb.Account}, "Moved: "+req.URL.RawQuery)
		}, 1, func(t *testing.T, _ *Bill, err error) { assert.ErrorIs(t, err, ErrRedirect) }},
		{"403 is tried once", func(c net.Conn, _ *http.Request) {
			writeResponse(c, 403, nil, `{"error":"forbidden","message":"rate limit exceeded"}`)
		}, 1, func(t *testing.T, _ *Bill, err error) { assert.ErrorContains(t, err, "403") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startRaw(t, tt.handle)
			c := faultClient(t, srv.URL, &logs)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			bill, err := c.BillPresentment(ctx, aksb)
			tt.check(t, bill, err)
			if err != nil {
				assert.Nil(t, bill)
				assert.Equal(t, Decision{Action: ActionHide, CanProceed: true, Reason: ReasonError}, bill.Decision())
				allErrs = append(allErrs, err)
			}
			assert.Equal(t, tt.attempts, srv.attempts.Load())
			allSigs = append(allSigs, srv.signatures()...)
		})
	}

	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		c := faultClient(t, "http://"+addr, &logs)
		_, err = c.BillPresentment(context.Background(), aksb)
		assert.ErrorContains(t, err, "connection refused")
		allErrs = append(allErrs, err)
	})

	t.Run("no secret in any error, value or log", func(t *testing.T) {
		require.NotEmpty(t, allSigs)
		require.Contains(t, logs.String(), "level=DEBUG", "the debug logs were written")
		var out strings.Builder
		for _, err := range allErrs {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
				fmt.Fprintf(&out, verb+"\n", err)
			}
			var apiErr *APIError
			if errors.As(err, &apiErr) {
				fmt.Fprintf(&out, "%#v %+v\n", *apiErr, apiErr)
			}
			for e := err; e != nil; e = errors.Unwrap(e) {
				out.WriteString(e.Error() + "\n") // what a caller who unwraps would see
			}
		}
		out.WriteString(logs.String())
		for _, secret := range append([]string{"TESTKEY0123456789", testSecret, "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY", "secret-key-for-tests"}, allSigs...) {
			assert.NotContains(t, out.String(), secret)
		}
		assert.NotContains(t, out.String(), aksb.Account, "the account number is personal data")
	})
}

func Test503Storm(t *testing.T) {
	var logs bytes.Buffer
	srv := startRaw(t, func(c net.Conn, _ *http.Request) {
		writeResponse(c, 503, nil, `{"message":"unavailable"}`)
	})
	c := faultClient(t, srv.URL, &logs, WithMaxRetries(4))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := c.BillPresentment(ctx, aksb)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 5, apiErr.Attempts)
	assert.Equal(t, int32(5), srv.attempts.Load(), "within WithMaxRetries")
	assert.NoError(t, ctx.Err(), "finished within the context")
	assert.Len(t, uniq(srv.signatures()), 5, "every attempt has a new signature")
}

func TestRetryBudgetUnderConcurrentStorm(t *testing.T) {
	h := newHarness(t)
	h.respond(t, jsonResponder(503, nil))
	const goroutines, calls = 64, 10
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range calls {
				_, err := h.c.BillPresentment(context.Background(), aksb)
				assert.Error(t, err)
			}
		}()
	}
	wg.Wait()
	total := h.mt.GetTotalCallCount()
	// Without the budget: 640 calls × 3 attempts. With it, at most the 5 retries
	// that drain the bucket to half.
	assert.LessOrEqual(t, total, goroutines*calls+5)
	assert.GreaterOrEqual(t, total, goroutines*calls)
}

// TestConnectionsStayBoundedUnderMixedFaults makes a thousand calls that mix
// successes with every failure a connection survives or not, and checks that
// connections are reused: every new connection is explained by one the server or
// the client had to drop, or by concurrency.
func TestConnectionsStayBoundedUnderMixedFaults(t *testing.T) {
	var dropped, n atomic.Int32
	valid := golden(t, "valid_aksb.json")
	big := bytes.Repeat([]byte("x"), 1<<20+1)
	ts, opened := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) % 20 {
		case 1:
			w.WriteHeader(503)
		case 2:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(429)
		case 3:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(500)
			_, _ = w.Write(golden(t, "bad_gateway.html"))
		case 4:
			w.WriteHeader(401)
			_, _ = w.Write(golden(t, "unauthorized.json"))
		case 5:
			w.WriteHeader(403)
		case 6:
			w.WriteHeader(400)
			_, _ = w.Write(golden(t, "invalid_account_jompay.json"))
		case 7: // reset
			dropped.Add(1)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				reset(conn)
			}
		case 8: // too large: the client stops reading and drops the connection
			dropped.Add(1)
			_, _ = w.Write(big)
		case 9: // slower than the per-attempt timeout
			dropped.Add(1)
			<-r.Context().Done()
		default:
			_, _ = w.Write(valid)
		}
	}))

	var logs bytes.Buffer
	c := faultClient(t, ts.URL, &logs, WithTimeout(100*time.Millisecond))
	const goroutines, calls = 8, 125
	var wg sync.WaitGroup
	var failures atomic.Int32
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range calls {
				if _, err := c.BillPresentment(context.Background(), aksb); err != nil {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d calls, %d requests, %d failures, %d connections opened, %d dropped on purpose",
		goroutines*calls, n.Load(), failures.Load(), opened.Load(), dropped.Load())
	assert.Positive(t, failures.Load())
	// Each caller holds one connection, and net/http may dial a spare when a
	// caller asks in the instant before its last one is back in the pool (see
	// BENCHMARKS.md); beyond that, a new connection means one was leaked.
	assert.LessOrEqual(t, opened.Load(), dropped.Load()+2*goroutines,
		"every connection beyond those dropped, the callers' own and spares was a leak")
}
