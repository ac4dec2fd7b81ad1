package iimmpact

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// emptyBodyHash is base64(sha256("")), the body hash of every GET.
const emptyBodyHash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

// Signer signs requests the way IIMMPACT verifies them: HMAC-SHA256, keyed with
// the Base64-decoded secret, over "v1:TIMESTAMP:NONCE:METHOD:QUERY:BODY_HASH".
// The Client signs every request it sends itself; use a Signer for a request
// of your own (an endpoint the SDK does not call yet).
//
// It is safe for concurrent use once its fields are set. No fmt verb or slog
// handler prints its credentials, even when a Signer is a field of another
// struct.
type Signer struct {
	// Now, if not nil, replaces time.Now as the source of X-Timestamp. Set it
	// before first use.
	Now func() time.Time
	// NewNonce, if not nil, replaces the default nonce source (128 bits from
	// crypto/rand). Set it before first use. Sign refuses a nonce that is not 16
	// to 128 printable ASCII characters.
	NewNonce func() string

	// creds is a closure because fmt and reflection print a func as an
	// address and cannot see what it captured; a pointer is not enough, since
	// fmt prints what it points to for a wrong verb such as %s.
	creds func() *credentials
}

type credentials struct {
	apiKey string
	// apiKeyHeader is X-Api-Key's value, one slice every request shares:
	// nothing appends to or changes a request's header values.
	apiKeyHeader []string
	key          []byte   // the decoded secret, the HMAC key
	redact       []string // the key and the secret in every form redaction removes
	macs         sync.Pool
}

// mac returns an HMAC keyed with the secret, from the pool when one is
// there; give it back with done.
func (c *credentials) mac() hash.Hash {
	if h, ok := c.macs.Get().(hash.Hash); ok {
		return h
	}
	return hmac.New(sha256.New, c.key)
}

func (c *credentials) done(h hash.Hash) {
	h.Reset() // back to its keyed state
	c.macs.Put(h)
}

// NewSigner returns a Signer for apiKey and hmacSecret, the Base64 secret shown in
// the vendor's dashboard (padded or not; the URL-safe alphabet is accepted too).
func NewSigner(apiKey, hmacSecret string) (*Signer, error) {
	if err := checkAPIKey(apiKey); err != nil {
		return nil, err
	}
	secret := strings.TrimSpace(hmacSecret)
	key, err := decodeSecret(secret)
	if err != nil {
		return nil, err
	}
	c := &credentials{apiKey: apiKey, apiKeyHeader: []string{apiKey}, key: key}
	for _, v := range append([]string{apiKey, secret}, encodings(key)...) {
		c.redact = appendForms(c.redact, v)
	}
	return &Signer{creds: func() *credentials { return c }}, nil
}

// checkAPIKey checks an API key on its own.
func checkAPIKey(apiKey string) error {
	switch {
	case strings.TrimSpace(apiKey) == "":
		return errors.New("iimmpact: API key is empty")
	case !validHeaderValue(apiKey):
		return errors.New("iimmpact: API key contains characters not allowed in an HTTP header")
	}
	return nil
}

// decodeSecret decodes the dashboard's Base64 secret, trimmed, into the
// HMAC key, in any of the Base64 alphabets, padded or not.
func decodeSecret(secret string) ([]byte, error) {
	if secret == "" {
		return nil, errors.New("iimmpact: HMAC secret is empty")
	}
	for _, enc := range base64Encodings {
		if key, err := enc.DecodeString(secret); err == nil && len(key) > 0 {
			return key, nil
		}
	}
	return nil, errors.New("iimmpact: HMAC secret is not valid Base64 (copy it exactly as the dashboard shows it)")
}

var base64Encodings = [...]*base64.Encoding{
	base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
}

// Sign sets X-Api-Key, X-Timestamp, X-Nonce and X-Signature on req, with the
// current time and a fresh nonce. Call it once per attempt: the API refuses a
// replayed nonce. A request with a body must have GetBody set (http.NewRequest
// sets it for the usual body types) so the body can be hashed without being
// consumed.
func (s *Signer) Sign(req *http.Request) error {
	if s == nil || s.creds == nil {
		return errors.New("iimmpact: Sign: use NewSigner to make a Signer")
	}
	if req == nil || req.URL == nil {
		return errors.New("iimmpact: Sign: the request has no URL")
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
		return fmt.Errorf("iimmpact: Sign: the query does not decode: %w", err)
	}
	_, err = s.sign(req.Header, s.now(), req.Method, canonicalQuery(values), bodyHash)
	return err
}

// sign sets the four headers for a request at time now and returns the
// signature sent, for redaction.
func (s *Signer) sign(h http.Header, now time.Time, method, query, bodyHash string) (string, error) {
	nonce := s.nonce()
	if n := len(nonce); n < 16 || n > 128 || !printableASCII(nonce) {
		return "", fmt.Errorf("iimmpact: Sign: NewNonce must return 16 to 128 printable ASCII characters, got %d bytes", n)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	c := s.creds()
	mac := c.mac()
	_, _ = io.WriteString(mac, "v1:"+ts+":"+nonce+":"+strings.ToUpper(method)+":"+query+":"+bodyHash)
	var sum [sha256.Size]byte
	header := make([]byte, len("v1=")+base64.StdEncoding.EncodedLen(sha256.Size))
	copy(header, "v1=")
	base64.StdEncoding.Encode(header[len("v1="):], mac.Sum(sum[:0]))
	c.done(mac)
	values := []string{ts, nonce, string(header)} // one allocation for the three
	h["X-Api-Key"] = c.apiKeyHeader
	h["X-Timestamp"] = values[0:1:1]
	h["X-Nonce"] = values[1:2:2]
	h["X-Signature"] = values[2:3:3]
	return values[2][len("v1="):], nil
}

// canonicalQuery returns the query as the API signs it: key=value pairs sorted by
// key, with decoded values, joined by "&".
func canonicalQuery(values url.Values) string {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range values[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(k + "=" + v)
		}
	}
	return b.String()
}

func requestBodyHash(req *http.Request) (string, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return emptyBodyHash, nil
	}
	if req.GetBody == nil {
		return "", errors.New("iimmpact: Sign: a request with a body needs GetBody")
	}
	rc, err := req.GetBody()
	if err != nil {
		return "", fmt.Errorf("iimmpact: Sign: reading the body: %w", err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return "", fmt.Errorf("iimmpact: Sign: reading the body: %w", err)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
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

// encodings returns key in every Base64 form a server or proxy might echo.
func encodings(key []byte) []string {
	out := make([]string, 0, len(base64Encodings))
	for _, enc := range base64Encodings {
		out = append(out, enc.EncodeToString(key))
	}
	return out
}
