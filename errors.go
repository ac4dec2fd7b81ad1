package iimmpact

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/iimmpact-go/iimmpact/internal/retry"
)

// ErrInvalidQuery is matched (errors.Is) by every error Query.Validate returns.
// Nothing is sent for an invalid query.
var ErrInvalidQuery = errors.New("iimmpact: invalid query")

// QueryError names the query field that broke a rule. It matches ErrInvalidQuery.
type QueryError struct {
	Field string // the query parameter, such as "biller_code"
	Rule  string // what it must be, such as "is required when product is JOMPAY"
}

// Error returns "iimmpact: invalid query: FIELD RULE".
func (e *QueryError) Error() string {
	return "iimmpact: invalid query: " + e.Field + " " + e.Rule
}

// Is makes errors.Is(err, ErrInvalidQuery) true.
func (e *QueryError) Is(target error) bool { return target == ErrInvalidQuery }

// Errors about a response that are not an APIError.
var (
	// ErrResponseTooLarge: the body was larger than the client's limit; no more of
	// it was read.
	ErrResponseTooLarge = errors.New("iimmpact: response body too large")
	// ErrRedirect: the API answered with a redirect, which is never followed, so
	// the credentials never reach another host. It is wrapped by an APIError.
	ErrRedirect = errors.New("iimmpact: redirect refused")
)

// maxExcerpt bounds APIError.Body.
const maxExcerpt = 512

// APIError is an HTTP answer other than a bill presentment outcome: 401, 403, 404,
// 429, 5xx after retries, a redirect, or a 400 that is not the documented envelope.
type APIError struct {
	StatusCode int
	Code       string // the body's "error", when it is JSON
	Message    string // the body's "message", when it is JSON
	// Body is the start of the body (at most 512 bytes of valid UTF-8), with any
	// credential the client holds replaced by [REDACTED].
	Body string
	// Attempts is how many requests were made, retries included.
	Attempts int

	hint string
}

// Error describes the failure without any credential.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("iimmpact: HTTP ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" ")
		b.WriteString(t)
	}
	switch {
	case e.Message != "" && e.Code != "":
		b.WriteString(": " + e.Code + ": " + e.Message)
	case e.Message != "":
		b.WriteString(": " + e.Message)
	case e.Code != "":
		b.WriteString(": " + e.Code)
	case e.Body != "":
		b.WriteString(": " + strconv.Quote(firstLine(e.Body, 120)))
	}
	if e.Attempts > 1 {
		b.WriteString(" (after " + strconv.Itoa(e.Attempts) + " attempts)")
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

// Temporary reports whether the status is one the client retries (429, 500, 502,
// 503, 504): trying again later may succeed.
func (e *APIError) Temporary() bool { return retry.Status(e.StatusCode) }

// newAPIError builds the error for a status and a body already redacted.
func newAPIError(status int, body []byte) *APIError {
	e := &APIError{StatusCode: status, Body: excerpt(body, maxExcerpt)}
	var fields struct {
		Error   json.RawMessage `json:"error"`
		Message json.RawMessage `json:"message"`
	}
	if json.Unmarshal(body, &fields) == nil {
		e.Code = jsonScalar(fields.Error)
		e.Message = jsonScalar(fields.Message)
	}
	return e
}

// jsonScalar returns a JSON string's value or a scalar's text, bounded.
func jsonScalar(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		if k := jsonKind(raw); k != KindNumber && k != KindBool {
			return ""
		}
		s = string(raw)
	}
	return excerpt([]byte(s), 200)
}

// excerpt returns the first n bytes of b as valid UTF-8: a rune cut in two, or
// any invalid byte, becomes U+FFFD.
func excerpt(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func firstLine(s string, n int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return excerpt([]byte(s), n)
}
