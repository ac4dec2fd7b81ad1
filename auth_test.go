package iimmpact

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// vector is one line of testdata/signature/vectors.txt, made by make-vectors.sh
// with the vendor's openssl recipe.
type vector struct {
	name, secret, ts, nonce, method, query, want string
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	f, err := os.Open("testdata/signature/vectors.txt")
	require.NoError(t, err)
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), "|")
		require.Len(t, p, 7, "line %q", sc.Text())
		vs = append(vs, vector{p[0], p[1], p[2], p[3], p[4], p[5], p[6]})
	}
	require.NoError(t, sc.Err())
	require.Len(t, vs, 3)
	return vs
}

func TestSignMatchesOpenSSLVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			s, err := NewSigner("iimm_dev_vector", v.secret)
			require.NoError(t, err)
			ts, err := time.Parse(time.RFC3339, "1970-01-01T00:00:00Z")
			require.NoError(t, err)
			var unix int64
			_, err = fmt.Sscan(v.ts, &unix)
			require.NoError(t, err)
			s.Now = func() time.Time { return ts.Add(time.Duration(unix) * time.Second) }
			s.NewNonce = func() string { return v.nonce }

			// Build the request the way a caller would: the query percent-encoded
			// on the wire, decoded in the signature.
			values, err := url.ParseQuery(encodeLikeVector(v.query))
			require.NoError(t, err)
			req, err := http.NewRequest(v.method, "https://api.iimmpact.com/v2/bill-presentment?"+values.Encode(), nil)
			require.NoError(t, err)
			require.NoError(t, s.Sign(req))

			assert.Equal(t, v.want, req.Header.Get(HeaderSignature))
			assert.Equal(t, v.ts, req.Header.Get(HeaderTimestamp))
			assert.Equal(t, v.nonce, req.Header.Get(HeaderNonce))
			assert.Equal(t, "iimm_dev_vector", req.Header.Get(HeaderAPIKey))
			assert.Equal(t, v.query, CanonicalQuery(values))
		})
	}
}

// encodeLikeVector percent-encodes a decoded canonical query, the reverse of what
// the signature does, so the test feeds Sign a real wire query.
func encodeLikeVector(q string) string {
	if q == "" {
		return ""
	}
	var parts []string
	for _, kv := range strings.Split(q, "&") {
		k, v, _ := strings.Cut(kv, "=")
		parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
	}
	return strings.Join(parts, "&")
}

func TestEmptyBodyHash(t *testing.T) {
	assert.Equal(t, emptyBodyHash, BodyHash(nil))
	assert.Equal(t, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", BodyHash([]byte{}))
	assert.NotEqual(t, emptyBodyHash, BodyHash([]byte("x")))
}

func TestCanonicalString(t *testing.T) {
	got := CanonicalString("1", "abcdefghijklmnop", "get", "a=1", emptyBodyHash)
	assert.Equal(t, "v1:1:abcdefghijklmnop:GET:a=1:"+emptyBodyHash, got)
}

func TestCanonicalQuerySortsAndDecodes(t *testing.T) {
	v, err := url.ParseQuery("product=JOMPAY&account=a%2Fb+c&ref2=x%2By&biller_code=1&b=2&b=1")
	require.NoError(t, err)
	assert.Equal(t, "account=a/b c&b=2&b=1&biller_code=1&product=JOMPAY&ref2=x+y", CanonicalQuery(v))
	assert.Equal(t, "", CanonicalQuery(nil))
}

func TestNewSignerRejects(t *testing.T) {
	tests := []struct {
		name, key, secret, want string
	}{
		{"empty key", "", "c2VjcmV0", "API key is empty"},
		{"blank key", "  ", "c2VjcmV0", "API key is empty"},
		{"key with newline", "iimm\nx", "c2VjcmV0", "not allowed in an HTTP header"},
		{"empty secret", "k", "", "HMAC secret is empty"},
		{"not base64", "k", "not base64!!", "not valid Base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSigner(tt.key, tt.secret)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "not base64!!", "the secret must not be echoed")
		})
	}
}

func TestNewSignerAcceptsPaddedAndUnpadded(t *testing.T) {
	padded, err := NewSigner("k", "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY=")
	require.NoError(t, err)
	unpadded, err := NewSigner("k", "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY")
	require.NoError(t, err)
	assert.Equal(t, padded.key, unpadded.key)
	assert.Equal(t, []byte("secret-key-for-tests-only-123456"), padded.key)
}

func newFixedSigner(t *testing.T, now time.Time) *Signer {
	t.Helper()
	s, err := NewSigner("iimm_dev_key", "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY=")
	require.NoError(t, err)
	s.Now = func() time.Time { return now }
	return s
}

func signedRequest(t *testing.T, s *Signer, rawURL string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	require.NoError(t, err)
	require.NoError(t, s.Sign(req))
	return req
}

func TestSignThenVerify(t *testing.T) {
	now := time.Unix(1_750_000_000, 0)
	s := newFixedSigner(t, now)
	req := signedRequest(t, s, "https://x/v2/bill-presentment?product=AKSB&account=1+2")
	require.NoError(t, s.Verify(req, nil, 0))

	t.Run("distinct nonces", func(t *testing.T) {
		other := signedRequest(t, s, "https://x/v2/bill-presentment?product=AKSB&account=1+2")
		assert.NotEqual(t, req.Header.Get(HeaderNonce), other.Header.Get(HeaderNonce))
		assert.NotEqual(t, req.Header.Get(HeaderSignature), other.Header.Get(HeaderSignature))
		n := len(other.Header.Get(HeaderNonce))
		assert.True(t, n >= MinNonceLen && n <= MaxNonceLen, "nonce length %d", n)
	})

	tamper := []struct {
		name string
		edit func(r *http.Request)
		want error
	}{
		{"query value", func(r *http.Request) { r.URL.RawQuery = "product=AKSB&account=1+3" }, ErrSignatureMismatch},
		{"query added", func(r *http.Request) { r.URL.RawQuery += "&ref2=x" }, ErrSignatureMismatch},
		{"method", func(r *http.Request) { r.Method = http.MethodPost }, ErrSignatureMismatch},
		{"nonce", func(r *http.Request) { r.Header.Set(HeaderNonce, "ffffffffffffffffffff") }, ErrSignatureMismatch},
		{"timestamp", func(r *http.Request) {
			r.Header.Set(HeaderTimestamp, fmt.Sprint(now.Unix()+1))
		}, ErrSignatureMismatch},
		{"stale timestamp", func(r *http.Request) {
			r.Header.Set(HeaderTimestamp, fmt.Sprint(now.Add(-6*time.Minute).Unix()))
		}, ErrTimestampExpired},
		{"future timestamp", func(r *http.Request) {
			r.Header.Set(HeaderTimestamp, fmt.Sprint(now.Add(6*time.Minute).Unix()))
		}, ErrTimestampExpired},
		{"timestamp not a number", func(r *http.Request) { r.Header.Set(HeaderTimestamp, "soon") }, ErrTimestampExpired},
		{"short nonce", func(r *http.Request) { r.Header.Set(HeaderNonce, "short") }, ErrInvalidNonce},
		{"long nonce", func(r *http.Request) { r.Header.Set(HeaderNonce, strings.Repeat("n", 129)) }, ErrInvalidNonce},
		{"other key", func(r *http.Request) { r.Header.Set(HeaderAPIKey, "iimm_dev_other") }, ErrUnknownAPIKey},
		{"no signature", func(r *http.Request) { r.Header.Del(HeaderSignature) }, ErrMissingAuth},
		{"no v1 prefix", func(r *http.Request) {
			r.Header.Set(HeaderSignature, strings.TrimPrefix(r.Header.Get(HeaderSignature), "v1="))
		}, ErrInvalidSignature},
		{"v2 prefix", func(r *http.Request) {
			r.Header.Set(HeaderSignature, "v2="+strings.TrimPrefix(r.Header.Get(HeaderSignature), "v1="))
		}, ErrInvalidSignature},
		{"bad base64", func(r *http.Request) { r.Header.Set(HeaderSignature, "v1=***") }, ErrInvalidSignature},
	}
	for _, tt := range tamper {
		t.Run(tt.name, func(t *testing.T) {
			r := req.Clone(req.Context())
			tt.edit(r)
			err := s.Verify(r, nil, 0)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.want)
			assert.NotContains(t, err.Error(), req.Header.Get(HeaderSignature)[3:])
		})
	}

	t.Run("body is signed", func(t *testing.T) {
		post, err := http.NewRequest(http.MethodPost, "https://x/v2/other", strings.NewReader(`{"a":1}`))
		require.NoError(t, err)
		require.NoError(t, s.Sign(post))
		assert.NoError(t, s.Verify(post, []byte(`{"a":1}`), 0))
		assert.ErrorIs(t, s.Verify(post, []byte(`{"a":2}`), 0), ErrSignatureMismatch)
	})
}

func TestSignRefusesBadNonceSource(t *testing.T) {
	s := newFixedSigner(t, time.Unix(1, 0))
	for _, nonce := range []string{"", "short", strings.Repeat("x", 129), "sixteen-chars-\n-"} {
		s.NewNonce = func() string { return nonce }
		req, err := http.NewRequest(http.MethodGet, "https://x/", nil)
		require.NoError(t, err)
		assert.ErrorIs(t, s.Sign(req), ErrInvalidNonce, "nonce %q", nonce)
		assert.Empty(t, req.Header.Get(HeaderSignature))
	}
}

func TestSignAndVerifyRefuseIncompleteRequests(t *testing.T) {
	s := newFixedSigner(t, time.Unix(1, 0))
	assert.Error(t, s.Sign(nil))
	assert.Error(t, s.Sign(&http.Request{}))
	bare := &http.Request{Method: http.MethodGet, URL: &url.URL{RawQuery: "a=1"}}
	require.NoError(t, s.Sign(bare), "a nil Header is made, not a panic")
	assert.NotEmpty(t, bare.Header.Get(HeaderSignature))
	assert.ErrorIs(t, s.Verify(nil, nil, 0), ErrMissingAuth)
	assert.ErrorIs(t, s.Verify(&http.Request{}, nil, 0), ErrMissingAuth)
	assert.ErrorIs(t, s.Verify(&http.Request{URL: &url.URL{}}, nil, 0), ErrMissingAuth)
}

func TestSignerNeverPrintsCredentials(t *testing.T) {
	const key, secret = "iimm_prod_TOPSECRETKEY", "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY="
	s, err := NewSigner(key, secret)
	require.NoError(t, err)
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("signer", "s", s, "v", *s)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("signer", "s", s)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		out := fmt.Sprintf(verb, s) + fmt.Sprintf(verb, *s) + logs.String()
		assert.NotContains(t, out, "TOPSECRETKEY", verb)
		assert.NotContains(t, out, secret, verb)
		assert.NotContains(t, out, "secret-key-for-tests", verb)
	}
	assert.Contains(t, s.String(), "iimm_prod_")
}

func TestParseSignatureHeader(t *testing.T) {
	good := "v1=" + strings.Repeat("A", 43) + "="
	sig, err := ParseSignatureHeader(good)
	require.NoError(t, err)
	assert.Len(t, sig, 32)
	for _, bad := range []string{"", "v1=", "v1=AAAA", "V1=" + good[3:], "sha256=" + good[3:]} {
		_, err := ParseSignatureHeader(bad)
		assert.True(t, errors.Is(err, ErrInvalidSignature), "%q", bad)
	}
}
