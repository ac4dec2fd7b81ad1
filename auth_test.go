package iimmpact

import (
	"bufio"
	"bytes"
	"encoding/hex"
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

	"github.com/iimmpact-go/iimmpact/internal/verify"
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

			assert.Equal(t, v.want, req.Header.Get("X-Signature"))
			assert.Equal(t, v.ts, req.Header.Get("X-Timestamp"))
			assert.Equal(t, v.nonce, req.Header.Get("X-Nonce"))
			assert.Equal(t, "iimm_dev_vector", req.Header.Get("X-Api-Key"))
			assert.Equal(t, v.query, canonicalQuery(values))
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

func TestCanonicalQuerySortsAndDecodes(t *testing.T) {
	v, err := url.ParseQuery("product=JOMPAY&account=a%2Fb+c&ref2=x%2By&biller_code=1&b=2&b=1")
	require.NoError(t, err)
	assert.Equal(t, "account=a/b c&b=2&b=1&biller_code=1&product=JOMPAY&ref2=x+y", canonicalQuery(v))
	assert.Equal(t, verify.Query(v), canonicalQuery(v), "the sandbox's own canonical query agrees")
	assert.Equal(t, "", canonicalQuery(nil))
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
	assert.Equal(t, padded.creds().key, unpadded.creds().key)
	assert.Equal(t, []byte("secret-key-for-tests-only-123456"), padded.creds().key)
}

func newFixedSigner(t *testing.T, now time.Time) *Signer {
	t.Helper()
	s, err := NewSigner("iimm_dev_key", "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY=")
	require.NoError(t, err)
	s.Now = func() time.Time { return now }
	return s
}

// check verifies req with the sandbox's own verifier, which shares no code with
// the Signer.
func check(req *http.Request, body []byte, now time.Time) string {
	return verify.Request(req, body, "iimm_dev_key", [][]byte{[]byte("secret-key-for-tests-only-123456")}, now, verify.DefaultTolerance)
}

func TestSignThenVerify(t *testing.T) {
	now := time.Unix(1_750_000_000, 0)
	s := newFixedSigner(t, now)
	sign := func() *http.Request {
		req, err := http.NewRequest(http.MethodGet, "https://x/v2/bill-presentment?product=AKSB&account=1+2", nil)
		require.NoError(t, err)
		require.NoError(t, s.Sign(req))
		return req
	}
	req, other := sign(), sign()
	assert.Equal(t, "", check(req, nil, now))
	assert.NotEqual(t, req.Header.Get("X-Nonce"), other.Header.Get("X-Nonce"))
	assert.NotEqual(t, req.Header.Get("X-Signature"), other.Header.Get("X-Signature"))

	t.Run("body is signed", func(t *testing.T) {
		post, err := http.NewRequest(http.MethodPost, "https://x/v2/other", strings.NewReader(`{"a":1}`))
		require.NoError(t, err)
		require.NoError(t, s.Sign(post))
		assert.Equal(t, "", check(post, []byte(`{"a":1}`), now))
		assert.Equal(t, verify.BadSignature, check(post, []byte(`{"a":2}`), now))
	})
}

func TestSignRefusesBadNonceSource(t *testing.T) {
	s := newFixedSigner(t, time.Unix(1, 0))
	for _, nonce := range []string{"", "short", strings.Repeat("x", 129), "sixteen-chars-\n-", "sixteen-chars-é-"} {
		s.NewNonce = func() string { return nonce }
		req, err := http.NewRequest(http.MethodGet, "https://x/", nil)
		require.NoError(t, err)
		err = s.Sign(req)
		require.Error(t, err, "nonce %q", nonce)
		assert.Contains(t, err.Error(), "NewNonce must return 16 to 128 printable ASCII characters")
		assert.Empty(t, req.Header.Get("X-Signature"))
	}
}

func TestSignRefusesIncompleteRequests(t *testing.T) {
	s := newFixedSigner(t, time.Unix(1, 0))
	assert.Error(t, s.Sign(nil))
	assert.Error(t, s.Sign(&http.Request{}))
	assert.Error(t, new(Signer).Sign(&http.Request{URL: &url.URL{}}), "a zero Signer refuses, not panics")
	bare := &http.Request{Method: http.MethodGet, URL: &url.URL{RawQuery: "a=1"}}
	require.NoError(t, s.Sign(bare), "a nil Header is made, not a panic")
	assert.NotEmpty(t, bare.Header.Get("X-Signature"))
}

// holder keeps a Client and a Signer where fmt cannot call their methods: in
// unexported fields, by value and by pointer.
type holder struct {
	client    *Client
	signer    Signer
	signerPtr *Signer
	nested    struct{ s *Signer }
}

func TestCredentialsNeverPrinted(t *testing.T) {
	const key, secret = "iimm_prod_TOPSECRETKEY", "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY="
	c, err := NewClient(key, secret)
	require.NoError(t, err)
	s := c.signer
	h := holder{client: c, signer: *s, signerPtr: s}
	h.nested.s = s
	var logs bytes.Buffer
	for _, l := range []*slog.Logger{slog.New(slog.NewTextHandler(&logs, nil)), slog.New(slog.NewJSONHandler(&logs, nil))} {
		l.Info("values", "client", c, "clientValue", c, "signer", s, "signerValue", *s, "holder", h, "holderPtr", &h)
	}
	out := logs.String()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		for _, v := range []any{c, s, *s, h, &h, []any{h}, map[string]any{"h": &h}} {
			out += fmt.Sprintf(verb, v)
		}
	}
	for _, leak := range append(s.creds().redact, "secret-key-for-tests", hex.EncodeToString([]byte("secret-key-for-tests-only-123456")), hex.EncodeToString([]byte(key))) {
		assert.NotContains(t, out, leak)
	}
}
