package ledger

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iimmpact-go/iimmpact"
)

// BenchmarkRecord records a payment's intent and its answer, as a payment
// does, on each backend, and reports payments recorded a second (the target:
// at least 1,000, a tenth of a payment's round trip at most).
//
//	IIMMPACT_TEST_POSTGRES=postgres://… go test -run '^$' -bench Record ./ledger
func BenchmarkRecord(b *testing.B) {
	for name, open := range backends(b) {
		b.Run("backend="+name, func(b *testing.B) {
			l := open(b)
			ctx := context.Background()
			paid := &iimmpact.Transaction{Status: iimmpact.TransactionSucceeded, Code: 20}
			var n atomic.Int64
			b.SetParallelism(4) // 8 recorders on 2 cores, as a job's workers record
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					p := tnb
					p.RefID = fmt.Sprintf("bench-%d", n.Add(1))
					if _, err := l.Intent(ctx, p); err != nil {
						b.Error(err)
						return
					}
					if _, err := l.Answer(ctx, p.RefID, paid, nil); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "payments/s")
		})
	}
}
