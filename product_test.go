package iimmpact_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/iimmpact-go/iimmpact"
)

// The field validators a tool checks its rows with say what Payment.Validate
// says of the same field.
func TestFieldValidators(t *testing.T) {
	code := func(err error) iimmpact.PaymentCode {
		var pe *iimmpact.PaymentError
		if errors.As(err, &pe) {
			return pe.Code
		}
		return ""
	}
	assert.Empty(t, code(iimmpact.ValidateRefID("water-202612-1")))
	assert.Equal(t, iimmpact.PaymentBadRefID, code(iimmpact.ValidateRefID("a-very-long-instruction-id-202612-1xy")))
	assert.Equal(t, iimmpact.PaymentBadRefID, code(iimmpact.ValidateRefID(" order-1")), "never trimmed")
	assert.Equal(t, iimmpact.PaymentRequired, code(iimmpact.ValidateRefID("")))
	assert.Empty(t, code(iimmpact.ValidateAmount(" 45.9 ")))
	assert.Equal(t, iimmpact.PaymentBadAmount, code(iimmpact.ValidateAmount("0")))
	assert.Equal(t, iimmpact.PaymentBadAmount, code(iimmpact.ValidateAmount("1e2")))
	assert.Equal(t, iimmpact.PaymentAmountTooLarge, code(iimmpact.ValidateAmount("999999999999999999")))
	assert.Empty(t, code(iimmpact.ValidateICNumber("900101145678")))
	assert.Equal(t, iimmpact.PaymentBadICNumber, code(iimmpact.ValidateICNumber("900101-14-5678")))
	for _, tt := range []struct {
		product string
		x       iimmpact.Extras
		want    iimmpact.PaymentCode
	}{
		{"TNB", iimmpact.Extras{}, ""},
		{"TNB", iimmpact.Extras{BillerCode: "5454"}, iimmpact.PaymentNotForProduct},
		{"jompay", iimmpact.Extras{BillerCode: "5454", ICNumber: "900101145678"}, ""},
		{"JOMPAY", iimmpact.Extras{BillerCode: "5454"}, iimmpact.PaymentNeededFor},
		{"JOMPAY", iimmpact.Extras{BillerCode: "5454", ICNumber: "1", SubproductCode: "X"}, iimmpact.PaymentNotForProduct},
		{"PTPTN", iimmpact.Extras{ICNumber: "900101145678"}, iimmpact.PaymentNeededFor},
		{"PTPTN", iimmpact.Extras{ICNumber: "900101145678", SubproductCode: "PTPTN01"}, ""},
	} {
		assert.Equal(t, tt.want, code(iimmpact.ValidateExtras(tt.product, tt.x)), "%s %+v", tt.product, tt.x)
		p := iimmpact.Payment{RefID: "r1", Product: tt.product, Account: "1234", Amount: "10", BillerCode: tt.x.BillerCode,
			Ref2: tt.x.Ref2, ICNumber: tt.x.ICNumber, SubproductCode: tt.x.SubproductCode}
		assert.Equal(t, tt.want, code(p.Validate()), "Payment.Validate agrees: %s %+v", tt.product, tt.x)
	}
}

// Trimmed is the payment as Pay sends it: what a store of payments keeps.
func TestPaymentTrimmed(t *testing.T) {
	p := iimmpact.Payment{RefID: " r1", Product: " TNB\u200b", Account: "\t220012345678 ", Amount: " 45.94"}
	got := p.Trimmed()
	assert.Equal(t, iimmpact.Payment{RefID: " r1", Product: "TNB", Account: "220012345678", Amount: "45.94"}, got, "RefID is never trimmed")
	assert.Equal(t, got, got.Trimmed())
}
