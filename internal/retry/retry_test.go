package retry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestStatus(t *testing.T) {
	for code := 100; code < 600; code++ {
		want := code == 429 || code == 500 || code == 502 || code == 503 || code == 504
		assert.Equal(t, want, Status(code), "%d", code)
	}
}

func TestError(t *testing.T) {
	live := context.Background()
	assert.True(t, Error(live, errors.New("reset")))
	assert.True(t, Error(live, context.DeadlineExceeded), "a per-attempt timeout is retried")
	assert.False(t, Error(live, context.Canceled))
	assert.False(t, Error(live, nil))
	assert.False(t, Error(live, fmt.Errorf("get: %w", &tls.CertificateVerificationError{Err: errors.New("unknown authority")})), "a refused certificate stays refused")
	done, cancel := context.WithCancel(context.Background())
	cancel()
	assert.False(t, Error(done, errors.New("reset")), "never after the caller gave up")
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 5, 19, 7, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"soon", 0, false},
		{"1.5", 0, false},
		{"0", 0, true},
		{"-3", 0, true},
		{" 7 ", 7 * time.Second, true},
		{"999999999999999", 24 * time.Hour, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"Monday, 19-May-25 07:00:30 GMT", 30 * time.Second, true},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Base: 200 * time.Millisecond, Max: 4 * time.Second}
	tests := []struct {
		n      int
		lo, hi time.Duration
	}{
		{1, 100 * time.Millisecond, 200 * time.Millisecond},
		{2, 200 * time.Millisecond, 400 * time.Millisecond},
		{3, 400 * time.Millisecond, 800 * time.Millisecond},
		{6, 2 * time.Second, 4 * time.Second},
		{60, 2 * time.Second, 4 * time.Second},
		{1 << 30, 2 * time.Second, 4 * time.Second},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.lo, b.Delay(tt.n, 0), "n=%d r=0", tt.n)
		assert.Equal(t, tt.hi, b.Delay(tt.n, 1), "n=%d r=1", tt.n)
		mid := b.Delay(tt.n, 0.5)
		assert.True(t, mid > tt.lo && mid < tt.hi, "n=%d r=0.5: %s", tt.n, mid)
	}
	assert.Zero(t, Backoff{}.Delay(3, 0.5))
}

func TestWait(t *testing.T) {
	assert.NoError(t, Wait(context.Background(), 0))
	assert.NoError(t, Wait(context.Background(), time.Nanosecond))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, Wait(ctx, time.Hour), context.Canceled, "a cancelled context ends an hour's wait at once")
	assert.ErrorIs(t, Wait(ctx, 0), context.Canceled)
}

func TestBudget(t *testing.T) {
	b := NewBudget()
	allowed := 0
	for range 20 {
		b.Record(false)
		if b.Allows() {
			allowed++
		}
	}
	assert.Equal(t, 4, allowed, "9, 8, 7 and 6 tokens left allow a retry; 5 does not")
	for range 50 {
		b.Record(true)
	}
	b.Record(false)
	assert.False(t, b.Allows(), "5 tokens, one failure takes it to 4")
	for range 100 {
		b.Record(true)
	}
	b.Record(false)
	assert.True(t, b.Allows(), "refilled to the cap of 10; 9 left")
}
