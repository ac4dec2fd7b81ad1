package iimmpact

import (
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// After a payment: asking the biller to void it, opening a dispute, and the
// callback URL's setting.

const (
	voidPath        = "/v2/transactions/void"
	disputePath     = "/v2/transactions/check"
	callbackURLPath = "/v2/callback-url"
)

// VoidRequest names a successful bill payment to void (refund) or dispute.
type VoidRequest struct {
	// RefID is the merchant's refid; TrxID the vendor's id. One is required;
	// with both, the vendor uses TrxID.
	RefID, TrxID string
	// Emails are the addresses the vendor tells of the outcome (user_email).
	Emails []string
	// RefundType is the vendor's refund_type, 1, 2 or 3: required by Void,
	// not sent by Dispute.
	RefundType int
	// Reason is why, for the vendor's support: required, at most 500
	// characters, one line.
	Reason string
}

// VoidResult is the vendor's answer to a void or a dispute.
type VoidResult struct {
	RefID string
	// Accepted reports the vendor took the request (data.status "Success").
	// A void's outcome comes days later, when the biller approves it: the
	// payment then shows as TransactionRefunded (code 53), by callback and in
	// the history.
	Accepted bool
	// Message is the vendor's, for people.
	Message string
	// RequestID is the API's identifier of the answer.
	RequestID string
}

func (r *VoidResult) report() report { return report{} }

// Void asks the biller, through the vendor, to void a successful bill payment
// (never a prepaid or PIN product). It asks for money to move, so it follows
// Pay's rule: an error that does not match ErrOutcomeUnknown proves nothing
// was requested; one that does means the request may have been taken, and
// the SDK sends no other attempt after it (an attempt refused before the API
// acted, such as a 429, is retried as usual). Whether the vendor takes a second void of one
// payment is unconfirmed: treat a second one as something it may refuse,
// never as a second refund.
func (c *Client) Void(ctx context.Context, r VoidRequest) (*VoidResult, error) {
	return c.voidOrDispute(ctx, opVoid, voidPath, r, true)
}

// Dispute opens a support case with the vendor about a successful payment
// (POST /v2/transactions/check): Void's request and answer, without a refund
// type.
func (c *Client) Dispute(ctx context.Context, r VoidRequest) (*VoidResult, error) {
	return c.voidOrDispute(ctx, opDispute, disputePath, r, false)
}

func (c *Client) voidOrDispute(ctx context.Context, op, path string, r VoidRequest, void bool) (*VoidResult, error) {
	err := r.validate(void)
	var body []byte
	if err == nil {
		body = r.body(void)
	}
	cl := c.postCall(op, path, "", body)
	cl.invalid, cl.charges, cl.once = err, true, true
	res := do(ctx, c, cl, checkVoid)
	if res.err != nil {
		return nil, res.err
	}
	return res.value, nil
}

// validate checks the documented fields before anything is sent.
func (r VoidRequest) validate(void bool) error {
	bad := func(field, rule string) error { return &PaymentError{Field: field, Rule: rule} }
	switch {
	case strings.TrimSpace(r.RefID) == "" && strings.TrimSpace(r.TrxID) == "":
		return bad("refid", "or trxid is required")
	case r.RefID != "" && ValidateRefID(r.RefID) != nil:
		return bad("refid", "must be a refid the SDK sends (letters, digits, - and _)")
	case badCharacter(r.TrxID):
		return bad("trxid", "must not contain control or invisible characters")
	case void && (r.RefundType < 1 || r.RefundType > 3):
		return bad("refund_type", "must be 1, 2 or 3")
	case strings.TrimSpace(r.Reason) == "":
		return bad("refund_reason", "is required")
	case utf8.RuneCountInString(r.Reason) > 500 || strings.ContainsAny(r.Reason, "\r\n") || badCharacter(r.Reason):
		return bad("refund_reason", "must be one line of at most 500 characters")
	case !plainAddresses(r.Emails):
		return bad("user_email", "must be plain e-mail addresses such as finance@example.com")
	}
	return nil
}

// plainAddresses reports whether each is an e-mail address alone, without a
// name or angle brackets.
func plainAddresses(emails []string) bool {
	for _, e := range emails {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
			return false
		}
	}
	return true
}

func (r VoidRequest) body(void bool) []byte {
	m := map[string]any{"refund_reason": r.Reason}
	if r.TrxID != "" {
		m["trxid"] = r.TrxID
	}
	if r.RefID != "" {
		m["refid"] = r.RefID
	}
	if len(r.Emails) > 0 {
		m["user_email"] = r.Emails
	}
	if void {
		m["refund_type"] = r.RefundType
	}
	b, _ := json.Marshal(m) // strings, a list of strings and an int: never fails
	return b
}

// checkVoid reads a 200's data: status "Success" or "Failed", refid, message.
func checkVoid(res *response) (*VoidResult, verdict, error) {
	if res.status != 200 {
		return nil, notOutcome, nil
	}
	v := &VoidResult{RequestID: res.requestID}
	var status, message string
	err := readDataTexts(res.body, map[string]*string{"status": &status, "refid": &v.RefID, "message": &message})
	v.Message = forPeople(message)
	if err == nil && !strings.EqualFold(status, "Success") && !strings.EqualFold(status, "Failed") {
		err = fmt.Errorf("data.status %q is neither Success nor Failed", excerpt([]byte(status), 40))
	}
	if err != nil {
		return nil, malformed, malformedError(err)
	}
	v.Accepted = strings.EqualFold(status, "Success")
	return v, outcome, nil
}

// CallbackSetting is where the vendor sends the transaction callbacks.
type CallbackSetting struct {
	URL    string
	Method string // "POST" or "GET"
}

func (s *CallbackSetting) report() report { return report{} }

// CallbackURL reads the callback URL set in the vendor's dashboard, so a
// tool can check at start that callbacks will reach it.
func (c *Client) CallbackURL(ctx context.Context) (*CallbackSetting, error) {
	res := do(ctx, c, c.getCall(opCallbackURL, callbackURLPath, "", nil), checkCallbackSetting)
	return res.value, res.err
}

// SetCallbackURL sets the callback URL and its method ("POST" or "GET"),
// and returns the setting as the vendor then has it.
func (c *Client) SetCallbackURL(ctx context.Context, url, method string) (*CallbackSetting, error) {
	var invalid error
	switch {
	case !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://"), badCharacter(url), len(url) > 2048:
		invalid = &QueryError{Field: "url", Code: QueryBadCharacter, Rule: "must be an http or https URL"}
	case method != "POST" && method != "GET":
		invalid = &QueryError{Field: "method", Code: QueryBadCharacter, Rule: "must be POST or GET"}
	}
	// The parameters go in the query string, as documented; the body is empty.
	raw, canon := encodeQuery([]param{{"method", method}, {"url", url}})
	cl := call{op: opCallbackURL, method: "POST", path: callbackURLPath, rawQuery: raw, canonQuery: canon, bodyHash: emptyBodyHash,
		quotaWait: c.quotaWait, invalid: invalid}
	res := do(ctx, c, cl, checkCallbackSetting)
	return res.value, res.err
}

// checkCallbackSetting reads data.CallbackUrl and data.Method.
func checkCallbackSetting(res *response) (*CallbackSetting, verdict, error) {
	if res.status != 200 {
		return nil, notOutcome, nil
	}
	s := &CallbackSetting{}
	if err := readDataTexts(res.body, map[string]*string{"CallbackUrl": &s.URL, "Method": &s.Method}); err != nil {
		return nil, malformed, malformedError(err)
	}
	s.Method = strings.ToUpper(s.Method)
	return s, outcome, nil
}
