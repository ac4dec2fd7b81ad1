package iimmpact

// Products, in one place: the codes with rules of their own, and which
// fields a bill presentment and a payment of each product take. Query,
// Payment and the examples' tools all check against these.

import "strings"

// The products with rules of their own.
const (
	// productJomPAY is the product code of JomPAY billers: a bill
	// presentment takes a biller code, Ref-2 and an amount; a payment a
	// biller code, Ref-2 and the payer's IC number.
	productJomPAY = "JOMPAY"
	// productPTPTN is the product whose payments carry the recipient's IC
	// number and a subproduct code.
	productPTPTN = "PTPTN"
)

// Extras are the fields of a payment that belong to its product.
type Extras struct {
	BillerCode, Ref2, ICNumber, SubproductCode string
}

// ValidateExtras checks x, trimmed, against the vendor's table of which
// extras product takes: JOMPAY needs a biller code and the IC number and may
// have Ref-2; PTPTN needs the IC number and a subproduct code; any product
// but JOMPAY may have a subproduct code; no other takes the rest. Its error
// is a *PaymentError. Payment.Validate checks the same.
func ValidateExtras(product string, x Extras) error {
	product = strings.ToUpper(trimEdges(product))
	jompay, ptptn := product == productJomPAY, product == productPTPTN
	rules := [...]struct {
		field, value    string
		allowed, needed bool
		who             string
	}{
		{"biller_code", trimEdges(x.BillerCode), jompay, jompay, "JOMPAY"},
		{"ref2", trimEdges(x.Ref2), jompay, false, "JOMPAY"},
		{"ic_number", trimEdges(x.ICNumber), jompay || ptptn, jompay || ptptn, "JOMPAY and PTPTN"},
		{"subproduct_code", trimEdges(x.SubproductCode), !jompay, ptptn, "any product but JOMPAY"},
	}
	for _, r := range rules {
		switch {
		case r.value != "" && !r.allowed:
			return &PaymentError{Field: r.field, Code: PaymentNotForProduct, Rule: "is only used with " + r.who}
		case r.value == "" && r.needed:
			return &PaymentError{Field: r.field, Code: PaymentNeededFor, Rule: "is required when product is " + product}
		}
	}
	return nil
}

// productRules are a bill presentment's: JOMPAY needs a biller code and may
// have Ref-2 and an amount; no other product takes them.
func (q Query) productRules() error {
	if !strings.EqualFold(q.Product, productJomPAY) {
		for _, f := range [...]struct{ name, value string }{{"biller_code", q.BillerCode}, {"ref2", q.Ref2}, {"amount", q.Amount}} {
			if f.value != "" {
				return &QueryError{Field: f.name, Code: QueryJomPAYOnly, Rule: "is only used when product is JOMPAY"}
			}
		}
		return nil
	}
	switch _, err := ParseAmount(q.Amount); {
	case q.BillerCode == "":
		return &QueryError{Field: "biller_code", Code: QueryJomPAYRequired, Rule: "is required when product is JOMPAY"}
	case q.Amount == "":
	case !validAmount(q.Amount):
		return &QueryError{Field: "amount", Code: QueryBadAmount, Rule: "must be a positive decimal with at most two decimals, such as 45.90"}
	case err != nil:
		return &QueryError{Field: "amount", Code: QueryAmountTooLarge, Rule: "is too large"}
	}
	return nil
}

// ValidateICNumber checks an IC or passport number on its own, trimmed, as
// Payment.Validate does: letters and digits only. Its error is a
// *PaymentError.
func ValidateICNumber(ic string) error {
	ic = trimEdges(ic)
	switch {
	case ic == "":
		return &PaymentError{Field: "ic_number", Code: PaymentRequired, Rule: "is required"}
	case !alphanumeric(ic):
		return &PaymentError{Field: "ic_number", Code: PaymentBadICNumber, Rule: "must be letters and digits only (an IC number without dashes, or a passport number)"}
	}
	return nil
}

func alphanumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}
