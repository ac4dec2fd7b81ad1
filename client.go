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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-querystring/query"

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

const version = "0.2.0"

// skewThreshold: a 401 whose Date is further than this from our clock is taken
// as clock skew and re-signed once with the server's time. The API's window is
// reported as five minutes (unconfirmed).
const skewThreshold = 4 * time.Minute

// Client calls the IIMMPACT API. It is safe for concurrent use; create one and
// share it. Its credentials live in its Signer, behind a pointer, so no fmt verb
// or slog handler prints them.
type Client struct {
	baseURL    string
	endpoint   string // baseURL + "/v2/bill-presentment"
	hc         *http.Client
	signer     *Signer
	maxRetries int
	timeout    time.Duration
	userAgent  string
	logger     *slog.Logger
	maxBody    int64
	backoff    retry.Backoff
	envHint    string // why a 401 may come from a key meeting the other environment

	skew    atomic.Int64 // nanoseconds to add to our clock, learnt from the server's Date
	budget  *retry.Budget
	flights *flights // nil unless WithCoalescing
	quota   quotaConfig
	guard   *guard // nil when the quota guard is off

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
		hc:         &http.Client{Transport: sharedTransport()},
		signer:     signer,
		maxRetries: retry.DefaultMaxRetries,
		timeout:    35 * time.Second, // above the API's own 29 s, so its 504 arrives first
		userAgent:  "iimmpact-go/" + version,
		logger:     slog.New(slog.DiscardHandler),
		maxBody:    1 << 20,
		backoff:    retry.DefaultBackoff,
		budget:     retry.NewBudget(),
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
	c.endpoint = c.baseURL + "/v2/bill-presentment"
	if err := c.setupGuard(c.quota); err != nil {
		return nil, err
	}
	c.hc.CheckRedirect = refuseRedirect
	switch {
	case strings.HasPrefix(apiKey, "iimm_dev_") && c.baseURL == ProductionURL:
		c.envHint = "an iimm_dev_ key works only with StagingURL"
	case strings.HasPrefix(apiKey, "iimm_prod_") && c.baseURL == StagingURL:
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

var sharedTransport = sync.OnceValue(func() *http.Transport {
	// One connection pool per process, sized so 64 concurrent callers reuse
	// connections; the API's headers are small, so a flood is refused.
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	t.MaxResponseHeaderBytes = 64 << 10
	return t
})

// refuseRedirect hands back the 3xx response, so the credential headers are
// never sent to the redirect's target.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// call is one BillPresentment: its query, and what its attempts sent and learnt.
type call struct {
	rawQuery   string
	canonQuery string
	account    string
	sent       int       // requests sent, a re-signed one included
	retries    int       // retries taken, against maxRetries
	resigned   bool      // the one clock-skew re-sign is spent
	sigs       []string  // every signature sent, for redaction
	last       *response // the last answer, for the error when a later attempt gets none
}

// response is one attempt's answer, its body read and closed.
type response struct {
	status int
	header http.Header
	body   []byte
	jitter float64 // drawn once per request, so coalesced callers retry together
}

// outcome is what one request came to.
type outcome struct {
	res *response // nil when there was no answer
	sig string    // the signature sent, "" when nothing was sent
	err error
}

// finalError marks an attempt's error that another attempt would repeat.
type finalError struct{ error }

func (e finalError) Unwrap() error { return e.error }

// BillPresentment fetches the customer's outstanding bill.
//
// It returns a Bill, and no error, for the API's two outcome answers: HTTP 200
// and the documented HTTP 400 that carries the same envelope (an invalid
// account); an envelope that blocks is a Bill under any other status too.
// Anything else is an error and a nil Bill, whose Decision is hide and can
// proceed: an invalid query (ErrInvalidQuery, nothing sent), an *APIError, a
// body that is malformed (ErrMalformedResponse) or too large
// (ErrResponseTooLarge), a transport failure, or the context's error.
//
// Every attempt is signed afresh. Transport errors, 429, 500, 502, 503 and 504
// are retried with capped exponential backoff and jitter, honouring
// Retry-After, never past ctx's deadline; no other status is retried.
func (c *Client) BillPresentment(ctx context.Context, q Query) (*Bill, error) {
	if ctx == nil {
		return nil, errors.New("iimmpact: bill presentment: nil Context (use context.Background())")
	}
	cl := &call{account: q.Account}
	if err := q.Validate(); err != nil {
		return nil, c.fail(cl, err)
	}
	values, err := query.Values(q)
	if err != nil {
		return nil, c.fail(cl, &QueryError{Field: "query", Rule: "cannot be encoded: " + err.Error()})
	}
	cl.rawQuery, cl.canonQuery = values.Encode(), canonicalQuery(values)
	for {
		out := c.send(ctx, cl)
		wait, again := c.shouldRetry(ctx, cl, out)
		if !again {
			return c.finish(cl, out.err)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return c.finish(cl, joinCtx(err, out.err))
		}
	}
}

// send makes one attempt, shared with identical calls in flight when
// coalescing, and records it on cl.
func (c *Client) send(ctx context.Context, cl *call) outcome {
	if err := ctx.Err(); err != nil {
		return outcome{err: err} // a cancelled call sends nothing
	}
	var out outcome
	if c.flights != nil {
		out = c.flights.do(ctx, cl.rawQuery, func(ctx context.Context) outcome { return c.attempt(ctx, cl.rawQuery, cl.canonQuery) })
	} else {
		out = c.attempt(ctx, cl.rawQuery, cl.canonQuery)
	}
	if out.sig != "" {
		cl.sent++
		cl.sigs = append(cl.sigs, out.sig)
	}
	if out.res != nil {
		cl.last = out.res
	}
	return out
}

// shouldRetry decides whether another attempt is worth making, and after how
// long: transport errors, 429 and 5xx within the retries, the retry budget and
// ctx's deadline; a 401 from clock skew once, at once.
func (c *Client) shouldRetry(ctx context.Context, cl *call, out outcome) (time.Duration, bool) {
	if ctx.Err() != nil {
		return 0, false
	}
	var fe finalError
	var jitter float64
	switch {
	case out.err != nil:
		if errors.As(out.err, &fe) || !retry.Error(ctx, out.err) {
			return 0, false
		}
		jitter = c.jitter()
		if c.logger.Enabled(ctx, slog.LevelDebug) {
			c.log(ctx, slog.LevelDebug, "iimmpact: attempt failed", cl, slog.String("error", c.redactor(cl).clean(out.err.Error())))
		}
	case out.res.status == http.StatusUnauthorized && !cl.resigned && c.learnSkew(ctx, out.res.header):
		cl.resigned = true
		return 0, true
	case !retry.Status(out.res.status):
		return 0, false
	default:
		jitter = out.res.jitter
	}
	if cl.retries >= c.maxRetries || !c.budget.Allows() {
		return 0, false
	}
	wait := c.backoff.Delay(cl.retries+1, jitter)
	if out.res != nil {
		if after, ok := parseRetryAfter(out.res.header); ok {
			wait = min(after, retry.MaxRetryAfter)
		}
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
		return 0, false // the wait alone would outlast the caller: answer now
	}
	cl.retries++
	c.log(ctx, slog.LevelWarn, "iimmpact: retrying", cl, slog.Duration("wait", wait))
	return wait, true
}

// finish builds the call's result from its last answer and err, the error of
// the last attempt or of the wait after it.
func (c *Client) finish(cl *call, err error) (*Bill, error) {
	res := cl.last
	if res != nil && c.logger.Enabled(context.Background(), slog.LevelDebug) {
		c.log(context.Background(), slog.LevelDebug, "iimmpact: answer", cl, slog.Int("status", res.status),
			slog.String("request_id", c.redactor(cl).clean(requestID(res.header))))
	}
	var quotaErr *QuotaError
	var blocked *blockedError
	switch {
	case errors.As(err, &quotaErr): // a copy for each caller, with the answer before it
		q := *quotaErr
		if res != nil {
			q.last = c.apiError(cl, res)
		}
		return nil, c.fail(cl, &q)
	case errors.As(err, &blocked):
		b := *blocked
		if b.last != nil {
			last := *b.last
			b.last = &last
		}
		return nil, c.fail(cl, &b)
	}
	if res == nil {
		return nil, c.fail(cl, err)
	}
	if err == nil {
		bill, decodeErr := DecodeBill(res.body)
		outcome := res.status == http.StatusOK || res.status == http.StatusBadRequest
		switch {
		// Any other status whose body is an envelope saying the account is
		// invalid still blocks: the API meant it, and a false block costs a
		// retry where a false pass costs a payment.
		case decodeErr == nil && (outcome || bill.Decision().Action == ActionBlock):
			bill.StatusCode = res.status
			if id := requestID(res.header); id != "" {
				bill.RequestID = c.redactor(cl).clean(id)
			}
			if len(bill.unreadable) > 0 {
				c.log(context.Background(), slog.LevelDebug, "iimmpact: unreadable fields", cl, slog.Any("fields", bill.unreadable))
			}
			return bill, nil
		case decodeErr != nil && res.status == http.StatusOK:
			return nil, c.fail(cl, decodeErr)
		}
	}
	apiErr := c.apiError(cl, res)
	if res.status == http.StatusForbidden && c.guard != nil {
		c.guard.breaker.remember(apiErr)
	}
	if err == nil {
		return nil, c.fail(cl, apiErr)
	}
	return nil, c.fail(cl, fmt.Errorf("%w (last answer: %w)", err, apiErr))
}

func joinCtx(ctxErr, last error) error {
	if last == nil || errors.Is(last, ctxErr) {
		return ctxErr
	}
	return fmt.Errorf("%w (last attempt: %w)", ctxErr, last)
}

// attempt sends one signed request and reads its body within the per-attempt
// timeout.
func (c *Client) attempt(ctx context.Context, rawQuery, canonQuery string) outcome {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint+"?"+rawQuery, nil)
	if err != nil {
		return outcome{err: finalError{err}}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	now := c.signer.now().Add(time.Duration(c.skew.Load()))
	sig, err := c.signer.sign(req.Header, now, http.MethodGet, canonQuery, emptyBodyHash)
	if err != nil {
		return outcome{err: finalError{err}}
	}
	status := 0 // what the breaker learns: 0 for no answer
	if c.guard != nil {
		t, err := c.guard.admit(ctx)
		if err != nil {
			return outcome{err: finalError{err}}
		}
		defer func() { c.guard.done(t, status) }()
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // its URL holds the customer's account number
			err = &url.Error{Op: ue.Op, URL: c.endpoint, Err: ue.Err}
		}
		c.budget.Record(false)
		return outcome{sig: sig, err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	switch {
	case int64(len(body)) > c.maxBody:
		return outcome{sig: sig, err: finalError{fmt.Errorf("%w: over %d bytes", ErrResponseTooLarge, c.maxBody)}}
	case err != nil:
		c.budget.Record(false)
		return outcome{sig: sig, err: err}
	}
	status = resp.StatusCode
	c.budget.Record(!retry.Status(resp.StatusCode))
	c.logger.LogAttrs(ctx, slog.LevelDebug, "iimmpact: attempt", slog.Int("status", resp.StatusCode), slog.Duration("elapsed", time.Since(start)))
	return outcome{sig: sig, res: &response{status: resp.StatusCode, header: resp.Header, body: body, jitter: c.jitter()}}
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

func (c *Client) log(ctx context.Context, level slog.Level, msg string, cl *call, attrs ...slog.Attr) {
	if !c.logger.Enabled(ctx, level) {
		return
	}
	c.logger.LogAttrs(ctx, level, msg, append(attrs, slog.Int("attempts", cl.sent))...)
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

// CloseIdleConnections closes the idle connections of the client's transport,
// for tests that check for leaked goroutines (goleak) after using a client.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }
