package iimmpact

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The four headers that authenticate every IIMMPACT request.
const (
	HeaderAPIKey    = "X-Api-Key"
	HeaderTimestamp = "X-Timestamp"
	HeaderNonce     = "X-Nonce"
	HeaderSignature = "X-Signature"
)

// DefaultTolerance is how far a request's X-Timestamp may be from the verifier's
// clock. The vendor's window is reported as five minutes (unconfirmed).
const DefaultTolerance = 5 * time.Minute

// Nonce length bounds required by the API.
const (
	MinNonceLen = 16
	MaxNonceLen = 128
)

// emptyBodyHash is base64(sha256("")), the body hash of every GET.
const emptyBodyHash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

// Errors reported by Signer.Verify. They are wrapped with detail that never
// includes a credential or a signature.
var (
	ErrMissingAuth       = errors.New("iimmpact: missing authentication header")
	ErrUnknownAPIKey     = errors.New("iimmpact: API key not recognised")
	ErrTimestampExpired  = errors.New("iimmpact: timestamp outside tolerance")
	ErrInvalidNonce      = errors.New("iimmpact: invalid nonce")
	ErrInvalidSignature  = errors.New("iimmpact: malformed signature header")
	ErrSignatureMismatch = errors.New("iimmpact: signature mismatch")
)

// Signer signs requests the way IIMMPACT verifies them: HMAC-SHA256, keyed with the
// Base64-decoded secret, over "v1:TIMESTAMP:NONCE:METHOD:QUERY:BODY_HASH".
//
// A Signer is safe for concurrent use once its fields are set. It never prints its
// credentials: every fmt verb and slog show it redacted.
type Signer struct {
	// Now, if not nil, replaces time.Now as the source of X-Timestamp and of the
	// verifier's clock. Set it before first use.
	Now func() time.Time
	// NewNonce, if not nil, replaces the default nonce source (128 bits from
	// crypto/rand). Set it before first use. Sign refuses a nonce outside 16 to 128
	// characters.
	NewNonce func() string

	apiKey string
	key    []byte
	macs   *sync.Pool
}

// NewSigner returns a Signer for apiKey and hmacSecret, the Base64 secret shown in
// the vendor's dashboard (padded or not).
func NewSigner(apiKey, hmacSecret string) (*Signer, error) {
	if strings.TrimSpace(apiKey) == "" {
		return nil, errors.New("iimmpact: API key is empty")
	}
	if !validHeaderValue(apiKey) {
		return nil, errors.New("iimmpact: API key contains characters not allowed in an HTTP header")
	}
	key, err := decodeSecret(hmacSecret)
	if err != nil {
		return nil, err
	}
	s := &Signer{apiKey: apiKey, key: key}
	s.macs = &sync.Pool{New: func() any { return hmac.New(sha256.New, s.key) }}
	return s, nil
}

// decodeSecret accepts standard Base64, padded or not. The URL-safe alphabet is
// accepted too, since dashboards and password managers sometimes convert it.
func decodeSecret(secret string) ([]byte, error) {
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return nil, errors.New("iimmpact: HMAC secret is empty")
	}
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		if key, err := enc.DecodeString(secret); err == nil && len(key) > 0 {
			return key, nil
		}
	}
	return nil, errors.New("iimmpact: HMAC secret is not valid Base64 (copy it exactly as the dashboard shows it)")
}

// Sign sets X-Api-Key, X-Timestamp, X-Nonce and X-Signature on req, with the current
// time and a fresh nonce. Call it once per attempt: the API refuses a replayed nonce.
// A request with a body must have GetBody set (http.NewRequest does this for the
// usual body types) so the body can be hashed without being consumed.
func (s *Signer) Sign(req *http.Request) error {
	if req == nil || req.URL == nil {
		return errors.New("iimmpact: cannot sign a request without a URL")
	}
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	bodyHash, err := requestBodyHash(req)
	if err != nil {
		return err
	}
	values, err := url.ParseQuery(req.URL.RawQuery)
	if err != nil {
		return fmt.Errorf("iimmpact: cannot sign: query: %w", err)
	}
	return s.signHeader(req.Header, s.now(), req.Method, canonicalQuery(values), bodyHash)
}

// signHeader is Sign's core, shared with the client's fast path, which already
// holds the decoded query and knows a GET has no body.
func (s *Signer) signHeader(h http.Header, now time.Time, method, query, bodyHash string) error {
	nonce := s.nonce()
	if n := len(nonce); n < MinNonceLen || n > MaxNonceLen || !validHeaderValue(nonce) {
		return fmt.Errorf("%w: nonce must be 16 to 128 printable characters, got %d", ErrInvalidNonce, n)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	var buf [96]byte
	sig := s.signature(buf[:0], ts, nonce, method, query, bodyHash)
	vals := [...]string{s.apiKey, ts, nonce, string(sig)}
	all := vals[:] // one allocation for the four header values
	h[HeaderAPIKey] = all[0:1:1]
	h[HeaderTimestamp] = all[1:2:2]
	h[HeaderNonce] = all[2:3:3]
	h[HeaderSignature] = all[3:4:4]
	return nil
}

// signature appends "v1=" and the Base64 signature to dst.
func (s *Signer) signature(dst []byte, ts, nonce, method, query, bodyHash string) []byte {
	var canon [256]byte
	msg := appendCanonical(canon[:0], ts, nonce, method, query, bodyHash)
	mac := s.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write(msg)
	var sum [sha256.Size]byte
	dst = append(dst, "v1="...)
	dst = base64.StdEncoding.AppendEncode(dst, mac.Sum(sum[:0]))
	s.macs.Put(mac)
	return dst
}

// appendCanonical appends "v1:" + TIMESTAMP + ":" + NONCE + ":" + METHOD + ":" +
// QUERY + ":" + BODY_HASH to dst.
func appendCanonical(dst []byte, ts, nonce, method, query, bodyHash string) []byte {
	dst = append(dst, "v1:"...)
	dst = append(dst, ts...)
	dst = append(dst, ':')
	dst = append(dst, nonce...)
	dst = append(dst, ':')
	for i := 0; i < len(method); i++ { // upper case without allocating
		c := method[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		dst = append(dst, c)
	}
	dst = append(dst, ':')
	dst = append(dst, query...)
	dst = append(dst, ':')
	return append(dst, bodyHash...)
}

// CanonicalString returns the text that is signed for one request. It is exported
// for debugging a signature against the vendor's recipe; it holds no secret.
func CanonicalString(timestamp, nonce, method, query, bodyHash string) string {
	return string(appendCanonical(nil, timestamp, nonce, method, query, bodyHash))
}

// CanonicalQuery returns the query as the API signs it: key=value pairs sorted by
// key, with decoded values, joined by "&". Values of a repeated key keep their order.
func CanonicalQuery(values url.Values) string { return canonicalQuery(values) }

func canonicalQuery(values url.Values) string {
	if len(values) == 0 {
		return ""
	}
	var keysBuf [8]string
	keys := keysBuf[:0]
	n := 0
	for k, vs := range values {
		keys = append(keys, k)
		for _, v := range vs {
			n += len(k) + len(v) + 2
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	b.Grow(n)
	for _, k := range keys {
		for _, v := range values[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(v)
		}
	}
	return b.String()
}

// BodyHash returns base64(sha256(body)), the last part of the canonical string.
func BodyHash(body []byte) string {
	if len(body) == 0 {
		return emptyBodyHash
	}
	sum := sha256.Sum256(body)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func requestBodyHash(req *http.Request) (string, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return emptyBodyHash, nil
	}
	if req.GetBody == nil {
		return "", errors.New("iimmpact: cannot sign a request body without GetBody")
	}
	rc, err := req.GetBody()
	if err != nil {
		return "", fmt.Errorf("iimmpact: cannot sign: reading body: %w", err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return "", fmt.Errorf("iimmpact: cannot sign: reading body: %w", err)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// Verify checks the four authentication headers of req, whose body is body, as the
// API does: the API key, a timestamp within tolerance of the Signer's clock (zero
// means DefaultTolerance), a nonce of 16 to 128 characters and the signature. It
// does not remember nonces; a server that refuses replays keeps its own record.
// The errors match the Err* sentinels of this file with errors.Is.
func (s *Signer) Verify(req *http.Request, body []byte, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if req == nil || req.URL == nil {
		return fmt.Errorf("%w: no request", ErrMissingAuth)
	}
	h := req.Header
	for _, name := range []string{HeaderAPIKey, HeaderTimestamp, HeaderNonce, HeaderSignature} {
		if h.Get(name) == "" {
			return fmt.Errorf("%w: %s", ErrMissingAuth, name)
		}
	}
	if subtle.ConstantTimeCompare([]byte(h.Get(HeaderAPIKey)), []byte(s.apiKey)) != 1 {
		return ErrUnknownAPIKey
	}
	tsText := h.Get(HeaderTimestamp)
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: X-Timestamp is not Unix seconds", ErrTimestampExpired)
	}
	if d := s.now().Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: X-Timestamp is %s from the server clock, over %s", ErrTimestampExpired, d.Round(time.Second), tolerance)
	}
	nonce := h.Get(HeaderNonce)
	if n := len(nonce); n < MinNonceLen || n > MaxNonceLen {
		return fmt.Errorf("%w: X-Nonce must be 16 to 128 characters, got %d", ErrInvalidNonce, n)
	}
	got, err := ParseSignatureHeader(h.Get(HeaderSignature))
	if err != nil {
		return err
	}
	values, err := url.ParseQuery(req.URL.RawQuery)
	if err != nil {
		return fmt.Errorf("%w: query does not decode", ErrSignatureMismatch)
	}
	var buf [96]byte
	want := s.signature(buf[:0], tsText, nonce, req.Method, canonicalQuery(values), BodyHash(body))
	wantRaw := make([]byte, sha256.Size)
	if _, err := base64.StdEncoding.Decode(wantRaw, want[len("v1="):]); err != nil {
		return ErrSignatureMismatch
	}
	if !hmac.Equal(got, wantRaw) {
		return ErrSignatureMismatch
	}
	return nil
}

// ParseSignatureHeader returns the raw HMAC from an X-Signature value of the form
// "v1=BASE64". Other versions, a missing prefix or bad Base64 are
// ErrInvalidSignature.
func ParseSignatureHeader(v string) ([]byte, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(v), "v1=")
	if !ok {
		return nil, fmt.Errorf("%w: want the form v1=BASE64", ErrInvalidSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(sig) != sha256.Size {
		return nil, fmt.Errorf("%w: v1 value is not a Base64 SHA-256 HMAC", ErrInvalidSignature)
	}
	return sig, nil
}

func (s *Signer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Signer) nonce() string {
	if s.NewNonce != nil {
		return s.NewNonce()
	}
	return rand.Text() // 26 characters, 128 bits, crypto/rand
}

// APIKeyHint returns what can be said of the API key without revealing it: its
// environment prefix ("iimm_prod_", "iimm_dev_") or "other".
func (s Signer) APIKeyHint() string { return keyHint(s.apiKey) }

func keyHint(apiKey string) string {
	switch {
	case strings.HasPrefix(apiKey, prodKeyPrefix):
		return prodKeyPrefix + "…"
	case strings.HasPrefix(apiKey, devKeyPrefix):
		return devKeyPrefix + "…"
	default:
		return "other"
	}
}

// String describes the Signer without its credentials.
func (s Signer) String() string {
	return "iimmpact.Signer{apiKey: " + s.APIKeyHint() + ", secret: [REDACTED]}"
}

// GoString is String, so %#v does not print the credentials.
func (s Signer) GoString() string { return s.String() }

// Format prints String for every verb, so no verb can reach the credentials.
func (s Signer) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// LogValue keeps the credentials out of slog output.
func (s Signer) LogValue() slog.Value { return slog.StringValue(s.String()) }

// validHeaderValue reports whether v can be sent as a header value unchanged.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// redact replaces every occurrence of each secret in b.
func redact(b []byte, secrets ...string) []byte {
	for _, s := range secrets {
		if len(s) >= 4 && bytes.Contains(b, []byte(s)) {
			b = bytes.ReplaceAll(b, []byte(s), []byte("[REDACTED]"))
		}
	}
	return b
}
