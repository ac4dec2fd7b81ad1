package iimmpact

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/iimmpact-go/iimmpact/internal/quota"
	"github.com/iimmpact-go/iimmpact/internal/retry"
)

// This file is the one request path every endpoint takes. An endpoint
// describes its call once (a call) and names its classifier, a pure function
// of one answer; do runs the attempts and returns what they came to. Nothing
// is written back to the call or through a closure: the attempts' own state
// lives in the loop.

// The calls, as observers and logs name them.
const (
	opBillPresentment = "bill_presentment"
	opNetworkStatus   = "network_status"
	opPayment         = "payment"
	opBalance         = "balance"
	opHistory         = "transaction_history"
	opStatement       = "wallet_statement"
	opVoid            = "void"
	opDispute         = "dispute"
	opCallbackURL     = "callback_url"
)

// call describes one API call, once: what it sends and to whom its personal
// data belongs. The request path reads it and never changes it.
type call struct {
	op         string // as observers and logs name it
	method     string
	path       string
	rawQuery   string // as sent
	canonQuery string // as signed
	body       []byte // a JSON body, the same bytes on every attempt; nil for a GET
	bodyHash   string // base64(sha256(body)), hashed once
	product    string
	personal   []string // the account number, Ref-2, the IC number: redacted wherever they appear
	share      bool     // identical calls in flight may share a request (WithCoalescing)
	quotaWait  time.Duration
	invalid    error // the input broke a rule: nothing is sent
	// charges marks a call that may move money: its error is
	// ErrOutcomeUnknown unless the call proves nothing was created.
	charges bool
	// once marks a call the API may not take twice safely (a void: whether
	// it is idempotent is unconfirmed): no attempt follows one the API may
	// have acted on.
	once bool
}

// getCall describes a GET with query params, given in the order their keys
// sort; an empty value is left out. Identical GETs may share a request under
// WithCoalescing.
func (c *Client) getCall(op, path, product string, params []param, personal ...string) call {
	raw, canon := encodeQuery(params)
	return call{op: op, method: http.MethodGet, path: path, rawQuery: raw, canonQuery: canon,
		bodyHash: emptyBodyHash, product: product, personal: personal, share: true, quotaWait: c.quotaWait}
}

// param is one query parameter.
type param struct{ key, value string }

// encodeQuery returns params as sent (percent-encoded) and as signed (the
// values decoded), both "key=value" joined by "&" in the order given, which
// is the keys' sorted order; empty values are left out. A call's few
// parameters are known, so this is canonicalQuery without a map or a sort.
func encodeQuery(params []param) (raw, canon string) {
	var r, c strings.Builder
	for _, p := range params {
		if p.value == "" {
			continue
		}
		if c.Len() > 0 {
			r.WriteByte('&')
			c.WriteByte('&')
		}
		r.WriteString(url.QueryEscape(p.key) + "=" + url.QueryEscape(p.value))
		c.WriteString(p.key + "=" + p.value)
	}
	return r.String(), c.String()
}

// postCall describes a POST of a JSON body, built once by the caller: every
// attempt sends these bytes and signs their hash. A call with a body is never
// shared with another caller's.
func (c *Client) postCall(op, path, product string, body []byte, personal ...string) call {
	sum := sha256.Sum256(body)
	return call{op: op, method: http.MethodPost, path: path, body: body, bodyHash: base64.StdEncoding.EncodeToString(sum[:]),
		product: product, personal: personal, quotaWait: c.quotaWait}
}

// verdict is what one answer means to a call.
type verdict uint8

const (
	notOutcome verdict = iota // retried when its status allows it, else an *APIError
	outcome                   // the call's result, under any status
	malformed                 // an answer that should have been an outcome and cannot be read
)

// response is one attempt's answer, its body read and closed.
type response struct {
	status    int
	header    http.Header
	body      []byte
	requestID string // the API's identifier of the answer, redacted
}

// answer is a call's value, what its classifier makes of an outcome. Each
// endpoint's value says what the observer and the logs hear of it; report is
// also called on the nil value of a call that failed.
type answer interface{ report() report }

// report is what the observer and the logs hear of a call's value.
type report struct {
	decision   Decision          // a bill presentment's (hide for an error)
	status     TransactionStatus // a payment's
	driftField string            // a field whose text the SDK does not know, for the drift alarm
	driftText  string
	unreadable []string
}

// result is what a call came to.
type result[T answer] struct {
	value T         // the outcome (or what a malformed answer still said); the zero T otherwise
	last  *response // the last answer of any attempt
	// err is the caller's error, once do has made it; in the loop, the
	// cause: the last attempt's error, the classifier's, or nil when the
	// last answer was not an outcome.
	err       error
	malformed bool // the classifier could not read an answer that should have been an outcome
	attempts
}

// attempts is the state of a call's attempts, kept by the loop alone.
type attempts struct {
	sent     int      // requests sent, a re-signed one included
	retries  int      // against maxRetries
	resigned bool     // the one clock-skew re-sign is spent
	sigs     []string // every signature sent, for redaction
	waited   time.Duration
	// unsure reports that an attempt may have been acted on by the API
	// without its answer being read: no answer once the request may have been
	// written, or a 5xx.
	unsure   bool
	answered bool // the last answer was the call's outcome
}

// do runs cl until an answer is final, and returns its value classified by
// check, or the call's error, redacted.
func do[T answer](ctx context.Context, c *Client, cl call, check func(*response) (T, verdict, error)) result[T] {
	var start time.Time
	var end func(CallResult)
	if c.observer != nil && ctx != nil {
		start = time.Now()
		ctx, end = c.observer.StartCall(ctx, CallInfo{Operation: cl.op, Product: cl.product})
	}
	var r result[T]
	switch {
	case ctx == nil:
		r.err = errors.New("nil Context (use context.Background())")
	case cl.invalid != nil:
		r.err = cl.invalid
	default:
		r = loop(ctx, c, cl, check)
	}
	if r.failed() {
		var apiErr *APIError
		apiErr, r.err = c.errorOf(cl, r.attempts, r.last, r.err, r.malformed)
		c.learn(apiErr)
	}
	rep := r.value.report()
	if r.err != nil {
		rep.status = "" // a status the call did not confirm is no status
	}
	if ctx != nil {
		c.logAnswer(ctx, cl, r.attempts, r.last, rep)
		if rep.driftField != "" {
			c.unrecognised(ctx, cl, r.sigs, rep.driftField, rep.driftText)
		}
	}
	if end != nil {
		end(callResult(rep, r.attempts, r.last, r.err, time.Since(start)))
	}
	return r
}

// failed reports a call that ended without its outcome: with an error, or
// on an answer that was not one.
func (r *result[T]) failed() bool {
	return r.err != nil || (!r.malformed && r.last != nil && !r.answered)
}

// learn tells the 403 breaker of a call that ended on a 403: it hands the
// error back with ErrBlocked while it is open.
func (c *Client) learn(apiErr *APIError) {
	if apiErr != nil && apiErr.StatusCode == http.StatusForbidden && c.guard != nil {
		c.guard.Remember(apiErr)
	}
}

// loop makes the call's attempts, one after another: each answer is
// classified, and only one that is not an outcome may be retried.
func loop[T answer](ctx context.Context, c *Client, cl call, check func(*response) (T, verdict, error)) result[T] {
	var r result[T]
	st := &r.attempts
	for {
		out := c.send(ctx, cl, st.sent)
		if out.sig != "" {
			st.sent++
			st.sigs = append(st.sigs, out.sig)
		}
		st.waited += out.waited
		st.unsure = st.unsure || mayHaveActed(out)
		if out.res != nil {
			r.last = out.res
			value, v, err := check(out.res)
			switch v {
			case outcome:
				r.value, st.answered = value, true
				return r
			case malformed:
				r.value, r.err, r.malformed = value, err, true
				return r
			}
		}
		d := c.shouldRetry(ctx, *st, out, time.Now())
		if !d.again || (cl.once && st.unsure) {
			r.err = out.err // nil when the last answer was not an outcome
			return r
		}
		if d.resign {
			st.resigned = true
			c.skew.Store(int64(d.skew))
			c.logger.LogAttrs(ctx, slog.LevelWarn, "iimmpact: server clock differs from ours; signing with its time", slog.Duration("offset", d.skew.Round(time.Second)))
		} else {
			st.retries++
		}
		c.logRetry(ctx, cl, *st, d, out.err)
		if err := c.pause(ctx, d.wait); err != nil {
			r.err = joinCause(err, out.err)
			return r
		}
	}
}

// mayHaveActed reports whether the API may have acted on an attempt although
// the client cannot know what it did: the request may have been written and
// no answer was read, or the answer was a 5xx. Only a failure to connect
// proves the request was never written.
func mayHaveActed(out attemptResult) bool {
	switch {
	case out.sig == "":
		return false // refused before sending
	case out.res != nil:
		return out.res.status >= 500
	}
	var op *net.OpError
	return !errors.As(out.err, &op) || op.Op != "dial"
}

// retryDecision is what shouldRetry decides: whether to try again, after how
// long and why, or to sign again at once with the server's clock.
type retryDecision struct {
	again  bool
	wait   time.Duration
	why    string
	resign bool          // a 401 from clock skew: sign again once, with skew
	skew   time.Duration // the server's clock less ours
}

// shouldRetry decides whether another attempt is worth making: transport
// errors, 429 and 5xx within the retries, the retry budget and ctx's deadline;
// a 401 from clock skew once, at once. It changes nothing; the loop applies
// what it decides.
func (c *Client) shouldRetry(ctx context.Context, st attempts, out attemptResult, now time.Time) retryDecision {
	if ctx.Err() != nil {
		return retryDecision{}
	}
	var why string
	var nr noRetry
	switch res := out.res; {
	case out.err != nil:
		if errors.As(out.err, &nr) || !retry.Error(ctx, out.err) {
			return retryDecision{}
		}
		why = "no answer"
	case res.status == http.StatusUnauthorized && !st.resigned:
		if skew, far := c.skewFrom(res.header); far {
			return retryDecision{again: true, resign: true, skew: skew, why: "HTTP 401 with the server's clock far from ours: signing again with its time"}
		}
		return retryDecision{}
	case !retry.Status(res.status):
		return retryDecision{}
	default:
		why = "HTTP " + strconv.Itoa(res.status)
	}
	if st.retries >= c.maxRetries || !c.budget.Allows() {
		return retryDecision{}
	}
	wait, why := c.retryDelay(st.retries+1, out, why, now)
	if deadline, ok := ctx.Deadline(); ok && deadline.Sub(now) < wait {
		return retryDecision{} // the wait alone would outlast the caller: answer now
	}
	return retryDecision{again: true, wait: wait, why: why}
}

// retryDelay is the wait before retry n: the backoff, or the answer's
// Retry-After when it has one.
func (c *Client) retryDelay(n int, out attemptResult, why string, now time.Time) (time.Duration, string) {
	if out.res != nil {
		if after, ok := retry.ParseRetryAfter(out.res.header.Get("Retry-After"), now); ok {
			return min(after, retry.MaxRetryAfter), why + " with Retry-After"
		}
	}
	return c.backoff.Delay(n, out.jitter), why
}

// skewThreshold: a 401 whose Date is further than this from our clock is taken
// as clock skew and re-signed once with the server's time. The API's window is
// reported as five minutes (unconfirmed).
const skewThreshold = 4 * time.Minute

// skewFrom reads the server's Date from a 401. When it is further than
// skewThreshold from our (already corrected) clock, it reports the difference
// and true.
func (c *Client) skewFrom(h http.Header) (time.Duration, bool) {
	serverTime, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return 0, false
	}
	local := c.signer.now()
	if diff := serverTime.Sub(local.Add(time.Duration(c.skew.Load()))); diff < skewThreshold && diff > -skewThreshold {
		return 0, false
	}
	return serverTime.Sub(local), true
}

// noRetry marks an attempt's error that another attempt would repeat: a
// refusal of the quota guard, a request that cannot be built or signed, a
// body over the limit, a stop.
type noRetry struct{ error }

func (e noRetry) Unwrap() error { return e.error }

// joinCause is the cause of a call whose wait for its next attempt ended
// with waitErr (its context, or a stop) after an attempt that failed with
// last (nil when it was answered).
func joinCause(waitErr, last error) error {
	if last == nil || errors.Is(last, waitErr) {
		return waitErr
	}
	return fmt.Errorf("%w (last attempt: %w)", waitErr, last)
}

// attemptResult is what one request came to.
type attemptResult struct {
	res    *response // nil when there was no answer
	sig    string    // the signature sent, "" when nothing was sent
	waited time.Duration
	jitter float64 // drawn once per request, so coalesced callers retry together
	err    error
}

// send makes one attempt, shared with identical calls in flight when the call
// allows it and the client coalesces.
func (c *Client) send(ctx context.Context, cl call, resend int) attemptResult {
	if err := ctx.Err(); err != nil {
		return attemptResult{err: err} // a cancelled call sends nothing
	}
	if err := stopped(ctx); err != nil {
		return attemptResult{err: noRetry{err}} // nor does one its caller stopped
	}
	if c.flights != nil && cl.share && cl.body == nil {
		return c.flights.do(ctx, cl.path+"?"+cl.rawQuery, func(ctx context.Context) attemptResult { return c.attempt(ctx, cl, resend) })
	}
	return c.attempt(ctx, cl, resend)
}

// attempt waits for the quota guard to admit one request, then signs and
// sends it and reads its body within the per-attempt timeout. The guard hears
// how it ended even when an observer panics.
func (c *Client) attempt(ctx context.Context, cl call, resend int) (out attemptResult) {
	out.jitter = c.jitter()
	var ticket quota.Ticket
	if c.guard != nil {
		waitCtx, done := untilStop(ctx) // a stop ends the wait for a slot at once
		t, err := c.guard.Admit(waitCtx, cl.quotaWait)
		done()
		if serr := stopped(ctx); err != nil && serr != nil && ctx.Err() == nil {
			err = serr
		}
		if err != nil {
			out.err = noRetry{err}
			return out
		}
		ticket, out.waited = t, t.Waited
	}
	status := 0 // what the breaker learns: 0 for no answer
	sent := false
	var end func(RequestResult)
	start := time.Now()
	defer func() {
		var opened bool
		switch {
		case c.guard != nil && sent:
			opened = c.guard.Done(ctx, ticket, status)
		case c.guard != nil:
			c.guard.Unsent(ctx, ticket)
		}
		if end != nil {
			end(RequestResult{StatusCode: status, Duration: time.Since(start), ErrorType: errorType(out.err), BreakerOpened: opened})
		}
	}()
	if c.observer != nil {
		ctx, end = c.observer.StartRequest(ctx, RequestInfo{Method: cl.method, URL: c.baseURL + cl.path,
			Resend: resend, QuotaWait: ticket.Waited, Probe: ticket.Probe})
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := c.newRequest(ctx, cl)
	if err != nil {
		out.err = noRetry{err}
		return out
	}
	// Signed only now, after any wait for the quota: the API refuses an old
	// timestamp.
	out.sig, err = c.signer.sign(req.Header, c.signer.now().Add(time.Duration(c.skew.Load())), cl.method, cl.canonQuery, cl.bodyHash)
	if err != nil {
		out.err = noRetry{err}
		return out
	}
	sent = true
	out.res, out.err = c.roundTrip(req, cl, out.sig)
	if out.res != nil {
		status = out.res.status
	}
	return out
}

// jsonHeader is the value of Accept and of a body's Content-Type.
var jsonHeader = []string{"application/json"}

// newRequest builds an attempt's request, its body the call's bytes.
func (c *Client) newRequest(ctx context.Context, cl call) (*http.Request, error) {
	target := c.baseURL + cl.path
	if cl.rawQuery != "" {
		target += "?" + cl.rawQuery
	}
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, target, body)
	if err != nil {
		return nil, err
	}
	// Shared slices: nothing changes a request's header values.
	req.Header["Accept"] = jsonHeader
	req.Header["User-Agent"] = c.userAgent
	if cl.body != nil {
		req.Header["Content-Type"] = jsonHeader
	}
	return req, nil
}

// roundTrip sends a signed request and reads its answer, within the body
// limit.
func (c *Client) roundTrip(req *http.Request, cl call, sig string) (*response, error) {
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // its URL holds the customer's account number
			err = &url.Error{Op: ue.Op, URL: c.baseURL + cl.path, Err: ue.Err}
		}
		c.budget.Record(false)
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	switch {
	case int64(len(body)) > c.maxBody:
		return nil, noRetry{fmt.Errorf("%w: over %d bytes", ErrResponseTooLarge, c.maxBody)}
	case err != nil:
		c.budget.Record(false)
		return nil, err
	}
	c.budget.Record(!retry.Status(resp.StatusCode))
	c.logger.LogAttrs(req.Context(), slog.LevelDebug, "iimmpact: attempt", slog.Int("status", resp.StatusCode), slog.Duration("elapsed", time.Since(start)))
	res := &response{status: resp.StatusCode, header: resp.Header, body: body}
	if id := requestID(resp.Header); id != "" {
		res.requestID = newRedactor(c.signer, []string{sig}, cl.personal...).clean(id)
	}
	return res, nil
}

// logRetry writes the Warn of a retry, with why.
func (c *Client) logRetry(ctx context.Context, cl call, st attempts, d retryDecision, err error) {
	if !c.logger.Enabled(ctx, slog.LevelWarn) {
		return
	}
	attrs := []slog.Attr{slog.String("reason", d.why), slog.Duration("wait", d.wait)}
	if err != nil {
		attrs = append(attrs, slog.String("error", c.redactor(cl, st.sigs).clean(err.Error())))
	}
	c.logger.LogAttrs(ctx, slog.LevelWarn, "iimmpact: retrying", append(attrs, slog.String("call", cl.op), slog.Int("attempts", st.sent))...)
}

// logAnswer writes the Debug lines of a finished call.
func (c *Client) logAnswer(ctx context.Context, cl call, st attempts, last *response, rep report) {
	if !c.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	call, attempts := slog.String("call", cl.op), slog.Int("attempts", st.sent)
	if len(rep.unreadable) > 0 {
		c.logger.LogAttrs(ctx, slog.LevelDebug, "iimmpact: unreadable fields", slog.Any("fields", rep.unreadable), call, attempts)
	}
	if last != nil {
		c.logger.LogAttrs(ctx, slog.LevelDebug, "iimmpact: answer", slog.Int("status", last.status), slog.String("request_id", last.requestID), call, attempts)
	}
}

func (c *Client) redactor(cl call, sigs []string) *redactor {
	return newRedactor(c.signer, sigs, cl.personal...)
}

// requestID returns the identifier an API gateway gives an answer, bounded.
func requestID(h http.Header) string {
	for _, name := range [...]string{"X-Amzn-Requestid", "X-Request-Id", "X-Amz-Apigw-Id"} {
		if v := strings.TrimSpace(h.Get(name)); v != "" && len(v) <= 128 && validHeaderValue(v) {
			return v
		}
	}
	return ""
}

// errStopped is the cause of a call that WithStop's stop ended before it sent
// anything new.
var errStopped = errors.New("the caller stopped sending (WithStop)")

// stopped returns the error of a call that must send nothing new: the stop
// of WithStop is done. It returns nil otherwise.
func stopped(ctx context.Context) error {
	if s, _ := ctx.Value(stopKey{}).(context.Context); s != nil && s.Err() != nil {
		return &notSentError{errStopped}
	}
	return nil
}

// stopDone is the Done channel of ctx's stop; nil (never ready) when it has
// none.
func stopDone(ctx context.Context) <-chan struct{} {
	if s, _ := ctx.Value(stopKey{}).(context.Context); s != nil {
		return s.Done()
	}
	return nil
}

// untilStop returns ctx, cancelled also when its stop is done: the context a
// call waits in (for its quota slot, for a backoff) but never sends in.
func untilStop(ctx context.Context) (context.Context, context.CancelFunc) {
	s, _ := ctx.Value(stopKey{}).(context.Context)
	if s == nil {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	unregister := context.AfterFunc(s, func() { cancel(errStopped) })
	return ctx, func() { unregister(); cancel(nil) }
}

// pause waits d, or less when ctx ends or its stop is done: then it returns
// the context's error, or an error matching ErrNotSent.
func (c *Client) pause(ctx context.Context, d time.Duration) error {
	waitCtx, done := untilStop(ctx)
	defer done()
	err := c.sleep(waitCtx, d)
	if err != nil && ctx.Err() == nil {
		if serr := stopped(ctx); serr != nil {
			return serr
		}
	}
	return err
}

// stdTransport is net/http's own DefaultTransport, as the process started.
var stdTransport = http.DefaultTransport

// ownTransport is a client's own connection pool, sized so 64 concurrent
// callers reuse connections; the API's headers are small, so a flood is
// refused. It sends through http.DefaultTransport instead once something
// replaced it (httpmock.Activate, gock, an APM agent's wrapper), so that a
// mock or an agent installed the usual way sees the client's requests.
type ownTransport struct{ pool *http.Transport }

func newOwnTransport() ownTransport {
	std, ok := stdTransport.(*http.Transport)
	if !ok {
		return ownTransport{} // something replaced it before this package was initialised
	}
	t := std.Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	t.MaxResponseHeaderBytes = 64 << 10
	return ownTransport{pool: t}
}

func (t ownTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if rt := http.DefaultTransport; rt != stdTransport || t.pool == nil {
		return rt.RoundTrip(req)
	}
	return t.pool.RoundTrip(req)
}

// CloseIdleConnections closes the pool's idle connections, never those of a
// transport the client does not own.
func (t ownTransport) CloseIdleConnections() {
	if t.pool != nil {
		t.pool.CloseIdleConnections()
	}
}

// refuseRedirect hands back the 3xx response, so the credential headers are
// never sent to the redirect's target.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
