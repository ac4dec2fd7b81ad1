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
		srv := iimmpacttest.NewHandler()
		srv.SetProduct("DIGI", iimmpacttest.Unavailable())
		srv.SetBalance("100000.00")
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(latency) // the network and the vendor, 50 ms away
			srv.ServeHTTP(w, r)
		}))
		b.Setenv("IIMMPACT_API_KEY", srv.APIKey)
		b.Setenv("IIMMPACT_HMAC_SECRET", srv.HMACSecret)
		b.Setenv("IIMMPACT_BASE_URL", front.URL)
		var csv strings.Builder
		csv.WriteString(header)
		for i := range n {
			fmt.Fprintf(&csv, "i%03d,DIGI,01%08d,,,,50.00,5.00\n", i, i)
		}
		dir := b.TempDir()
		in := filepath.Join(dir, "in.csv")
		if err := writeBytes(in, csv.String()); err != nil {
			b.Fatal(err)
		}
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

func writeBytes(path, text string) error { return os.WriteFile(path, []byte(text), 0o600) }
