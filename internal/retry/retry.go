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
// outage. It is gRPC's retry throttling: a bucket of Max tokens; each failed
// attempt takes one, each success gives back Ratio; a retry is allowed only while
// more than half the bucket is left. A dead upstream then costs one attempt a
// call, not 1+MaxRetries. The zero value is not usable; use NewBudget.
type Budget struct {
	mu     sync.Mutex
	tokens float64
	max    float64
	ratio  float64
}

// NewBudget returns a full bucket of max tokens that refills ratio per success.
func NewBudget(max, ratio float64) *Budget {
	return &Budget{tokens: max, max: max, ratio: ratio}
}

// Success records a successful call.
func (b *Budget) Success() {
	b.mu.Lock()
	b.tokens = min(b.max, b.tokens+b.ratio)
	b.mu.Unlock()
}

// Failure records a failed attempt and reports whether a retry is allowed.
func (b *Budget) Failure() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens = max(0, b.tokens-1)
	return b.tokens > b.max/2
}
