package iimmpact_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

// The harness every external test builds its client with: iimmpact.NewTestClient
// (harness_test.go) before a sandbox of the test's own, behind a hostile front
// that may pass, drop, stall or rewrite each answer after the sandbox acted.

var tnbPayment = iimmpact.Payment{RefID: "order-1001", Product: "TNB", Account: "220012345678", Amount: "45.94"}

// hostile is a loopback server in front of the sandbox: the sandbox acts on
// every request (it takes the payment), then hostile answers as fault says
// for the n-th request (from 0): "pass" the sandbox's answer, "drop" the
// connection, "503", "stall" until the client goes, or a whole raw answer.
type hostile struct {
	*httptest.Server
	sandbox *iimmpacttest.Server
	mu      sync.Mutex
	n       int
	fault   func(n int, sandboxBody []byte) (status int, body string)
}

const (
	pass  = -1
	drop  = -2
	stall = -3
)

func startHostile(t *testing.T, fault func(n int, sandboxBody []byte) (int, string), opts ...iimmpacttest.Option) *hostile {
	t.Helper()
	h := &hostile{sandbox: iimmpacttest.NewHandler(opts...), fault: fault}
	h.Server = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.Close)
	return h
}

func (h *hostile) serve(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	h.sandbox.ServeHTTP(rec, r)
	h.mu.Lock()
	n := h.n
	h.n++
	h.mu.Unlock()
	status, body := h.fault(n, rec.Body.Bytes())
	switch status {
	case pass:
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	case drop:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	case stall:
		<-r.Context().Done()
	default:
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func (h *hostile) client(t *testing.T, opts ...iimmpact.Option) *iimmpact.Client {
	t.Helper()
	return iimmpact.NewTestClient(t, h.sandbox.APIKey, h.sandbox.HMACSecret, append([]iimmpact.Option{
		iimmpact.WithBaseURL(h.URL), iimmpact.WithRetryBackoff(time.Millisecond, 2*time.Millisecond),
		iimmpact.WithTimeout(2 * time.Second)}, opts...)...)
}

// arrivals is how many requests reached the front.
func (h *hostile) arrivals() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// topups returns the payment requests the sandbox received.
func topups(s *iimmpacttest.Server) []iimmpacttest.Request {
	var out []iimmpacttest.Request
	for _, r := range s.Requests() {
		if r.Path == "/v2/topup" {
			out = append(out, r)
		}
	}
	return out
}

func always(status int) func(int, []byte) (int, string) {
	return func(int, []byte) (int, string) { return status, "" }
}

var aksb = iimmpact.Query{Product: "AKSB", Account: "1234567890"}
