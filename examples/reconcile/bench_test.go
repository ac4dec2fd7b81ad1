package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

// BenchmarkReconcile100k reconciles 100,000 history rows (100 pages) and
// 100,000 statement lines (1,000 pages) against 100,000 records of a CSV,
// over the sandbox on loopback, and reports the run's time, its requests,
// and the heap in use after it (the records are held; the history and the
// statement stream a page at a time).
//
//	go test -run '^$' -bench Reconcile100k -benchtime 1x ./reconcile   (in examples/)
func BenchmarkReconcile100k(b *testing.B) {
	const n = 100_000
	for range b.N {
		srv := iimmpacttest.NewServer()
		var csv strings.Builder
		csv.WriteString("refid,product,account,amount,status\n")
		for i := range n {
			refid, account := fmt.Sprintf("shop-%06d", i), fmt.Sprintf("01%08d", i)
			srv.PayOutside(refid, "DIGI", account, "5.00")
			fmt.Fprintf(&csv, "%s,DIGI,%s,5.00,paid\n", refid, account)
		}
		dir := b.TempDir()
		in := filepath.Join(dir, "recs.csv")
		if err := os.WriteFile(in, []byte(csv.String()), 0o600); err != nil {
			b.Fatal(err)
		}
		b.Setenv("IIMMPACT_API_KEY", srv.APIKey)
		b.Setenv("IIMMPACT_HMAC_SECRET", srv.HMACSecret)
		b.Setenv("IIMMPACT_BASE_URL", srv.URL)
		var stdout, stderr bytes.Buffer
		start := time.Now()
		code := run(context.Background(), []string{"-records", in, "-from", "today", "-out", filepath.Join(dir, "r.jsonl")}, strings.NewReader(""), &stdout, &stderr)
		took := time.Since(start)
		requests := len(srv.Requests())
		srv.Close()
		if code != exitOK {
			b.Fatalf("exit %d:\n%s", code, stderr.String())
		}
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		b.ReportMetric(took.Seconds(), "s/run")
		b.ReportMetric(float64(requests), "requests")
		b.ReportMetric(float64(m.HeapInuse)/(1<<20), "MiB-heap-after")
	}
}
