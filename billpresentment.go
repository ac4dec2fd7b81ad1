package iimmpact

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-querystring/query"
)

// ProductJomPAY is the product code of JomPAY billers, the one product that
// takes a biller code, Ref-2 and an amount.
const ProductJomPAY = "JOMPAY"

// Query is a bill presentment request. Empty optional fields are not sent.
type Query struct {
	// Account is the customer's account number; for JomPAY, Ref-1. Required.
	Account string `url:"account"`
	// Product is the product code, such as "AKSB" or "JOMPAY". Required.
	Product string `url:"product"`
	// BillerCode is the JomPAY biller code: required for JOMPAY, refused otherwise.
	BillerCode string `url:"biller_code,omitempty"`
	// Ref2 is JomPAY's Ref-2: only for JOMPAY.
	Ref2 string `url:"ref2,omitempty"`
	// Amount is a positive decimal with at most two decimals, such as "45.90":
	// only for JOMPAY.
	Amount string `url:"amount,omitempty"`
}

// Validate checks q before anything is sent. Its error matches ErrInvalidQuery
// and is a *QueryError naming the first field that breaks a rule.
func (q Query) Validate() error {
	if strings.TrimSpace(q.Account) == "" {
		return &QueryError{Field: "account", Rule: "is required"}
	}
	if strings.TrimSpace(q.Product) == "" {
		return &QueryError{Field: "product", Rule: "is required"}
	}
	for _, f := range [...]struct{ name, value string }{
		{"account", q.Account}, {"product", q.Product}, {"biller_code", q.BillerCode},
		{"ref2", q.Ref2}, {"amount", q.Amount},
	} {
		if !validHeaderValue(f.value) {
			return &QueryError{Field: f.name, Rule: "must not contain control characters"}
		}
	}
	if q.IsJomPAY() {
		if strings.TrimSpace(q.BillerCode) == "" {
			return &QueryError{Field: "biller_code", Rule: "is required when product is JOMPAY"}
		}
		if q.Amount != "" {
			if !validAmount(q.Amount) {
				return &QueryError{Field: "amount", Rule: "must be a positive decimal with at most two decimals, such as 45.90"}
			}
			if _, err := ParseAmount(q.Amount); err != nil {
				return &QueryError{Field: "amount", Rule: "is too large"}
			}
		}
		return nil
	}
	for _, f := range [...]struct{ name, value string }{
		{"biller_code", q.BillerCode}, {"ref2", q.Ref2}, {"amount", q.Amount},
	} {
		if f.value != "" {
			return &QueryError{Field: f.name, Rule: "is only used when product is JOMPAY"}
		}
	}
	return nil
}

// IsJomPAY reports whether the product is JOMPAY, without regard to case.
func (q Query) IsJomPAY() bool {
	return strings.EqualFold(strings.TrimSpace(q.Product), ProductJomPAY)
}

// validAmount accepts digits with an optional "." and one or two more digits,
// above zero.
func validAmount(s string) bool {
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || (hasDot && (frac == "" || len(frac) > 2)) {
		return false
	}
	nonZero := false
	for _, part := range [2]string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if !isDigit(part[i]) {
				return false
			}
			nonZero = nonZero || part[i] != '0'
		}
	}
	return nonZero
}

// BillPresentment fetches the customer's outstanding bill.
//
// It returns a Bill, and no error, for the API's two outcome answers: HTTP 200
// and the documented HTTP 400 that carries the same envelope (an invalid account).
// Anything else is an error and a nil Bill, whose Decision is hide and can
// proceed: an invalid query (ErrInvalidQuery, nothing sent), an *APIError, a body
// that is malformed (ErrMalformedResponse) or too large (ErrResponseTooLarge), a
// transport failure, or the context's error (errors.Is(err,
// context.DeadlineExceeded) holds).
//
// Every attempt is signed afresh. Transport errors, 429, 500, 502, 503 and 504
// are retried with capped exponential backoff and jitter, honouring Retry-After,
// never past ctx's deadline; no other status is retried.
func (c *Client) BillPresentment(ctx context.Context, q Query) (*Bill, error) {
	if ctx == nil {
		return nil, errors.New("iimmpact: BillPresentment: nil Context (use context.Background())")
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	values, err := query.Values(q)
	if err != nil {
		return nil, &QueryError{Field: "query", Rule: "cannot be encoded: " + err.Error()}
	}
	rawQuery := values.Encode()
	call := func(ctx context.Context) (*Bill, error) {
		return c.billPresentment(ctx, rawQuery, canonicalQuery(values))
	}
	if c.group != nil {
		return c.group.do(ctx, rawQuery, call)
	}
	return call(ctx)
}

func (c *Client) billPresentment(ctx context.Context, rawQuery, canonQuery string) (*Bill, error) {
	res, attempts, err := c.get(ctx, rawQuery, canonQuery)
	if err != nil {
		return nil, err
	}
	switch res.status {
	case http.StatusOK, http.StatusBadRequest:
		bill, err := DecodeBill(res.body)
		if err == nil {
			bill.StatusCode = res.status
			return bill, nil
		}
		if res.status == http.StatusOK {
			return nil, fmt.Errorf("iimmpact: bill presentment: %w", err)
		}
	}
	return nil, c.apiError(res, attempts)
}
