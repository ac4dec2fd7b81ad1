package iimmpact

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"
)

// Observer sees what a Client does, for telemetry: each call, and each HTTP
// request a call sends, with the caller's context. Module
// github.com/iimmpact-go/iimmpact/iimmpactotel is one, for OpenTelemetry
// traces and metrics. What an Observer is given is redacted as errors are: it
// never holds a credential, a nonce, a signature, the account number or Ref-2.
// Its methods are called from the calling goroutines, concurrently.
//
// A panic in an Observer (or in a WithLogger handler) reaches the caller, in
// its own goroutine, as a bug should; the client settles the request first,
// so the quota slot it held and the 403 breaker's probe are never left taken.
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
	return func(opts *options) error {
		if o == nil {
			return errors.New("iimmpact: WithObserver: observer is nil")
		}
		opts.observer = o
		return nil
	}
}

// CallInfo is what a call asks.
type CallInfo struct {
	// Operation is "bill_presentment", "network_status", "payment" or
	// "balance".
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
	// is none, else one of the ErrorKind constants.
	ErrorKind ErrorKind
	// TransactionStatus is a payment's status ("" for other calls and for
	// a payment that failed).
	TransactionStatus TransactionStatus
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
	// ErrorType names a failure to get an answer: "" for none, else one of
	// the ErrorType constants. An attempt cut short by WithTimeout or by the
	// caller's deadline is ErrorTypeTimeout.
	ErrorType ErrorType
	// BreakerOpened reports that this answer opened the 403 breaker.
	BreakerOpened bool
}

// ErrorKind names a call's error in a word, for a metric's attribute. The
// values are stable: operators alert on them.
type ErrorKind string

// The kinds of a call's error.
const (
	ErrorKindInvalidQuery      ErrorKind = "invalid_query"      // ErrInvalidQuery: nothing sent
	ErrorKindInvalidPayment    ErrorKind = "invalid_payment"    // ErrInvalidPayment: nothing sent (0.4.0 said invalid_query)
	ErrorKindNotSent           ErrorKind = "not_sent"           // ErrNotSent: stopped (WithStop) before anything was sent
	ErrorKindQuotaExceeded     ErrorKind = "quota_exceeded"     // ErrQuotaExceeded: not sent
	ErrorKindBlocked           ErrorKind = "blocked"            // ErrBlocked: not sent
	ErrorKindHTTPError         ErrorKind = "http_error"         // an *APIError
	ErrorKindMalformedResponse ErrorKind = "malformed_response" // ErrMalformedResponse
	ErrorKindResponseTooLarge  ErrorKind = "response_too_large" // ErrResponseTooLarge
	ErrorKindRedirect          ErrorKind = "redirect"           // ErrRedirect
	ErrorKindCanceled          ErrorKind = "canceled"           // the caller cancelled
	ErrorKindDeadlineExceeded  ErrorKind = "deadline_exceeded"  // a deadline or timeout, the caller's or WithTimeout's
	ErrorKindTransport         ErrorKind = "transport"          // no answer for another reason
	ErrorKindOutcomeUnknown    ErrorKind = "outcome_unknown"    // ErrOutcomeUnknown: a payment may have been made
)

// ErrorType names why one request got no answer, for a metric's attribute.
// The values are stable.
type ErrorType string

// The reasons a request got no answer.
const (
	ErrorTypeTimeout          ErrorType = "timeout" // WithTimeout, the caller's deadline, or the network's
	ErrorTypeCanceled         ErrorType = "canceled"
	ErrorTypeResponseTooLarge ErrorType = "response_too_large"
	ErrorTypeTransport        ErrorType = "transport"
)

// callResult is what the observer hears of a finished call.
func callResult(rep report, st attempts, last *response, err error, d time.Duration) CallResult {
	r := CallResult{Decision: rep.decision, TransactionStatus: rep.status, Attempts: st.sent, Duration: d,
		QuotaWait: st.waited, Err: err, ErrorKind: errorKind(err)}
	if last != nil {
		r.StatusCode, r.RequestID = last.status, last.requestID
	}
	return r
}

func errorKind(err error) ErrorKind {
	var apiErr *APIError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrOutcomeUnknown):
		return ErrorKindOutcomeUnknown
	case errors.Is(err, ErrInvalidQuery):
		return ErrorKindInvalidQuery
	case errors.Is(err, ErrInvalidPayment):
		return ErrorKindInvalidPayment
	case errors.Is(err, ErrNotSent):
		return ErrorKindNotSent
	case errors.Is(err, ErrQuotaExceeded):
		return ErrorKindQuotaExceeded
	case errors.Is(err, ErrBlocked):
		return ErrorKindBlocked
	case errors.Is(err, ErrMalformedResponse):
		return ErrorKindMalformedResponse
	case errors.Is(err, ErrRedirect):
		return ErrorKindRedirect
	case errors.As(err, &apiErr):
		return ErrorKindHTTPError
	}
	switch errorType(err) {
	case ErrorTypeResponseTooLarge:
		return ErrorKindResponseTooLarge
	case ErrorTypeCanceled:
		return ErrorKindCanceled
	case ErrorTypeTimeout:
		return ErrorKindDeadlineExceeded
	}
	return ErrorKindTransport
}

func errorType(err error) ErrorType {
	var timeout interface{ Timeout() bool }
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrResponseTooLarge):
		return ErrorTypeResponseTooLarge
	case errors.Is(err, context.Canceled):
		return ErrorTypeCanceled
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &timeout) && timeout.Timeout():
		return ErrorTypeTimeout
	}
	return ErrorTypeTransport
}

// unrecognised is the vendor-drift alarm: the first time the clients of a
// Shared meet a
// text in field that the vendor's table does not list (data.message reworded
// as "Invalid account number", say, which would let payments through), it logs
// a Warn; the call's reason, unrecognised_message, counts every time. A text
// that could be a rewording of "Invalid account no" warns the first time
// whatever came before, and every time once its own set is full.
func (c *Client) unrecognised(ctx context.Context, cl call, sigs []string, field, text string) {
	if !c.logger.Enabled(ctx, slog.LevelWarn) {
		return
	}
	text = c.redactor(cl, sigs).clean(normalMessage(text))
	if len(text) > 200 {
		text = excerpt([]byte(text), 200)
	}
	if c.shared.drift.first(field, text) {
		c.logger.LogAttrs(ctx, slog.LevelWarn, "iimmpact: "+field+" is not one the SDK knows; the vendor may have reworded it (alert on reason "+string(ReasonUnrecognised)+")",
			slog.String("text", text), slog.String("product", cl.product))
	}
}

// resemblesBlock reports a text that could be the vendor rewording "Invalid
// account no", in English or Malay.
func resemblesBlock(text string) bool {
	t := strings.ToLower(text)
	for _, w := range [...]string{"invalid", "not valid", "tidak sah", "not found", "tidak dijumpai", "does not exist", "incorrect", "wrong"} {
		if strings.Contains(t, w) {
			return true
		}
	}
	return false
}
