package iimmpact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iimmpact-go/iimmpact/internal/quota"
	"github.com/iimmpact-go/iimmpact/internal/retry"
)

// The API's environments, for WithBaseURL.
const (
	ProductionURL = "https://api.iimmpact.com"
	StagingURL    = "https://staging.iimmpact.com"
)

// Environment variables read by NewClientFromEnv.
const (
	envAPIKey     = "IIMMPACT_API_KEY"
	envHMACSecret = "IIMMPACT_HMAC_SECRET"
	envBaseURL    = "IIMMPACT_BASE_URL"
)

// Version is this release of the SDK, sent in the User-Agent.
const Version = "0.3.0"

// skewThreshold: a 401 whose Date is further than this from our clock is taken
// as clock skew and re-signed once with the server's time. The API's window is
// reported as five minutes (unconfirmed).
const skewThreshold = 4 * time.Minute

// Client calls the IIMMPACT API. It is safe for concurrent use; create one and
// share it. Its credentials live in its Signer, where no fmt verb or slog
// handler reaches them.
type Client struct {
	baseURL    string
	hc         *http.Client
	signer     *Signer
	maxRetries int
	timeout    time.Duration
	userAgent  string
	logger     *slog.Logger
	maxBody    int64
	backoff    retry.Backoff
	envHint    string   // why a 401 may come from a key meeting the other environment
	observer   Observer // nil: nothing to report to, nothing computed for it

	skew    atomic.Int64 // nanoseconds to add to our clock, learnt from the server's Date
	budget  *retry.Budget
	flights *flights // nil unless WithCoalescing

	quota     quotaConfig
	quotaWait time.Duration
	origins   *quota.Table // quota.Process; a test's own table
	guard     *quota.Guard // nil with WithoutQuota

	// Replaced by tests.
	sleep  func(context.Context, time.Duration) error
	jitter func() float64
}

// NewClient returns a Client that signs every request with apiKey and hmacSecret
// (the Base64 secret from the dashboard). It goes to ProductionURL, or to
// StagingURL for an "iimm_dev_" key, unless WithBaseURL says otherwise.
func NewClient(apiKey, hmacSecret string, opts ...Option) (*Client, error) {
	signer, err := NewSigner(apiKey, hmacSecret)
	if err != nil {
		return nil, err
	}
	c := &Client{
		hc:         &http.Client{Transport: defaultTransport{}},
		signer:     signer,
		maxRetries: retry.DefaultMaxRetries,
		timeout:    35 * time.Second, // above the API's own 29 s, so its 504 arrives first
		userAgent:  "iimmpact-go/" + Version,
		logger:     slog.New(slog.DiscardHandler),
		maxBody:    1 << 20,
		backoff:    retry.DefaultBackoff,
		budget:     retry.NewBudget(),
		origins:    quota.Process,
		sleep:      retry.Wait,
		jitter:     rand.Float64,
	}
	for _, opt := range opts {
		if opt == nil {
			return nil, errors.New("iimmpact: NewClient: nil Option")
		}
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	if c.baseURL == "" {
		c.baseURL = ProductionURL
		if strings.HasPrefix(apiKey, "iimm_dev_") {
			c.baseURL = StagingURL
		}
	}
	if err := c.setupGuard(); err != nil {
		return nil, err
	}
	c.hc.CheckRedirect = refuseRedirect
	switch origin := originOf(c.baseURL); {
	case strings.HasPrefix(apiKey, "iimm_dev_") && origin == originOf(ProductionURL):
		c.envHint = "an iimm_dev_ key works only with StagingURL"
	case strings.HasPrefix(apiKey, "iimm_prod_") && origin == originOf(StagingURL):
		c.envHint = "an iimm_prod_ key works only with ProductionURL"
	}
	return c, nil
}

// NewClientFromEnv is NewClient with the key and secret from IIMMPACT_API_KEY
// and IIMMPACT_HMAC_SECRET, and the base URL from IIMMPACT_BASE_URL when it is
// set. Options given here come after, and so win over, the environment. Its
// errors name the variable at fault.
func NewClientFromEnv(opts ...Option) (*Client, error) {
	key, secret, base := os.Getenv(envAPIKey), os.Getenv(envHMACSecret), os.Getenv(envBaseURL)
	switch {
	case key == "":
		return nil, errors.New("iimmpact: environment variable " + envAPIKey + " is not set")
	case secret == "":
		return nil, errors.New("iimmpact: environment variable " + envHMACSecret + " is not set")
	}
	if _, err := NewSigner(key, "AA=="); err != nil {
		return nil, fmt.Errorf("iimmpact: environment variable %s: %s", envAPIKey, strings.TrimPrefix(err.Error(), "iimmpact: "))
	}
	if _, err := NewSigner("k", secret); err != nil {
		return nil, fmt.Errorf("iimmpact: environment variable %s: %s", envHMACSecret, strings.TrimPrefix(err.Error(), "iimmpact: "))
	}
	if base != "" {
		if _, err := parseBaseURL(base); err != nil {
			return nil, fmt.Errorf("iimmpact: environment variable %s: %w", envBaseURL, err)
		}
		opts = append([]Option{WithBaseURL(base)}, opts...)
	}
	return NewClient(key, secret, opts...)
}

// stdTransport is net/http's own DefaultTransport, as the process started.
var stdTransport = http.DefaultTransport

// tunedTransport is one connection pool per process, sized so 64 concurrent
// callers reuse connections; the API's headers are small, so a flood is
// refused. It is nil when something replaced http.DefaultTransport before
// this package was initialised.
var tunedTransport = sync.OnceValue(func() *http.Transport {
	std, ok := stdTransport.(*http.Transport)
	if !ok {
		return nil
	}
	t := std.Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	t.MaxResponseHeaderBytes = 64 << 10
	return t
})

// defaultTransport is the transport of a client without WithHTTPClient. It
// sends through the tuned pool while http.DefaultTransport is net/http's own,
// and through http.DefaultTransport once something replaced it
// (httpmock.Activate, gock, an APM agent's wrapper), so that a mock or an
// agent installed the usual way sees the client's requests.
type defaultTransport struct{}

func (defaultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if rt := http.DefaultTransport; rt != stdTransport || tunedTransport() == nil {
		return rt.RoundTrip(req)
	}
	return tunedTransport().RoundTrip(req)
}

func (defaultTransport) CloseIdleConnections() {
	if t := tunedTransport(); t != nil {
		t.CloseIdleConnections()
	}
	if rt, ok := http.DefaultTransport.(interface{ CloseIdleConnections() }); ok {
		rt.CloseIdleConnections()
	}
}

// refuseRedirect hands back the 3xx response, so the credential headers are
// never sent to the redirect's target.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// CloseIdleConnections closes the idle connections of the client's transport,
// for tests that check for leaked goroutines (goleak) after using a client.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// The calls, as observers and logs name them.
const (
	opBillPresentment = "bill_presentment"
	opNetworkStatus   = "network_status"
)

// call is one API call: what it asks, how to read its answers, and what its
// attempts sent and learnt.
type call struct {
	op         string
	path       string
	product    string
	personal   [2]string // the account number and Ref-2: redacted wherever they appear
	rawQuery   string
	canonQuery string
	quotaWait  time.Duration
	// check classifies an answer; for an outcome it keeps the result and
	// sets decision.
	check    func(*response) (verdict, error)
	decision Decision

	sent     int      // requests sent, a re-signed one included
	retries  int      // retries taken, against maxRetries
	resigned bool     // the one clock-skew re-sign is spent
	sigs     []string // every signature sent, for redaction
	waited   time.Duration
}

func (cl *call) setQuery(values url.Values) {
	cl.rawQuery, cl.canonQuery = values.Encode(), canonicalQuery(values)
}

// verdict is what one answer means to a call.
type verdict uint8

const (
	notOutcome verdict = iota // retried when its status allows it, else an *APIError
	outcome                   // the call's result, under any status
	malformed                 // a 200 whose body is not the endpoint's envelope
)

// response is one attempt's answer, its body read and closed.
type response struct {
	status int
	header http.Header
	body   []byte
	jitter float64 // drawn once per request, so coalesced callers retry together
}

// finalError marks an attempt's error that another attempt would repeat.
type finalError struct{ error }

func (e finalError) Unwrap() error { return e.error }

// do runs cl until an answer is final, and returns that outcome's answer or
// the call's error, redacted.
func (c *Client) do(ctx context.Context, cl *call) (*response, error) {
	if ctx == nil {
		return nil, c.fail(cl, errors.New("nil Context (use context.Background())"))
	}
	var start time.Time
	var end func(CallResult)
	if c.observer != nil {
		start = time.Now()
		ctx, end = c.observer.StartCall(ctx, CallInfo{Operation: cl.op, Product: cl.product})
	}
	last, err := c.loop(ctx, cl)
	if err != nil {
		err = c.fail(cl, err)
	}
	if last != nil && c.logger.Enabled(ctx, levelDebug) {
		c.log(ctx, cl, levelDebug, "iimmpact: answer", slog.Int("status", last.status),
			slog.String("request_id", c.answerID(cl, last)))
	}
	if end != nil {
		end(c.callResult(cl, last, err, time.Since(start)))
	}
	if err != nil {
		return nil, err
	}
	return last, nil
}

// refuse ends a call that sends nothing, such as an invalid query.
func (c *Client) refuse(ctx context.Context, cl *call, err error) error {
	err = c.fail(cl, err)
	if c.observer != nil && ctx != nil {
		_, end := c.observer.StartCall(ctx, CallInfo{Operation: cl.op, Product: cl.product})
		end(c.callResult(cl, nil, err, 0))
	}
	return err
}

// loop makes the call's attempts, one after another: each answer is
// classified, and only one that is not an outcome may be retried. It returns
// the last answer of any attempt, which is the outcome when err is nil.
func (c *Client) loop(ctx context.Context, cl *call) (last *response, err error) {
	for {
		res, err := c.send(ctx, cl)
		if res != nil {
			last = res
			switch v, err := cl.check(res); v {
			case outcome:
				return last, nil
			case malformed:
				return last, err
			}
		}
		wait, why, again := c.shouldRetry(ctx, cl, res, err)
		if !again {
			return last, c.finalError(cl, last, err)
		}
		attrs := []slog.Attr{slog.String("reason", why), slog.Duration("wait", wait)}
		if err != nil && c.logger.Enabled(ctx, slog.LevelWarn) {
			attrs = append(attrs, slog.String("error", c.redactor(cl).clean(err.Error())))
		}
		c.log(ctx, cl, slog.LevelWarn, "iimmpact: retrying", attrs...)
		if serr := c.sleep(ctx, wait); serr != nil {
			return last, joinCtx(serr, c.finalError(cl, last, err))
		}
	}
}

// send makes one attempt, shared with identical calls in flight when
// coalescing, and records it on cl.
func (c *Client) send(ctx context.Context, cl *call) (*response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err // a cancelled call sends nothing
	}
	a := attemptSpec{path: cl.path, rawQuery: cl.rawQuery, canonQuery: cl.canonQuery, resend: cl.sent, quotaWait: cl.quotaWait}
	var out attemptResult
	if c.flights != nil {
		out = c.flights.do(ctx, cl.path+"?"+cl.rawQuery, func(ctx context.Context) attemptResult { return c.attempt(ctx, a) })
	} else {
		out = c.attempt(ctx, a)
	}
	if out.sig != "" {
		cl.sent++
		cl.sigs = append(cl.sigs, out.sig)
	}
	cl.waited += out.waited
	return out.res, out.err
}

// shouldRetry decides whether another attempt is worth making, after how
// long, and says why: transport errors, 429 and 5xx within the retries, the
// retry budget and ctx's deadline; a 401 from clock skew once, at once.
func (c *Client) shouldRetry(ctx context.Context, cl *call, res *response, err error) (time.Duration, string, bool) {
	if ctx.Err() != nil {
		return 0, "", false
	}
	var jitter float64
	var why string
	var fe finalError
	switch {
	case err != nil:
		if errors.As(err, &fe) || !retry.Error(ctx, err) {
			return 0, "", false
		}
		jitter, why = c.jitter(), "no answer"
	case res.status == http.StatusUnauthorized && !cl.resigned && c.learnSkew(ctx, res.header):
		cl.resigned = true
		return 0, "HTTP 401 with the server's clock far from ours: signing again with its time", true
	case !retry.Status(res.status):
		return 0, "", false
	default:
		jitter, why = res.jitter, "HTTP "+strconv.Itoa(res.status)
	}
	if cl.retries >= c.maxRetries || !c.budget.Allows() {
		return 0, "", false
	}
	wait := c.backoff.Delay(cl.retries+1, jitter)
	if res != nil {
		if after, ok := parseRetryAfter(res.header); ok {
			wait, why = min(after, retry.MaxRetryAfter), why+" with Retry-After"
		}
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
		return 0, "", false // the wait alone would outlast the caller: answer now
	}
	cl.retries++
	return wait, why, true
}

// finalError is the error of a call whose last attempt failed with err (nil
// when it was answered) after last, the last answer of any attempt.
func (c *Client) finalError(cl *call, last *response, err error) error {
	var apiErr *APIError
	if last != nil {
		apiErr = newAPIError(c.redactor(cl), last, cl.sent, c.envHint)
	}
	var qe *QuotaError
	switch {
	case errors.As(err, &qe):
		q := *qe // a copy for each caller, with the answer before it
		q.last = apiErr
		return &q
	case err != nil && apiErr != nil && !errors.Is(err, ErrBlocked):
		return fmt.Errorf("%w (last answer: %w)", err, apiErr)
	case err != nil:
		return err
	}
	if apiErr.StatusCode == http.StatusForbidden && c.guard != nil {
		c.guard.Remember(apiErr)
	}
	return apiErr
}

func joinCtx(ctxErr, last error) error {
	if last == nil || errors.Is(last, ctxErr) {
		return ctxErr
	}
	return fmt.Errorf("%w (last attempt: %w)", ctxErr, last)
}

// attemptSpec is what one request needs, copied from its call so that a
// shared request never reads a caller's changing state.
type attemptSpec struct {
	path, rawQuery, canonQuery string
	resend                     int
	quotaWait                  time.Duration
}

// attemptResult is what one request came to.
type attemptResult struct {
	res    *response // nil when there was no answer
	sig    string    // the signature sent, "" when nothing was sent
	waited time.Duration
	err    error
}

// attempt waits for the quota guard to admit one request, then signs and
// sends it and reads its body within the per-attempt timeout.
func (c *Client) attempt(ctx context.Context, a attemptSpec) (out attemptResult) {
	var ticket quota.Ticket
	if c.guard != nil {
		t, err := c.guard.Admit(ctx, a.quotaWait)
		if err != nil {
			return attemptResult{err: finalError{c.refusal(err)}}
		}
		ticket, out.waited = t, t.Waited
	}
	status := 0 // what the breaker learns: 0 for no answer
	var end func(RequestResult)
	if c.observer != nil {
		ctx, end = c.observer.StartRequest(ctx, RequestInfo{Method: http.MethodGet, URL: c.baseURL + a.path,
			Resend: a.resend, QuotaWait: ticket.Waited, Probe: ticket.Probe})
	}
	start := time.Now()
	defer func() {
		var opened bool
		if c.guard != nil {
			opened = c.guard.Done(ctx, ticket, status)
		}
		if end != nil {
			end(RequestResult{StatusCode: status, Duration: time.Since(start), ErrorType: errorType(out.err), BreakerOpened: opened})
		}
	}()

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.baseURL+a.path+"?"+a.rawQuery, nil)
	if err != nil {
		return attemptResult{err: finalError{err}}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	// Signed only now, after any wait for the quota: the API refuses an old
	// timestamp.
	out.sig, err = c.signer.sign(req.Header, c.signer.now().Add(time.Duration(c.skew.Load())), http.MethodGet, a.canonQuery, emptyBodyHash)
	if err != nil {
		return attemptResult{err: finalError{err}}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // its URL holds the customer's account number
			err = &url.Error{Op: ue.Op, URL: c.baseURL + a.path, Err: ue.Err}
		}
		c.budget.Record(false)
		out.err = err
		return out
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	switch {
	case int64(len(body)) > c.maxBody:
		out.err = finalError{fmt.Errorf("%w: over %d bytes", ErrResponseTooLarge, c.maxBody)}
		return out
	case err != nil:
		c.budget.Record(false)
		out.err = err
		return out
	}
	status = resp.StatusCode
	c.budget.Record(!retry.Status(resp.StatusCode))
	c.logger.LogAttrs(ctx, slog.LevelDebug, "iimmpact: attempt", slog.Int("status", resp.StatusCode), slog.Duration("elapsed", time.Since(start)))
	out.res = &response{status: resp.StatusCode, header: resp.Header, body: body, jitter: c.jitter()}
	return out
}

// learnSkew reads the server's Date from a 401. When it is further than
// skewThreshold from our (already corrected) clock, it keeps the difference for
// every later signature and reports true so the request is signed again once.
func (c *Client) learnSkew(ctx context.Context, h http.Header) bool {
	serverTime, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return false
	}
	local := c.signer.now()
	if diff := serverTime.Sub(local.Add(time.Duration(c.skew.Load()))); diff < skewThreshold && diff > -skewThreshold {
		return false
	}
	offset := serverTime.Sub(local)
	c.skew.Store(int64(offset))
	c.logger.LogAttrs(ctx, slog.LevelWarn, "iimmpact: server clock differs from ours; signing with its time", slog.Duration("offset", offset.Round(time.Second)))
	return true
}

const levelDebug = slog.LevelDebug

// log writes one line with the call's operation and attempts so far.
func (c *Client) log(ctx context.Context, cl *call, level slog.Level, msg string, attrs ...slog.Attr) {
	if !c.logger.Enabled(ctx, level) {
		return
	}
	c.logger.LogAttrs(ctx, level, msg, append(attrs, slog.String("call", cl.op), slog.Int("attempts", cl.sent))...)
}

// fail is the one place an error leaves a call: prefixed once, redacted.
func (c *Client) fail(cl *call, err error) error {
	text := err.Error()
	clean := c.redactor(cl).clean(text)
	return &callError{
		msg:    "iimmpact: " + strings.ReplaceAll(cl.op, "_", " ") + ": " + strings.TrimPrefix(clean, "iimmpact: "),
		cause:  err,
		hidden: clean != text,
	}
}

func (c *Client) redactor(cl *call) *redactor {
	return newRedactor(c.signer, cl.sigs, cl.personal[:]...)
}

// answerID is the request ID of res, redacted for cl; the redactor is built
// only when there is one.
func (c *Client) answerID(cl *call, res *response) string {
	if id := requestID(res.header); id != "" {
		return c.redactor(cl).clean(id)
	}
	return ""
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

// parseRetryAfter reads the answer's Retry-After.
func parseRetryAfter(h http.Header) (time.Duration, bool) {
	return retry.ParseRetryAfter(h.Get("Retry-After"), time.Now())
}
