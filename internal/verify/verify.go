// Package verify checks an IIMMPACT request signature the way the API does. It
// shares no code with the client's signer on purpose: the sandbox and the tests
// use it to catch the signer's bugs, which a check built on the same code would
// repeat.
package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The API's 401 messages, one for each way a request can fail the check.
const (
	MissingHeaders   = "Missing authentication headers"
	UnknownKey       = "API key not found"
	BadTimestamp     = "Request timestamp is outside the allowed window"
	BadNonce         = "Invalid nonce"
	BadSignature     = "Invalid signature"
	ReplayedNonce    = "Nonce has already been used"
	DefaultTolerance = 5 * time.Minute // reported by integrators, unconfirmed
)

// Request checks the four authentication headers of r, whose body is body,
// against apiKey and any of keys (decoded HMAC secrets) at time now. It returns ""
// when the API would accept the request, or the message of the API's 401.
func Request(r *http.Request, body []byte, apiKey string, keys [][]byte, now time.Time, tolerance time.Duration) string {
	h := r.Header
	key, ts, nonce, sig := h.Get("X-Api-Key"), h.Get("X-Timestamp"), h.Get("X-Nonce"), h.Get("X-Signature")
	switch {
	case key == "" || ts == "" || nonce == "" || sig == "":
		return MissingHeaders
	case subtle.ConstantTimeCompare([]byte(key), []byte(apiKey)) != 1:
		return UnknownKey
	case !fresh(ts, now, tolerance):
		return BadTimestamp
	case !validNonce(nonce):
		return BadNonce
	}
	got, ok := strings.CutPrefix(sig, "v1=")
	gotMAC, err := base64.StdEncoding.DecodeString(got)
	values, qerr := url.ParseQuery(r.URL.RawQuery)
	if !ok || err != nil || qerr != nil {
		return BadSignature
	}
	bodySum := sha256.Sum256(body)
	canonical := "v1:" + ts + ":" + nonce + ":" + strings.ToUpper(r.Method) + ":" +
		Query(values) + ":" + base64.StdEncoding.EncodeToString(bodySum[:])
	for _, k := range keys {
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(canonical))
		if hmac.Equal(mac.Sum(nil), gotMAC) {
			return ""
		}
	}
	return BadSignature
}

// fresh accepts what a Unix time in seconds prints as (decimal digits, no sign,
// no leading zero) within tolerance of now.
func fresh(ts string, now time.Time, tolerance time.Duration) bool {
	if ts[0] == '0' || len(ts) > 19 {
		return false
	}
	for i := 0; i < len(ts); i++ {
		if ts[i] < '0' || ts[i] > '9' {
			return false
		}
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	d := now.Sub(time.Unix(secs, 0))
	return err == nil && d <= tolerance && d >= -tolerance
}

// Query is the signed form of a query: key=value pairs sorted by key, values
// decoded, joined with "&".
func Query(values url.Values) string {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		for _, v := range values[k] {
			pairs = append(pairs, k+"="+v)
		}
	}
	return strings.Join(pairs, "&")
}

// validNonce accepts 16 to 128 characters of printable ASCII.
func validNonce(s string) bool {
	if len(s) < 16 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Nonces remembers the nonces of recent requests so a replay is refused. Each
// nonce is forgotten once its request's timestamp could no longer pass the
// window, in amortised constant time: nonces expire in the order they arrived.
// It is not safe for concurrent use.
type Nonces struct {
	ttl   time.Duration
	seen  map[string]struct{}
	queue []entry
}

type entry struct {
	nonce string
	at    time.Time
}

// NewNonces returns a replay memory that keeps each nonce for ttl.
func NewNonces(ttl time.Duration) *Nonces {
	return &Nonces{ttl: ttl, seen: map[string]struct{}{}}
}

// Add records nonce at now and reports false when it was already recorded.
func (n *Nonces) Add(nonce string, now time.Time) bool {
	for len(n.queue) > 0 && now.Sub(n.queue[0].at) > n.ttl {
		delete(n.seen, n.queue[0].nonce)
		n.queue[0] = entry{}
		n.queue = n.queue[1:]
	}
	if _, ok := n.seen[nonce]; ok {
		return false
	}
	n.seen[nonce] = struct{}{}
	n.queue = append(n.queue, entry{nonce, now})
	return true
}

// Len returns how many nonces are remembered.
func (n *Nonces) Len() int { return len(n.seen) }
