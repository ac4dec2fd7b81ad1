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

	"github.com/iimmpact-go/iimmpact/internal/retry"
)

// Version is the SDK's version, sent in the User-Agent.
const Version = "0.1.0"

// The API's environments, for WithBaseURL.
const (
	ProductionURL = "https://api.iimmpact.com"
	StagingURL    = "https://staging.iimmpact.com"
)

const (
	prodKeyPrefix = "iimm_prod_"
	devKeyPrefix  = "iimm_dev_"
)

// Environment variables read by NewClientFromEnv.
const (
	EnvAPIKey     = "IIMMPACT_API_KEY"
	EnvHMACSecret = "IIMMPACT_HMAC_SECRET"
	EnvBaseURL    = "IIMMPACT_BASE_URL"
)

const (
	// skewThreshold: a 401 whose Date is further than this from our clock is
	// taken as clock skew and re-signed once with the server's time.
	skewThreshold = 4 * time.Minute
	// maxRetryAfter clamps the server's Retry-After.
	maxRetryAfter = 30 * time.Second
)

// Client calls the IIMMPACT API. It is safe for concurrent use; create one and
// share it. It never prints its credentials: every fmt verb and slog show it
// redacted.
type Client struct {
	endpoint   string // base + "/v2/bill-presentment"
	hc         *http.Client
	signer     *Signer
	maxRetries int
	timeout    time.Duration
	userAgent  string
	logger     *slog.Logger
	maxBody    int64
	backoff    retry.Backoff
	secrets    []string // for redacting response bodies
	keyHint    string   // set when the key's environment does not match the URL's
	*shared
}

// shared is the Client's mutable state, behind a pointer so a Client value can be
// printed (redacted) without copying a lock.
type shared struct {
	skew   atomic.Int64 // nanoseconds to add to our clock, learnt from the server's Date
	budget *retry.Budget
	group  *group // nil unless WithCoalescing

	// Hooks replaced by tests.
	sleep  func(context.Context, time.Duration) error
	jitter func() float64
}

var (
	defaultTransportOnce sync.Once
	defaultTransport     *http.Transport
)

// sharedTransport is the transport of every Client without WithHTTPClient: one
// connection pool per process, sized so 64 concurrent callers reuse connections.
func sharedTransport() *http.Transport {
	defaultTransportOnce.Do(func() {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = 256
		t.MaxIdleConnsPerHost = 128
		t.MaxResponseHeaderBytes = 64 << 10 // the API's headers are small; refuse a flood
		defaultTransport = t
	})
	return defaultTransport
}

// NewClient returns a Client that signs every request with apiKey and hmacSecret
// (the Base64 secret from the dashboard). It goes to ProductionURL, or to
// StagingURL for an "iimm_dev_" key, unless WithBaseURL says otherwise.
func NewClient(apiKey, hmacSecret string, opts ...Option) (*Client, error) {
	signer, err := NewSigner(apiKey, hmacSecret)
	if err != nil {
		return nil, err
	}
	cfg := config{
		maxRetries: DefaultMaxRetries,
		timeout:    DefaultTimeout,
		maxBody:    DefaultMaxResponseSize,
		logger:     slog.New(slog.DiscardHandler),
		backoff:    retry.Backoff{Base: 200 * time.Millisecond, Max: 4 * time.Second},
	}
	for _, opt := range opts {
		if opt == nil {
			return nil, errors.New("iimmpact: NewClient: nil Option")
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.baseURL == "" {
		cfg.baseURL = ProductionURL
		if strings.HasPrefix(apiKey, devKeyPrefix) {
			cfg.baseURL = StagingURL
		}
	}
	hc := &http.Client{Transport: sharedTransport()}
	if cfg.httpClient != nil {
		copied := *cfg.httpClient
		hc = &copied
	}
	hc.CheckRedirect = refuseRedirect
	ua := "iimmpact-go/" + Version
	if cfg.userAgent != "" {
		ua += " " + cfg.userAgent
	}
	c := &Client{
		endpoint:   cfg.baseURL + "/v2/bill-presentment",
		hc:         hc,
		signer:     signer,
		maxRetries: cfg.maxRetries,
		timeout:    cfg.timeout,
		userAgent:  ua,
		logger:     cfg.logger,
		maxBody:    cfg.maxBody,
		backoff:    cfg.backoff,
		secrets:    []string{apiKey, strings.TrimSpace(hmacSecret)},
		keyHint:    envMismatchHint(apiKey, cfg.baseURL),
		shared: &shared{
			budget: retry.NewBudget(10, 0.1),
			sleep:  retry.Wait,
			jitter: rand.Float64,
		},
	}
	if cfg.coalesce {
		c.group = &group{}
	}
	return c, nil
}

// NewClientFromEnv is NewClient with the key and secret from IIMMPACT_API_KEY
// and IIMMPACT_HMAC_SECRET, and the base URL from IIMMPACT_BASE_URL when it is
// set. Options given here come after, and so win over, the environment.
func NewClientFromEnv(opts ...Option) (*Client, error) {
	key, secret := os.Getenv(EnvAPIKey), os.Getenv(EnvHMACSecret)
	switch {
	case key == "":
		return nil, errors.New("iimmpact: environment variable " + EnvAPIKey + " is not set")
	case secret == "":
		return nil, errors.New("iimmpact: environment variable " + EnvHMACSecret + " is not set")
	}
	if base := os.Getenv(EnvBaseURL); base != "" {
		opts = append([]Option{WithBaseURL(base)}, opts...)
	}
	return NewClient(key, secret, opts...)
}

// envMismatchHint explains the API's "API key not found" when a key meets the
// other environment (reported by integrators, unconfirmed).
func envMismatchHint(apiKey, base string) string {
	switch {
	case strings.HasPrefix(apiKey, devKeyPrefix) && base == ProductionURL:
		return "an iimm_dev_ key works only with StagingURL"
	case strings.HasPrefix(apiKey, prodKeyPrefix) && base == StagingURL:
		return "an iimm_prod_ key works only with ProductionURL"
	}
	return ""
}

// refuseRedirect stops at the first redirect and hands back the 3xx response, so
// the credential headers are never sent to the redirect's target.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// CloseIdleConnections closes the idle connections of the client's transport.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// String describes the Client without its credentials.
func (c Client) String() string {
	return fmt.Sprintf("iimmpact.Client{endpoint: %s, apiKey: %s, secret: [REDACTED]}", c.endpoint, keyHint(c.signer.apiKey))
}

// GoString is String, so %#v does not print the credentials.
func (c Client) GoString() string { return c.String() }

// Format prints String for every verb, so no verb can reach the credentials.
func (c Client) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// LogValue keeps the credentials out of slog output.
func (c Client) LogValue() slog.Value { return slog.StringValue(c.String()) }

// response is one attempt's answer, its body already read and closed.
type response struct {
	status int
	header http.Header
	body   []byte
	sig    string // the signature that was sent, for redaction
}

// get sends a signed GET for the encoded query, retrying as the package doc
// describes, and returns the final answer. canonQuery is the signed form of the
// same query.
func (c *Client) get(ctx context.Context, rawQuery, canonQuery string) (*response, int, error) {
	target := c.endpoint + "?" + rawQuery
	skewRetried := false
	for attempt := 1; ; attempt++ {
		start := time.Now()
		res, err := c.attempt(ctx, target, canonQuery)
		if err != nil {
			err = c.hideQuery(err)
			if ctx.Err() != nil {
				return nil, attempt, fmt.Errorf("iimmpact: bill presentment: %w", joinCtx(ctx.Err(), err))
			}
			var final *finalError
			if errors.As(err, &final) || !retry.Error(ctx, err) {
				return nil, attempt, fmt.Errorf("iimmpact: bill presentment: %w", err)
			}
			c.logger.LogAttrs(ctx, slog.LevelDebug, "iimmpact: attempt failed", slog.Int("attempt", attempt), slog.String("error", err.Error()))
			if waitErr := c.backoffOrStop(ctx, attempt, 0, false, "transport error"); waitErr != nil {
				return nil, attempt, fmt.Errorf("iimmpact: bill presentment: %w", joinStop(waitErr, err))
			}
			continue
		}
		c.logger.LogAttrs(ctx, slog.LevelDebug, "iimmpact: attempt", slog.Int("attempt", attempt), slog.Int("status", res.status), slog.Duration("elapsed", time.Since(start)))
		switch {
		case res.status == http.StatusUnauthorized && !skewRetried && c.learnSkew(ctx, res.header):
			skewRetried = true
			attempt-- // the re-signed request does not count as a retry
			continue
		case retry.Status(res.status):
			after, hasAfter := retry.ParseRetryAfter(res.header.Get("Retry-After"), time.Now())
			if waitErr := c.backoffOrStop(ctx, attempt, after, hasAfter, http.StatusText(res.status)); waitErr != nil {
				if ctx.Err() != nil {
					return nil, attempt, fmt.Errorf("iimmpact: bill presentment: %w", joinCtx(ctx.Err(), c.apiError(res, attempt)))
				}
				return res, attempt, nil
			}
			continue
		}
		c.budget.Success()
		return res, attempt, nil
	}
}

// finalError marks an attempt's error that another attempt would repeat: a
// signing failure, or a body over the limit.
type finalError struct{ err error }

// Error returns the wrapped error's text.
func (e *finalError) Error() string { return e.err.Error() }

// Unwrap returns the wrapped error.
func (e *finalError) Unwrap() error { return e.err }

// hideQuery drops the query, which holds the customer's account number, from a
// transport error's URL: errors end up in logs, and an account number is
// personal data.
func (c *Client) hideQuery(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: c.endpoint, Err: ue.Err}
	}
	return err
}

// errNoRetry tells get to stop retrying and report the last answer.
var errNoRetry = errors.New("no retry")

// backoffOrStop waits before the next attempt, or says why there is none: retries
// used up, the retry budget spent, the wait would outlast the context, or the
// context ended while waiting.
func (c *Client) backoffOrStop(ctx context.Context, attempt int, after time.Duration, hasAfter bool, reason string) error {
	budgetOK := c.budget.Failure()
	if attempt > c.maxRetries || !budgetOK {
		return errNoRetry
	}
	d := c.backoff.Delay(attempt, c.jitter())
	if hasAfter {
		d = min(after, maxRetryAfter)
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return errNoRetry // the wait alone would outlast the caller
	}
	c.logger.LogAttrs(ctx, slog.LevelWarn, "iimmpact: retrying", slog.Int("attempt", attempt), slog.String("reason", reason), slog.Duration("wait", d))
	return c.sleep(ctx, d)
}

func joinCtx(ctxErr, last error) error {
	if errors.Is(last, ctxErr) {
		return last
	}
	return fmt.Errorf("%w (last attempt: %w)", ctxErr, last)
}

func joinStop(waitErr, last error) error {
	if errors.Is(waitErr, errNoRetry) {
		return last
	}
	return joinCtx(waitErr, last)
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
	offset := time.Duration(c.skew.Load())
	diff := serverTime.Sub(local.Add(offset))
	if diff < skewThreshold && diff > -skewThreshold {
		return false
	}
	newOffset := serverTime.Sub(local)
	c.skew.Store(int64(newOffset))
	c.logger.LogAttrs(ctx, slog.LevelWarn, "iimmpact: server clock differs from ours; signing with its time", slog.Duration("offset", newOffset.Round(time.Second)))
	return true
}

// ClockOffset returns the correction the client applies to its clock when
// signing, learnt from a server that rejected a request as stale.
func (c *Client) ClockOffset() time.Duration { return time.Duration(c.skew.Load()) }

// attempt sends one signed request and reads its body within the per-attempt
// timeout.
func (c *Client) attempt(ctx context.Context, target, canonQuery string) (*response, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	req.Header["Accept"] = []string{"application/json"}
	req.Header["User-Agent"] = []string{c.userAgent}
	now := c.signer.now().Add(time.Duration(c.skew.Load()))
	if err := c.signer.signHeader(req.Header, now, http.MethodGet, canonQuery, emptyBodyHash); err != nil {
		return nil, &finalError{err}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	res := &response{status: resp.StatusCode, header: resp.Header, sig: req.Header.Get(HeaderSignature)}
	if resp.ContentLength > c.maxBody {
		return nil, &finalError{fmt.Errorf("%w: Content-Length %d is over %d bytes", ErrResponseTooLarge, resp.ContentLength, c.maxBody)}
	}
	res.body, err = readBody(resp.Body, resp.ContentLength, c.maxBody)
	if errors.Is(err, ErrResponseTooLarge) {
		return nil, &finalError{err}
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// readBody reads all of r, refusing more than limit bytes. It reads into one
// buffer sized from Content-Length when that is known.
func readBody(r io.Reader, contentLength, limit int64) ([]byte, error) {
	size := int64(512)
	if contentLength > 0 {
		size = contentLength + 1 // +1 so the final Read sees EOF without growing
	}
	buf := make([]byte, 0, size)
	lr := &io.LimitedReader{R: r, N: limit + 1}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, fmt.Errorf("%w: over %d bytes", ErrResponseTooLarge, limit)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// apiError turns a final answer into an *APIError with its body redacted.
func (c *Client) apiError(res *response, attempts int) *APIError {
	secrets := append(c.secrets[:len(c.secrets):len(c.secrets)], strings.TrimPrefix(res.sig, "v1="))
	e := newAPIError(res.status, redact(res.body, secrets...))
	e.Attempts = attempts
	if res.status == http.StatusUnauthorized {
		e.hint = c.keyHint
	}
	return e
}
