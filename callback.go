package iimmpact

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// The vendor's callback source addresses (guide/webhooks/transaction-webhooks
// on its documentation site). They are the only proof of origin a callback
// has: it carries no signature.
var (
	productionCallbackIPs = []string{"18.140.170.98", "13.215.6.214", "43.217.31.158", "43.216.193.68"}
	stagingCallbackIPs    = []string{"3.1.120.89", "43.217.127.11"}
)

// maxCallbackBody bounds a callback's body.
const maxCallbackBody = 1 << 20

// Callback is the vendor's notice that a payment's status changed. It is a
// hint, not a proof: it carries no signature.
type Callback struct {
	RefID string
	// Status is the status it reports; "" when it is not one the SDK knows.
	Status TransactionStatus
	// Code is the vendor's statusCode; -1 when it sent none.
	Code int
	// Amount is the payment's amount, when the callback names it.
	Amount Amount
	// SerialNumber is the provider's serial or receipt number ("sn").
	SerialNumber string
	// Time is its timestamp, in GMT+8; the zero Time when it has none.
	Time time.Time
	// From is the address it came from, after WithTrustedProxies.
	From netip.Addr

	raw []byte
}

// String shows the callback without its payload, which holds the account:
// fmt (with any verb, by value or by pointer) and slog print this.
func (c *Callback) String() string {
	if c == nil {
		return "<nil>"
	}
	return fmt.Sprintf("Callback{RefID:%q Status:%s Code:%d Amount:%s From:%s}", c.RefID, c.Status, c.Code, c.Amount.String(), c.From)
}

// GoString is String, for %#v.
func (c *Callback) GoString() string { return c.String() }

// Format prints String for every verb.
func (c Callback) Format(f fmt.State, verb rune) { formatSafe(f, verb, c.String()) }

// LogValue is String, for slog.
func (c Callback) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Raw returns the callback's JSON payload as received. The caller must not
// modify it.
func (c *Callback) Raw() []byte {
	if c == nil {
		return nil
	}
	return c.raw
}

// CallbackOption configures NewCallbackHandler.
type CallbackOption func(*callbackConfig)

type callbackConfig struct {
	allowed []netip.Prefix
	proxies []netip.Prefix
}

// WithCallbackIPs replaces the addresses callbacks are accepted from (by
// default the vendor's production and staging callback IPs), for tests
// against iimmpacttest and for a staging-only handler. Never widen it to a
// network others share: anyone who can post to the handler from an allowed
// address can claim any payment succeeded.
func WithCallbackIPs(prefixes ...netip.Prefix) CallbackOption {
	return func(c *callbackConfig) { c.allowed = prefixes }
}

// WithTrustedProxies names the reverse proxies and load balancers in front of
// the handler. Only a request from one of them has its X-Forwarded-For read:
// the rightmost address in it that is not a trusted proxy is the sender. By
// default no proxy is trusted, loopback included, and X-Forwarded-For is
// ignored.
func WithTrustedProxies(prefixes ...netip.Prefix) CallbackOption {
	return func(c *callbackConfig) { c.proxies = prefixes }
}

// NewCallbackHandler returns the handler for the URL set as the callback URL
// in the vendor's dashboard. It accepts the vendor's POST (a JSON body
// {"data": {…}}) and GET (query parameters, with the payload URL-encoded in
// "message", whole or as the inner object) callbacks, answers 403 to any
// sender outside the vendor's callback IPs (see WithCallbackIPs and
// WithTrustedProxies), 413 to a body over 1 MiB and 400 to one that names no
// refid, and otherwise answers 200 at once, before it calls handle with the
// callback. handle's context keeps the request's values but is not cancelled
// when the vendor hangs up after its answer; bound its work yourself.
//
// A callback is a hint, never a proof: it has no signature, and the vendor
// says to trust it only after checking. In handle, find your pending payment
// by RefID (ignore one you are not waiting for), then confirm with Pay (the
// same Payment: it asks for the status and never pays again) before you move
// any money in your own books.
func NewCallbackHandler(handle func(context.Context, *Callback), opts ...CallbackOption) http.Handler {
	cfg := callbackConfig{}
	for _, ip := range append(append([]string(nil), productionCallbackIPs...), stagingCallbackIPs...) {
		addr := netip.MustParseAddr(ip)
		cfg.allowed = append(cfg.allowed, netip.PrefixFrom(addr, addr.BitLen()))
	}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cb, status := cfg.read(w, r)
		if status != http.StatusOK {
			http.Error(w, http.StatusText(status), status)
			return
		}
		// With its length, the answer is whole once flushed: the vendor reads
		// all of it before handle runs, however long handle takes.
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(callbackOK)))
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, callbackOK)
		_ = http.NewResponseController(w).Flush()
		if handle != nil {
			// The vendor may hang up once it has its answer: handle's work
			// (asking the API to confirm) must not end with the connection.
			handle(context.WithoutCancel(r.Context()), cb)
		}
	})
}

// callbackOK is the body of a callback's 200.
const callbackOK = `{"status":"ok"}`

// read checks a callback's sender and reads it, or says which status refuses
// it.
func (cfg *callbackConfig) read(w http.ResponseWriter, r *http.Request) (*Callback, int) {
	from, ok := cfg.sender(r)
	switch {
	case r.Method != http.MethodPost && r.Method != http.MethodGet:
		return nil, http.StatusMethodNotAllowed
	case !ok || !inPrefixes(cfg.allowed, from):
		return nil, http.StatusForbidden
	}
	payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCallbackBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, http.StatusRequestEntityTooLarge
		}
		return nil, http.StatusBadRequest
	}
	if r.Method == http.MethodGet {
		payload = getPayload(r)
	}
	cb := decodeCallback(payload)
	if cb == nil && r.Method == http.MethodGet {
		cb = queryCallback(r)
	}
	if cb == nil || cb.RefID == "" {
		return nil, http.StatusBadRequest
	}
	cb.From = from
	return cb, http.StatusOK
}

// sender is the request's source address: the peer, or, when the peer is a
// trusted proxy, the rightmost X-Forwarded-For address that is not one.
func (cfg *callbackConfig) sender(r *http.Request) (netip.Addr, bool) {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	addr := peer.Addr().Unmap()
	if !inPrefixes(cfg.proxies, addr) {
		return addr, true
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if hop == "" {
			continue
		}
		a, err := netip.ParseAddr(hop)
		if err != nil {
			return netip.Addr{}, false // a hop no proxy of ours wrote
		}
		if a = a.Unmap(); !inPrefixes(cfg.proxies, a) {
			return a, true
		}
	}
	return addr, true // only proxies: the request started at one of them
}

func inPrefixes(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// getPayload is a GET callback's "message": the payload, whole ({"data":
// …}) or the inner object, which is then framed as a whole one.
func getPayload(r *http.Request) []byte {
	msg := bytes.TrimSpace([]byte(r.URL.Query().Get("message")))
	if len(msg) == 0 {
		return nil
	}
	var k keys
	hasData := false
	if _, err := readEnvelope(msg, &k, func([]byte) { hasData = true }, nil); err == nil && hasData {
		return msg
	}
	return append(append([]byte(`{"data":`), msg...), '}')
}

// decodeCallback reads a callback's payload as a payment answer is read; nil
// when it is no envelope at all. A payload Pay would not read (a key sent
// twice, two data objects, bytes after the envelope, a code that is no
// number, a status and a code that disagree) says only which payment to ask
// about: its Status is "" and its Code -1. When even its refid is in doubt,
// its RefID is "", and the handler refuses it.
func decodeCallback(payload []byte) *Callback {
	t, n, err := decodeTransaction(payload)
	if t == nil {
		return nil
	}
	if err != nil {
		cb := &Callback{RefID: t.RefID, Code: -1, raw: payload}
		if n.refidInDoubt {
			cb.RefID = ""
		}
		return cb
	}
	return &Callback{RefID: t.RefID, Status: t.Status, Code: t.Code, Amount: t.Amount, SerialNumber: t.SerialNumber, Time: t.Time, raw: payload}
}

// queryCallback reads a GET callback that has no message: refid and the
// numeric status.
func queryCallback(r *http.Request) *Callback {
	q := r.URL.Query()
	cb := &Callback{RefID: q.Get("refid"), Code: -1}
	if code, err := strconv.Atoi(q.Get("status")); err == nil && code >= 0 {
		cb.Code, cb.Status = code, statusOfCode(code)
	}
	return cb
}

// statusOfCode is the status a vendor code alone names.
func statusOfCode(code int) TransactionStatus {
	for _, s := range [...]TransactionStatus{TransactionSucceeded, TransactionProcessing, TransactionRefunded, TransactionFailed} {
		if s.agrees(code) {
			return s
		}
	}
	return ""
}
