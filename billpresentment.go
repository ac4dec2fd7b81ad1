package iimmpact

import (
	"context"
)

const billPath = "/v2/bill-presentment"

// BillPresentment fetches the customer's outstanding bill.
//
// It returns a Bill, and no error, for the API's two outcome answers: HTTP 200
// and the documented HTTP 400 that carries the same envelope (an invalid
// account). An envelope that says the account is invalid is a Bill under any
// status, and is never retried: the call blocks whatever else happens.
// Anything else is an error and a nil Bill, whose Decision is hide and can
// proceed: an invalid query (ErrInvalidQuery, nothing sent), an *APIError, a
// body that is malformed (ErrMalformedResponse) or too large
// (ErrResponseTooLarge), ErrQuotaExceeded, ErrBlocked, a transport failure, or
// the context's error.
//
// Every attempt is signed afresh. Transport errors, 429, 500, 502, 503 and 504
// are retried with capped exponential backoff and jitter, honouring
// Retry-After, never past ctx's deadline; no other status is retried.
func (c *Client) BillPresentment(ctx context.Context, q Query) (*Bill, error) {
	r := do(ctx, c, c.billCall(q), checkBill)
	return r.value, r.err
}

// billCall describes the bill presentment call for q, trimmed as it is sent.
func (c *Client) billCall(q Query) call {
	q = q.trimmed()
	params := []param{{"account", q.Account}, {"amount", q.Amount}, {"biller_code", q.BillerCode}, {"product", q.Product}, {"ref2", q.Ref2}}
	cl := c.getCall(opBillPresentment, billPath, q.Product, params, q.Account, q.Ref2)
	cl.invalid = q.validate()
	return cl
}

// Query is a bill presentment request. Each field is sent with the white space
// and invisible characters around it trimmed, as customers paste them; empty
// optional fields are not sent. Its JSON keys are the API's parameters.
type Query struct {
	// Account is the customer's account number; for JomPAY, Ref-1. Required.
	Account string `json:"account"`
	// Product is the product code, such as "AKSB" or "JOMPAY". Required.
	Product string `json:"product"`
	// BillerCode is the JomPAY biller code: required for JOMPAY, refused otherwise.
	BillerCode string `json:"biller_code,omitempty"`
	// Ref2 is JomPAY's Ref-2: only for JOMPAY.
	Ref2 string `json:"ref2,omitempty"`
	// Amount is a positive decimal with at most two decimals, such as "45.90":
	// only for JOMPAY.
	Amount string `json:"amount,omitempty"`
}

// trimmed returns q as it is validated and sent.
func (q Query) trimmed() Query {
	return Query{Account: trimEdges(q.Account), Product: trimEdges(q.Product), BillerCode: trimEdges(q.BillerCode),
		Ref2: trimEdges(q.Ref2), Amount: trimEdges(q.Amount)}
}

// Validate checks q, trimmed as it would be sent, before anything is sent. Its
// error matches ErrInvalidQuery and is a *QueryError naming the first field
// that breaks a rule, with a Code to switch on.
func (q Query) Validate() error { return q.trimmed().validate() }

func (q Query) validate() error {
	fields := [...]struct{ name, value string }{
		{"account", q.Account}, {"product", q.Product}, {"biller_code", q.BillerCode}, {"ref2", q.Ref2}, {"amount", q.Amount},
	}
	for _, f := range fields[:2] {
		if f.value == "" {
			return &QueryError{Field: f.name, Code: QueryRequired, Rule: "is required"}
		}
	}
	for _, f := range fields {
		if badCharacter(f.value) {
			return &QueryError{Field: f.name, Code: QueryBadCharacter, Rule: "must not contain control or invisible characters"}
		}
	}
	return q.productRules()
}
