// Package signalfront is for the examples' tests: a loopback front before a
// sandbox of the test's own that sends the tool its SIGTERM (ends a context)
// as the nth request arrives, and counts what arrives after it, which must be
// nothing.
package signalfront

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

// Front is the sandbox, its front, and the signal.
type Front struct {
	Sandbox *iimmpacttest.Server
	// Signalled ends as the nth request arrives: give it to the tool's run
	// as the signal's context.
	Signalled       context.Context
	arrivals, after atomic.Int32
}

// Start starts the front, closed when the test ends, and points the
// IIMMPACT_ variables at it, so the tool talks to it as to IIMMPACT.
func Start(t testing.TB, n int) *Front {
	f := &Front{Sandbox: iimmpacttest.NewHandler()}
	signalled, signal := context.WithCancel(context.Background())
	t.Cleanup(signal)
	f.Signalled = signalled
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if signalled.Err() != nil {
			f.after.Add(1)
		}
		if int(f.arrivals.Add(1)) == n {
			signal() // SIGTERM, with this request in flight and the rest waiting
		}
		f.Sandbox.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	t.Setenv("IIMMPACT_API_KEY", f.Sandbox.APIKey)
	t.Setenv("IIMMPACT_HMAC_SECRET", f.Sandbox.HMACSecret)
	t.Setenv("IIMMPACT_BASE_URL", front.URL)
	return f
}

// Arrivals is how many requests reached the front.
func (f *Front) Arrivals() int { return int(f.arrivals.Load()) }

// After is how many arrived after the signal.
func (f *Front) After() int { return int(f.after.Load()) }
