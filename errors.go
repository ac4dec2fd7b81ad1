package iimmpact

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
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
	// ErrResponseTooLarge: the body was larger than the client's limit; no more
	// of it was read.
	ErrResponseTooLarge = errors.New("iimmpact: response body too large")
	// ErrRedirect: the API answered with a redirect, which is never followed, so
	// the credentials never reach another host. An APIError with a 3xx status
	// matches it.
	ErrRedirect = errors.New("iimmpact: redirect refused")
)

// APIError is an HTTP answer other than a bill presentment outcome: 401, 403,
// 404, 429, 5xx after retries, a redirect, or a 400 that is not the documented
// envelope. Its strings never hold a credential, a signature or the customer's
// account number.
type APIError struct {
	StatusCode int
	Code       string // the body's "error", when it is JSON
	Message    string // the body's "message", when it is JSON
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
	case e.Message != "" && e.Code != "":
		b.WriteString(": " + e.Code + ": " + e.Message)
	case e.Message != "" || e.Code != "":
		b.WriteString(": " + e.Code + e.Message)
	case e.Body != "":
		b.WriteString(": " + strconv.Quote(firstLine(e.Body, 120)))
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

// apiError turns a final answer into an *APIError, redacted.
func (c *Client) apiError(cl *call, res *response) *APIError {
	r := c.redactor(cl)
	e := &APIError{
		StatusCode: res.status,
		Body:       excerpt(r.cleanBody(res.body), 512),
		Attempts:   cl.sent,
		RequestID:  r.clean(requestID(res.header)),
	}
	_ = eachMember(res.body, func(key, val []byte) error {
		switch string(key) {
		case "error":
			e.Code = excerpt([]byte(r.clean(scalarText(val))), 200)
		case "message":
			e.Message = excerpt([]byte(r.clean(scalarText(val))), 200)
		}
		return nil
	})
	if res.status == http.StatusTooManyRequests || res.status == http.StatusServiceUnavailable {
		e.RetryAfter, _ = parseRetryAfter(res.header)
	}
	if res.status == http.StatusUnauthorized {
		e.hint = c.envHint
	}
	return e
}

// scalarText returns a JSON string's value or a number's or boolean's text.
func scalarText(raw []byte) string {
	t := readText(raw)
	if t.state != Returned {
		return ""
	}
	return t.text
}

// excerpt returns the first n bytes of s as valid UTF-8.
func excerpt(s []byte, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	if utf8.Valid(s) {
		return string(s)
	}
	return strings.ToValidUTF8(string(s), "\uFFFD")
}

func firstLine(s string, n int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return excerpt([]byte(s), n)
}

// callError is every error BillPresentment returns: the cause with the
// "iimmpact: bill presentment: " prefix, its text redacted. When redaction
// changed the text, the cause's own text still holds what was removed, so the
// chain is reachable only for matching: errors.Is, and errors.As to the
// package's own error types, whose fields are redacted already.
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

func (e *callError) As(target any) bool {
	if !e.hidden {
		return false
	}
	switch target.(type) {
	case **APIError, **QueryError, **QuotaError:
		return errors.As(e.cause, target)
	}
	return false
}

// fail is the one place an error leaves BillPresentment.
func (c *Client) fail(cl *call, err error) error {
	text := err.Error()
	clean := c.redactor(cl).clean(text)
	return &callError{
		msg:    "iimmpact: bill presentment: " + strings.TrimPrefix(clean, "iimmpact: "),
		cause:  err,
		hidden: clean != text,
	}
}

// redactor removes from text the API key, the secret in every Base64 form, every
// signature the call sent and the customer's account number, each as is,
// URL-encoded and JSON-escaped. Build it only when there is text to clean: the
// success path never needs one.
type redactor []string

const redacted = "[REDACTED]"

func (c *Client) redactor(cl *call) redactor {
	r := append([]string(nil), c.signer.creds().redact...)
	for _, sig := range cl.sigs {
		r = appendForms(r, sig)
	}
	if account := strings.TrimSpace(cl.account); account != "" {
		r = appendForms(appendForms(r, cl.account), account)
	}
	// Longest first, so a target that holds another is removed whole; equal
	// targets end up side by side for Compact.
	slices.SortFunc(r, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	return slices.Compact(r)
}

// appendForms appends v as is and in each escaped form that spells it
// differently; values under 4 characters are too short to remove safely.
func appendForms(dst []string, v string) []string {
	if len(v) < 4 {
		return dst
	}
	dst = append(dst, v)
	for _, form := range [...]string{url.QueryEscape(v), url.PathEscape(v), strings.ReplaceAll(v, "/", `\/`)} {
		if form != v {
			dst = append(dst, form)
		}
	}
	if strings.ContainsAny(v, "\"\\<>&\u2028\u2029") || !printableASCII(v) {
		quoted, _ := json.Marshal(v)
		dst = append(dst, string(quoted[1:len(quoted)-1]))
	}
	return dst
}

func (r redactor) clean(s string) string {
	for _, t := range r {
		if strings.Contains(s, t) {
			s = strings.ReplaceAll(s, t, redacted)
		}
	}
	return s
}

// cleanBody redacts a response body. In JSON, each string is redacted after
// decoding, so no escape (\/, \u0041) can hide what it spells.
func (r redactor) cleanBody(body []byte) []byte {
	if !json.Valid(body) {
		return []byte(r.clean(string(body)))
	}
	var out bytes.Buffer
	r.cleanJSON(&out, bytes.TrimSpace(body))
	return []byte(r.clean(out.String()))
}

func (r redactor) cleanJSON(out *bytes.Buffer, raw []byte) {
	switch raw[0] {
	case '"':
		s, _ := unquote(raw)
		writeQuoted(out, r.clean(s))
	case '{':
		out.WriteByte('{')
		n := 0
		_ = eachMember(raw, func(key, val []byte) error {
			if n++; n > 1 {
				out.WriteByte(',')
			}
			writeQuoted(out, r.clean(string(key)))
			out.WriteByte(':')
			r.cleanJSON(out, val)
			return nil
		})
		out.WriteByte('}')
	case '[':
		var items []json.RawMessage
		_ = json.Unmarshal(raw, &items)
		out.WriteByte('[')
		for i, item := range items {
			if i > 0 {
				out.WriteByte(',')
			}
			r.cleanJSON(out, bytes.TrimSpace(item))
		}
		out.WriteByte(']')
	default:
		out.Write(raw)
	}
}

func writeQuoted(out *bytes.Buffer, s string) {
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	out.Truncate(out.Len() - 1) // Encode's newline
}

// parseRetryAfter reads the answer's Retry-After.
func parseRetryAfter(h http.Header) (time.Duration, bool) {
	return retry.ParseRetryAfter(h.Get("Retry-After"), time.Now())
}
