package verify_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/internal/verify"
)

var key = []byte("secret-key-for-tests-only-123456")

func TestRequestRefusesEveryTamper(t *testing.T) {
	now := time.Unix(1_750_000_000, 0)
	s, err := iimmpact.NewSigner("iimm_dev_key", "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY=")
	require.NoError(t, err)
	s.Now = func() time.Time { return now }
	req, err := http.NewRequest(http.MethodGet, "https://x/v2/bill-presentment?product=AKSB&account=1+2", nil)
	require.NoError(t, err)
	require.NoError(t, s.Sign(req))
	check := func(r *http.Request) string {
		return verify.Request(r, nil, "iimm_dev_key", [][]byte{[]byte("other-key"), key}, now, verify.DefaultTolerance)
	}
	require.Equal(t, "", check(req), "a second key, as during a rotation, is tried too")

	ts := func(v string) func(r *http.Request) { return func(r *http.Request) { r.Header.Set("X-Timestamp", v) } }
	tamper := []struct {
		name string
		edit func(r *http.Request)
		want string
	}{
		{"query value", func(r *http.Request) { r.URL.RawQuery = "product=AKSB&account=1+3" }, verify.BadSignature},
		{"query added", func(r *http.Request) { r.URL.RawQuery += "&ref2=x" }, verify.BadSignature},
		{"method", func(r *http.Request) { r.Method = http.MethodPost }, verify.BadSignature},
		{"nonce", func(r *http.Request) { r.Header.Set("X-Nonce", "ffffffffffffffffffff") }, verify.BadSignature},
		{"timestamp", ts(fmt.Sprint(now.Unix() + 1)), verify.BadSignature},
		{"stale timestamp", ts(fmt.Sprint(now.Add(-6 * time.Minute).Unix())), verify.BadTimestamp},
		{"future timestamp", ts(fmt.Sprint(now.Add(6 * time.Minute).Unix())), verify.BadTimestamp},
		{"timestamp with a plus", ts(fmt.Sprint("+", now.Unix())), verify.BadTimestamp},
		{"timestamp with leading zeros", ts(fmt.Sprint("000", now.Unix())), verify.BadTimestamp},
		{"timestamp not a number", ts("soon"), verify.BadTimestamp},
		{"short nonce", func(r *http.Request) { r.Header.Set("X-Nonce", "short") }, verify.BadNonce},
		{"long nonce", func(r *http.Request) { r.Header.Set("X-Nonce", strings.Repeat("n", 129)) }, verify.BadNonce},
		{"16 bytes but 8 characters", func(r *http.Request) { r.Header.Set("X-Nonce", strings.Repeat("é", 8)) }, verify.BadNonce},
		{"other key", func(r *http.Request) { r.Header.Set("X-Api-Key", "iimm_dev_other") }, verify.UnknownKey},
		{"no signature", func(r *http.Request) { r.Header.Del("X-Signature") }, verify.MissingHeaders},
		{"no v1 prefix", func(r *http.Request) {
			r.Header.Set("X-Signature", strings.TrimPrefix(r.Header.Get("X-Signature"), "v1="))
		}, verify.BadSignature},
		{"bad base64", func(r *http.Request) { r.Header.Set("X-Signature", "v1=***") }, verify.BadSignature},
	}
	for _, tt := range tamper {
		t.Run(tt.name, func(t *testing.T) {
			r := req.Clone(req.Context())
			tt.edit(r)
			assert.Equal(t, tt.want, check(r))
		})
	}
	t.Run("body hash", func(t *testing.T) {
		assert.Equal(t, verify.BadSignature, verify.Request(req, []byte("x"), "iimm_dev_key", [][]byte{key}, now, verify.DefaultTolerance))
	})
}

func TestNoncesExpireInOrder(t *testing.T) {
	n := verify.NewNonces(time.Minute)
	t0 := time.Unix(0, 0)
	assert.True(t, n.Add("a", t0))
	assert.False(t, n.Add("a", t0.Add(time.Second)), "a replay within the window")
	for i := range 1000 {
		assert.True(t, n.Add(fmt.Sprint("n", i), t0.Add(30*time.Second)))
	}
	assert.Equal(t, 1001, n.Len())
	assert.True(t, n.Add("b", t0.Add(2*time.Minute)), "the others have expired")
	assert.Equal(t, 1, n.Len(), "expired nonces are forgotten")
	assert.True(t, n.Add("a", t0.Add(2*time.Minute)), "an expired nonce is refused by the timestamp window, not here")
}
