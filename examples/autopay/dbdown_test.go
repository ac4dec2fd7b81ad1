package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact/iimmpacttest"
	"github.com/iimmpact-go/iimmpact/ledger/ledgertest"
)

// tcpProxy forwards connections to a server until cut, which closes the
// listener and every connection: the database goes away.
type tcpProxy struct {
	ln    net.Listener
	to    string
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, to string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &tcpProxy{ln: ln, to: to}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.to)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); _, _ = io.Copy(s, c); s.Close() }()
		go func() { defer p.wg.Done(); _, _ = io.Copy(c, s); c.Close() }()
	}
}

func (p *tcpProxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// When the database goes away mid-run, the payment in flight finishes, no
// other request is sent, and autopay exits 3 within a minute, saying why.
// The run after, with the database back, pays the rest, each once.
func TestTheDatabaseGoingAwayStopsTheSending(t *testing.T) {
	pg := os.Getenv("IIMMPACT_TEST_POSTGRES")
	if pg == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI sets IIMMPACT_TEST_POSTGRES")
		}
		t.Skip("IIMMPACT_TEST_POSTGRES is not set: no database to take away")
	}
	db := ledgertest.Postgres(t, pg)
	u, err := url.Parse(db)
	require.NoError(t, err)
	proxy := startProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()

	srv := iimmpacttest.NewHandler()
	var payments, afterCut atomic.Int32
	var cut atomic.Bool
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cut.Load() {
			afterCut.Add(1)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, r)
		if r.URL.Path == "/v2/topup" && payments.Add(1) == 3 {
			proxy.cut() // the database goes away while the third payment is in flight
			cut.Store(true)
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	defer front.Close()
	t.Setenv("IIMMPACT_API_KEY", srv.APIKey)
	t.Setenv("IIMMPACT_HMAC_SECRET", srv.HMACSecret)
	t.Setenv("IIMMPACT_BASE_URL", front.URL)

	var csv strings.Builder
	csv.WriteString(header)
	for i := range 8 {
		csv.WriteString("m" + string(rune('a'+i)) + ",DIGI,012345670" + string(rune('0'+i)) + ",,,,50.00,5.00\n")
	}
	in := writeFile(t, csv.String())
	out := filepath.Join(t.TempDir(), "r.jsonl")
	start := time.Now()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-instructions", in, "-out", out, "-db", u.String(), "-workers", "1", "-period", "2026-12", "-lease", "3s"},
		strings.NewReader(""), &stdout, &stderr)
	took := time.Since(start)
	assert.Equal(t, exitAgain, code, stderr.String())
	assert.Less(t, took, time.Minute, "it exits within a minute")
	assert.Contains(t, stderr.String(), "the ledger failed")
	assert.Zero(t, afterCut.Load(), "nothing is sent after the database went away")
	assert.Equal(t, int32(3), payments.Load())
	t.Logf("exited %d after %s", code, took.Round(time.Millisecond))

	code, errOut := runAutopay(t, "-instructions", in, "-out", out, "-db", db, "-workers", "1", "-period", "2026-12", "-lease", "3s")
	assert.Equal(t, exitOK, code, errOut, "the first run's claims, never released, are taken over after their lease")
	for i := range 8 {
		assert.Equal(t, 1, srv.Charges("012345670"+string(rune('0'+i))))
	}
	assert.Equal(t, 8, srv.Payments())
	last := ledgerStates(t, db, "2026-12")
	assert.Equal(t, statusPaid, last["mc"].Status, "the payment in flight, recorded as sent, asked about and found paid")
}
