package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

// BenchmarkPacedPayments runs autopay over 400 instructions with -workers 32
// and -quota 100/1s against a sandbox 50 ms away, and reports its time as a
// multiple of what the quota allows: 802 requests (400 bills, 400 payments,
// the wallet before and after) at 100 a second are admitted over 8 s, the
// last answered 50 ms later. Every instruction must be paid in the one run.
//
//	go test -run '^$' -bench PacedPayments -benchtime 1x ./autopay   (in examples/)
func BenchmarkPacedPayments(b *testing.B) {
	const n, latency = 400, 50 * time.Millisecond
	quotaAllows := time.Duration((2*n+2-1)/100)*time.Second + latency
	for range b.N {
		srv, front, in := benchRun(b, n, latency)
		b.Setenv("IIMMPACT_API_KEY", srv.APIKey)
		b.Setenv("IIMMPACT_HMAC_SECRET", srv.HMACSecret)
		b.Setenv("IIMMPACT_BASE_URL", front.URL)
		dir := filepath.Dir(in)
		var stdout, stderr bytes.Buffer
		start := time.Now()
		code := run(context.Background(), []string{"-instructions", in, "-out", filepath.Join(dir, "r.jsonl"), "-workers", "32", "-quota", "100/1s"},
			strings.NewReader(""), &stdout, &stderr)
		took := time.Since(start)
		front.Close()
		if code != exitOK || srv.Payments() != n {
			b.Fatalf("exit %d, %d payments of %d:\n%s", code, srv.Payments(), n, stderr.String())
		}
		b.ReportMetric(took.Seconds(), "s/run")
		b.ReportMetric(took.Seconds()/quotaAllows.Seconds(), "x-quota-time")
	}
}

// benchRun is a paced run's setting: a sandbox latency away whose wallet
// pays every payment, and n instructions of a fixed amount, each its own
// account, in a file.
func benchRun(b *testing.B, n int, latency time.Duration) (*iimmpacttest.Server, *httptest.Server, string) {
	srv := iimmpacttest.NewHandler()
	srv.SetProduct("DIGI", iimmpacttest.Unavailable())
	srv.SetBalance("100000.00")
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(latency) // the network and the vendor, latency away
		srv.ServeHTTP(w, r)
	}))
	var csv strings.Builder
	csv.WriteString(header)
	for i := range n {
		fmt.Fprintf(&csv, "i%03d,DIGI,01%08d,,,,50.00,5.00\n", i, i)
	}
	in := filepath.Join(b.TempDir(), "in.csv")
	if err := os.WriteFile(in, []byte(csv.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return srv, front, in
}
