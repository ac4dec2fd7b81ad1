package iimmpact

import "strings"

// productJomPAY is the product code of JomPAY billers, the one product that
// takes a biller code, Ref-2 and an amount.
const productJomPAY = "JOMPAY"

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
	if q.isJomPAY() {
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

func (q Query) isJomPAY() bool {
	return strings.EqualFold(strings.TrimSpace(q.Product), productJomPAY)
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
