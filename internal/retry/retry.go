// Package retry holds the client's retry primitives, each small enough to test
// alone: which failures to retry, Retry-After parsing, capped backoff with
// jitter, a context-aware wait and a client-wide retry budget.
package retry

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The client's retry settings, all in one place.
const (
	// DefaultMaxRetries is how many times a failed attempt is retried.
	DefaultMaxRetries = 2
	// MaxRetriesLimit keeps a typo from turning into a retry storm.
	MaxRetriesLimit = 10
	// MaxRetryAfter clamps the server's Retry-After.
	MaxRetryAfter = 30 * time.Second
	// budgetTokens and budgetRefill size the Budget: ten failed attempts in a
	// row, and about fifty successes to earn back the right to retry.
	budgetTokens = 10
	budgetRefill = 0.1
)

// DefaultBackoff waits 100-200 ms before the first retry, doubling to at most 4 s.
var DefaultBackoff = Backoff{Base: 200 * time.Millisecond, Max: 4 * time.Second}

// Status reports whether an HTTP status is worth another attempt: 429, 500, 502,
// 503 and 504. Every other 4xx is final; a 403 in particular may be the API's IP
// block, which retrying makes longer.
func Status(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// Error reports whether a transport error is worth another attempt: any error,
// unless the caller's context has ended (its cancellation is never retried) or
// the server's certificate was refused, which no retry can change.
func Error(ctx context.Context, err error) bool {
	var certErr *tls.CertificateVerificationError
	return err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) && !errors.As(err, &certErr)
}

// ParseRetryAfter reads a Retry-After value, delay-seconds or an HTTP date,
// relative to now. A negative result is reported as 0; ok is false when the value
// is missing or unreadable.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0, true
		}
		if secs > int64(24*time.Hour/time.Second) { // avoid overflowing Duration
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
		return 0, true
	}
	return 0, false
}

// Backoff is exponential backoff with a cap and "equal jitter": the delay before
// retry n (from 1) is between half and all of min(Base·2ⁿ⁻¹, Max).
type Backoff struct {
	Base, Max time.Duration
}

// Delay returns the wait before retry n, with r in [0, 1) choosing the jitter.
func (b Backoff) Delay(n int, r float64) time.Duration {
	d := b.Base
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	if d > b.Max {
		d = b.Max
	}
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + time.Duration(r*float64(d-half))
}

// Wait waits for d or until ctx ends, whichever is first, and returns ctx's error
// in the second case.
func Wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Budget limits retries across a whole client so that retries cannot multiply an
// outage. It is gRPC's retry throttling: a bucket of tokens; each failed attempt
// takes one, each success gives back a tenth; a retry is allowed only while more
// than half the bucket is left. A dead upstream then costs one attempt a call,
// not 1+MaxRetries.
type Budget struct {
	mu     sync.Mutex
	tokens float64
}

// NewBudget returns a full bucket.
func NewBudget() *Budget { return &Budget{tokens: budgetTokens} }

// Record records an attempt's result: ok is false for a failure worth a retry.
func (b *Budget) Record(ok bool) {
	b.mu.Lock()
	if ok {
		b.tokens = min(budgetTokens, b.tokens+budgetRefill)
	} else {
		b.tokens = max(0, b.tokens-1)
	}
	b.mu.Unlock()
}

// Allows reports whether a retry is allowed now.
func (b *Budget) Allows() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tokens > budgetTokens/2
}
