package iimmpact

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/iimmpact-go/iimmpact/internal/quota"
	"github.com/iimmpact-go/iimmpact/internal/retry"
)

// ErrInvalidQuery is matched (errors.Is) by every error Query.Validate returns.
// Nothing is sent for an invalid query.
var ErrInvalidQuery = errors.New("iimmpact: invalid query")

// QueryCode says which rule a query broke, in a word a checkout can switch on
// to word the error in its own language. The values are stable.
type QueryCode string

// The rules of a query.
const (
	QueryRequired       QueryCode = "required"        // the field is empty
	QueryBadCharacter   QueryCode = "bad_character"   // a control or invisible character
	QueryJomPAYRequired QueryCode = "jompay_required" // biller_code is required when product is JOMPAY
	QueryJomPAYOnly     QueryCode = "jompay_only"     // biller_code, ref2 and amount are only for JOMPAY
	QueryBadAmount      QueryCode = "bad_amount"      // not a positive decimal with at most two decimals
	QueryAmountTooLarge QueryCode = "amount_too_large"
)

// QueryError names the query field that broke a rule. It matches ErrInvalidQuery.
type QueryError struct {
	Field string    // the query parameter, such as "biller_code"
	Code  QueryCode // the rule, such as QueryJomPAYRequired
	Rule  string    // the rule in English, such as "is required when product is JOMPAY"
}

// Error returns "iimmpact: invalid query: FIELD RULE".
func (e *QueryError) Error() string {
	return "iimmpact: invalid query: " + e.Field + " " + e.Rule
}

// Is makes errors.Is(err, ErrInvalidQuery) true.
func (e *QueryError) Is(target error) bool { return target == ErrInvalidQuery }

// Errors about a response that are not an APIError.
var (
	// ErrMalformedResponse is wrapped by every error about a response body
	// that is not the documented envelope: not a JSON object, no "data"
	// object, data.message missing or not a scalar, bytes after the envelope,
	// or a documented key sent twice. An envelope that says the account is
	// invalid is never malformed.
	ErrMalformedResponse = errors.New("iimmpact: malformed response")
	// ErrResponseTooLarge: the body was larger than the client's limit; no more
	// of it was read.
	ErrResponseTooLarge = errors.New("iimmpact: response body too large")
	// ErrRedirect: the API answered with a redirect, which is never followed, so
	// the credentials never reach another host. An APIError with a 3xx status
	// matches it.
	ErrRedirect = errors.New("iimmpact: redirect refused")
)

// APIError is an HTTP answer that is not the call's outcome: 401, 403, 404,
// 429, 5xx after retries, a redirect; for a bill presentment a 400 that is
// not the documented envelope; for a payment its documented 400 refusal
// (nothing created: Code says why). Its strings never hold a credential, a
// signature, the customer's account number, Ref-2 or IC number.
type APIError struct {
	StatusCode int
	// Code is the vendor's code, data.statusCode (such as 43, insufficient
	// wallet credit), an int as on Transaction and Callback; -1 when the
	// answer carried none.
	Code int
	// Kind is the body's "error", such as "unauthorized", when the body is
	// JSON.
	Kind string
	// Message is the body's "message", or data.message, when it is JSON.
	Message string
	// Body is the start of the body (at most 512 bytes of valid UTF-8), redacted.
	Body string
	// Attempts is how many requests the call sent, retries and a re-signed
	// request included.
	Attempts int
	// RequestID is the API's identifier of this answer, to quote to IIMMPACT
	// support ("" when the API sent none).
	RequestID string
	// RetryAfter is the wait the API asked for with Retry-After (a final 429 or
	// 503), 0 when it asked for none.
	RetryAfter time.Duration

	hint string
}

// Error describes the failure: status, the body's error and message (or the
// first line of the body), attempts, request ID and Retry-After.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("iimmpact: HTTP " + strconv.Itoa(e.StatusCode))
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" " + t)
	}
	switch {
	case e.Message != "" && e.Kind != "":
		b.WriteString(": " + e.Kind + ": " + e.Message)
	case e.Message != "" || e.Kind != "":
		b.WriteString(": " + e.Kind + e.Message)
	case e.Body != "":
		b.WriteString(": " + strconv.Quote(firstLine(e.Body, 120)))
	}
	if e.Code >= 0 && e.StatusCode == http.StatusBadRequest {
		b.WriteString(" (code " + strconv.Itoa(e.Code) + ")")
	}
	if e.Attempts > 1 {
		b.WriteString(" (after " + strconv.Itoa(e.Attempts) + " attempts)")
	}
	if e.RetryAfter > 0 {
		b.WriteString(" (retry after " + e.RetryAfter.String() + ")")
	}
	if e.RequestID != "" {
		b.WriteString(" (request ID " + e.RequestID + ")")
	}
	if e.hint != "" {
		b.WriteString(" (" + e.hint + ")")
	}
	return b.String()
}

// Unwrap returns ErrRedirect for a 3xx status.
func (e *APIError) Unwrap() error {
	if e.StatusCode >= 300 && e.StatusCode < 400 {
		return ErrRedirect
	}
	return nil
}

// newAPIError turns a final answer into an *APIError, redacted by r.
func newAPIError(r *redactor, res *response, attempts int, hint string) *APIError {
	e := &APIError{
		StatusCode: res.status,
		Code:       -1,
		Body:       excerpt(r.cleanBody(res.body), 512),
		Attempts:   attempts,
		RequestID:  r.clean(requestID(res.header)),
	}
	text := func(val []byte) string { return excerpt([]byte(r.clean(forPeople(scalarText(val)))), 200) }
	var k keys
	_, _ = readEnvelope(res.body, &k, func(val []byte) {
		// A payment's refusal: {"data": {"status": "Failed", "statusCode": 43, "message": …}}
		_ = eachMember(val, func(key, val []byte) error {
			switch string(key) {
			case "statusCode":
				if code, err := readCode(val, scalarText(val)); err == nil {
					e.Code = code
				}
			case "message":
				e.Message = text(val)
			}
			return nil
		})
	}, func(key, val []byte) {
		switch string(key) {
		case "error":
			e.Kind = text(val)
		case "message":
			e.Message = text(val)
		}
	})
	if res.status == http.StatusTooManyRequests || res.status == http.StatusServiceUnavailable {
		e.RetryAfter, _ = retry.ParseRetryAfter(res.header.Get("Retry-After"), time.Now())
	}
	if res.status == http.StatusUnauthorized {
		e.hint = hint
	}
	return e
}

// ErrQuotaExceeded is matched by the error of a call the quota guard refused:
// sending it would have exceeded the client's quota, and WithQuotaWait (if
// set) could not wait that long. Nothing was sent for the refused request.
// errors.As gives a *QuotaError.
var ErrQuotaExceeded = errors.New("iimmpact: request quota exceeded")

// ErrBlocked is matched by the error of a call refused because the API
// answered 403 to 3 calls in a row, which is how it blocks an IP that exceeded
// its quota. The client sends nothing for a cool-down of 1 minute, doubling up
// to 30 minutes while the one request it then tries is answered 403 again.
// errors.As gives the last 403 *APIError.
var ErrBlocked = errors.New("iimmpact: IIMMPACT answers 403 (IP blocked?); not sending during the cool-down")

// QuotaError says when the quota frees the next slot. It matches
// ErrQuotaExceeded; when the refused request was a retry, errors.As also gives
// the *APIError of the answer before it.
type QuotaError struct {
	// RetryAfter is how long until a request fits the quota again.
	RetryAfter time.Duration

	last *APIError
}

// Error says the quota is spent and when it frees.
func (e *QuotaError) Error() string {
	s := "iimmpact: request quota exceeded; next request allowed in " + e.RetryAfter.Round(time.Millisecond).String()
	if e.last != nil {
		s += " (last answer: HTTP " + strconv.Itoa(e.last.StatusCode) + ")"
	}
	return s
}

// Is makes errors.Is(err, ErrQuotaExceeded) true.
func (e *QuotaError) Is(target error) bool { return target == ErrQuotaExceeded }

// Unwrap returns the last answer's *APIError, if any.
func (e *QuotaError) Unwrap() error {
	if e.last == nil {
		return nil
	}
	return e.last
}

// blockedError is the error of a call the 403 breaker refused.
type blockedError struct {
	left time.Duration
	last *APIError
}

func (e *blockedError) Error() string {
	return fmt.Sprintf("%s (%s left)", ErrBlocked.Error(), e.left.Round(time.Second))
}

func (e *blockedError) Is(target error) bool { return target == ErrBlocked }

func (e *blockedError) Unwrap() error {
	if e.last == nil {
		return nil
	}
	return e.last
}

// ErrOutcomeUnknown is matched by the error of a payment that may have been
// made: the request may have reached the API and its answer was not read
// (no answer, a 5xx after the retries, a deadline mid-call, a 200 that cannot
// be read, a status the SDK does not know, an answer about another payment).
// Do not tell the customer it failed and do not pay again with a new refid:
// ask again with the same Payment (Pay or PayUntilFinal) until the answer is
// final. Such an error matches nothing else, so a check for another error
// cannot mistake it for "not charged".
var ErrOutcomeUnknown = errors.New("iimmpact: the payment may have been made: ask again with the same Payment")

// outcomeUnknownError hides its cause from errors.Is and errors.As: only
// ErrOutcomeUnknown matches it.
type outcomeUnknownError struct {
	cause error
	said  string // what it means for the caller; "" for ErrOutcomeUnknown's own text
}

func (e *outcomeUnknownError) Error() string {
	return cmp.Or(e.said, ErrOutcomeUnknown.Error()) + ": " + strings.TrimPrefix(e.cause.Error(), "iimmpact: ")
}

// requestMayBeTaken is what ErrOutcomeUnknown means for a request the SDK
// never repeats (a void, a dispute): asking again is not how to find out.
const requestMayBeTaken = "iimmpact: the request may have been taken: do not send it again; the transaction history will show a void the biller approves"

func (e *outcomeUnknownError) Is(target error) bool { return target == ErrOutcomeUnknown }

// unlessProven is a payment's error: err itself only when the call proves
// nothing was created, else ErrOutcomeUnknown. Nothing is created for a call
// that sent nothing, or whose every answer was 400, 401, 403 or 429 and that
// never lost an attempt.
func unlessProven(err error, unsure bool, sent int, last *response) error {
	if err == nil || errors.Is(err, ErrOutcomeUnknown) {
		return err
	}
	if !unsure && (sent == 0 || (last != nil && refusedUncreated(last.status))) {
		return err
	}
	return &outcomeUnknownError{cause: err}
}

// refusedUncreated reports the statuses with which the API creates no
// transaction: 400 (validation failed; the same refid may be sent again),
// 401, 403 and 429.
func refusedUncreated(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		return true
	}
	return false
}

// errorOf is the one place a call's failure becomes the caller's error, as
// go-github's CheckResponse turns a response into one: cause is what the
// loop ended with (an attempt's error, the classifier's for a malformed
// answer, a context's or a stop's; nil when the last answer was not an
// outcome) and last the last answer of any attempt. In order:
//   - the last answer that was not an outcome becomes an *APIError, joined to
//     a cause that came after it;
//   - a refusal of the quota guard becomes a *QuotaError or ErrBlocked's
//     error, with the answer before it;
//   - a call that may move money is ErrOutcomeUnknown unless it proves
//     nothing was created (unlessProven);
//   - the text is redacted and prefixed once ("iimmpact: payment: ...").
//
// It also returns the *APIError it made, first, for the breaker.
func (c *Client) errorOf(cl call, st attempts, last *response, cause error, malformed bool) (*APIError, error) {
	var apiErr *APIError
	if last != nil && !malformed {
		apiErr = newAPIError(c.redactor(cl, st.sigs), last, st.sent, c.envHint)
	}
	var full *quota.Full
	var open *quota.Open
	err := cause
	switch {
	case errors.As(cause, &full):
		err = &QuotaError{RetryAfter: max(full.RetryAfter, time.Millisecond), last: apiErr} // never "retry after 0s"
	case errors.As(cause, &open):
		b := &blockedError{left: open.Left}
		if last, ok := open.Last.(*APIError); ok {
			copied := *last
			b.last = &copied
		}
		err = b
	case cause == nil:
		err = apiErr
	case apiErr != nil:
		err = fmt.Errorf("%w (last answer: %w)", cause, apiErr)
	}
	if cl.charges {
		err = unlessProven(err, st.unsure, st.sent, last)
		if u, ok := err.(*outcomeUnknownError); ok && cl.once {
			u.said = requestMayBeTaken
		}
	}
	return apiErr, c.redacted(cl, st.sigs, err)
}

// redacted is err with the call's prefix ("iimmpact: bill presentment: "),
// its text redacted.
func (c *Client) redacted(cl call, sigs []string, err error) error {
	text := err.Error()
	clean := c.redactor(cl, sigs).clean(text)
	return &callError{
		msg:    "iimmpact: " + strings.ReplaceAll(cl.op, "_", " ") + ": " + strings.TrimPrefix(clean, "iimmpact: "),
		cause:  err,
		hidden: clean != text,
	}
}

// callError is every error a call returns: the cause with the call's prefix,
// its text redacted. When redaction changed the text, the cause's own text
// still holds what was removed, so the chain is reachable only for matching:
// errors.Is, and errors.As to the package's own error types, whose fields
// are redacted already.
type callError struct {
	msg    string
	cause  error
	hidden bool
}

func (e *callError) Error() string { return e.msg }

func (e *callError) Unwrap() error {
	if e.hidden {
		return nil
	}
	return e.cause
}

func (e *callError) Is(target error) bool { return e.hidden && errors.Is(e.cause, target) }

// As reaches the package's error types through a redacted cause: their
// fields hold nothing redaction removes. Every exported error type is here
// (TestEveryErrorTypeIsReachable walks them).
func (e *callError) As(target any) bool {
	if !e.hidden {
		return false
	}
	switch target.(type) {
	case **APIError, **QueryError, **QuotaError, **PaymentError:
		return errors.As(e.cause, target)
	}
	return false
}
