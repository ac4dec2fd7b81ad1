package iimmpact

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Observer sees what a Client does, for telemetry: each call, and each HTTP
// request a call sends, with the caller's context. Module
// github.com/iimmpact-go/iimmpact/iimmpactotel is one, for OpenTelemetry
// traces and metrics. What an Observer is given is redacted as errors are: it
// never holds a credential, a nonce, a signature, the account number or Ref-2.
// Its methods are called from the calling goroutines, concurrently.
type Observer interface {
	// StartCall is called when a call starts. The call goes on with the
	// context it returns (to carry a span); it calls end once, when it ends.
	StartCall(ctx context.Context, call CallInfo) (_ context.Context, end func(CallResult))
	// StartRequest is called before each HTTP request, once the quota guard
	// admitted it; it calls end once the body is read or the request failed.
	StartRequest(ctx context.Context, req RequestInfo) (_ context.Context, end func(RequestResult))
}

// WithObserver makes the client report its calls and requests to o.
func WithObserver(o Observer) Option {
	return func(c *Client) error {
		if o == nil {
			return errors.New("iimmpact: WithObserver: observer is nil")
		}
		c.observer = o
		return nil
	}
}

// CallInfo is what a call asks.
type CallInfo struct {
	// Operation is "bill_presentment" or "network_status".
	Operation string
	// Product is the product code queried, such as "TNB".
	Product string
}

// CallResult is what a call came to.
type CallResult struct {
	// Decision is a bill presentment's decision (the fail-open hide of an
	// error included); the zero Decision for other calls.
	Decision Decision
	// Attempts is how many requests were sent.
	Attempts int
	// Duration is the call's whole time, waits included.
	Duration time.Duration
	// QuotaWait is how long the call waited for the quota (WithQuotaWait).
	QuotaWait time.Duration
	// StatusCode is the status of the last answer; 0 when there was none.
	StatusCode int
	// RequestID is the API's identifier of the last answer, if any.
	RequestID string
	// Err is the call's error, as the caller gets it.
	Err error
	// ErrorKind names Err in a word, for a metric's attribute: "" when there
	// is none, else invalid_query, quota_exceeded, blocked, http_error,
	// malformed_response, response_too_large, redirect, canceled,
	// deadline_exceeded or transport.
	ErrorKind string
}

// RequestInfo is one HTTP request about to be sent.
type RequestInfo struct {
	Method string
	// URL is the request's URL without its query, which holds the account
	// number.
	URL string
	// Resend is 0 for a call's first request, n for its n-th retry or re-sign.
	Resend int
	// QuotaWait is how long the request waited for the quota to admit it.
	QuotaWait time.Duration
	// Probe reports the one request the 403 breaker lets through after a
	// cool-down.
	Probe bool
}

// RequestResult is what one HTTP request came to.
type RequestResult struct {
	// StatusCode is the answer's status; 0 when none was read.
	StatusCode int
	Duration   time.Duration
	// ErrorType names a failure to get an answer: "" for none, else timeout,
	// canceled, response_too_large or transport.
	ErrorType string
	// BreakerOpened reports that this answer opened the 403 breaker.
	BreakerOpened bool
}

// callResult is what the observer hears of a finished call.
func (c *Client) callResult(cl *call, last *response, err error, d time.Duration) CallResult {
	r := CallResult{Decision: cl.decision, Attempts: cl.sent, Duration: d, QuotaWait: cl.waited, Err: err, ErrorKind: errorKind(err)}
	if err != nil && cl.op == opBillPresentment {
		r.Decision = (*Bill)(nil).Decision()
	}
	if last != nil {
		r.StatusCode, r.RequestID = last.status, c.answerID(cl, last)
	}
	return r
}

func errorKind(err error) string {
	var apiErr *APIError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrInvalidQuery):
		return "invalid_query"
	case errors.Is(err, ErrQuotaExceeded):
		return "quota_exceeded"
	case errors.Is(err, ErrBlocked):
		return "blocked"
	case errors.Is(err, ErrMalformedResponse):
		return "malformed_response"
	case errors.Is(err, ErrRedirect):
		return "redirect"
	case errors.As(err, &apiErr):
		return "http_error"
	}
	return errorType(err)
}

func errorType(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrResponseTooLarge):
		return "response_too_large"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	}
	var timeout interface{ Timeout() bool }
	if errors.As(err, &timeout) && timeout.Timeout() {
		return "timeout"
	}
	return "transport"
}

// maxUnrecognised bounds the texts the vendor-drift alarm remembers.
const maxUnrecognised = 256

// unrecognisedTexts are the texts the drift alarm has warned about, once each
// per process.
var unrecognisedTexts = struct {
	sync.Mutex
	seen map[string]bool
}{seen: map[string]bool{}}

// unrecognised is the vendor-drift alarm: the first time the process meets a
// text in field that the vendor's table does not list (data.message reworded
// as "Invalid account number", say, which would let payments through), it logs
// a Warn; the call's reason, unrecognised_message, counts every time.
func (c *Client) unrecognised(ctx context.Context, cl *call, field, text string) {
	text = c.redactor(cl).clean(normalMessage(text))
	if len(text) > 200 {
		text = excerpt([]byte(text), 200)
	}
	key := field + "\x00" + strings.ToLower(text)
	unrecognisedTexts.Lock()
	warn := !unrecognisedTexts.seen[key] && len(unrecognisedTexts.seen) < maxUnrecognised
	if warn {
		unrecognisedTexts.seen[key] = true
	}
	unrecognisedTexts.Unlock()
	if warn {
		c.logger.LogAttrs(ctx, slog.LevelWarn, "iimmpact: "+field+" is not one the SDK knows; the vendor may have reworded it (alert on reason "+string(ReasonUnrecognised)+")",
			slog.String("text", text), slog.String("product", cl.product))
	}
}
