package iimmpact

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

const paymentPath = "/v2/topup" // "topup" is the vendor's legacy name for every payment

// maxRefIDLen bounds a refid. The vendor documents its rule on a page that
// could not be read (unconfirmed): letters, digits, "-" and "_", at most 36
// characters (a UUID's length) fits every merchant reference we know of.
const maxRefIDLen = 36

// Payment is one bill payment (POST /v2/topup). The same Payment always sends
// the same body, so asking again with it is safe: the API never makes a second
// transaction for a refid it knows, and answers with the first one's status.
//
// Every field but RefID is sent with the white space and invisible
// characters around it trimmed, as Query's are; RefID is sent exactly as
// given, or refused.
type Payment struct {
	// RefID is the merchant's own unique reference for this payment: ASCII
	// letters, digits, "-" and "_", at most 36 characters. Derive it from
	// what makes the payment unique (an order, an instruction and its
	// period), so that a crash and a re-run send the same one. Required.
	RefID string
	// Product is the product code, such as "TNB" or "JOMPAY". Required.
	Product string
	// Account is the bill's account number; for JomPAY, Ref-1. Required.
	Account string
	// Amount is a positive decimal with at most two decimals, such as "45.94".
	// Required.
	Amount string
	// Remarks is free text kept with the transaction. Optional.
	Remarks string
	// BillerCode is the JomPAY biller code: required for JOMPAY, refused
	// otherwise.
	BillerCode string
	// Ref2 is JomPAY's Ref-2: only for JOMPAY.
	Ref2 string
	// ICNumber is the payer's IC or passport number, without dashes, as the
	// merchant verified it (AMLA eKYC): required for JOMPAY and PTPTN,
	// refused otherwise. It is personal data: the SDK redacts it wherever it
	// redacts the account number.
	ICNumber string
	// SubproductCode is a product's subproduct (PTPTN, mobile data): for any
	// product but JOMPAY; required for PTPTN.
	SubproductCode string
}

// String never shows the account, Ref-2 or IC number, so a Payment printed
// with fmt or slog leaks none of them.
func (p Payment) String() string {
	return fmt.Sprintf("Payment{RefID:%q Product:%q Amount:%q}", p.RefID, p.Product, p.Amount)
}

// GoString is String, for %#v.
func (p Payment) GoString() string { return p.String() }

// LogValue is String, for slog.
func (p Payment) LogValue() slog.Value { return slog.StringValue(p.String()) }

// Format prints String for every verb (%d and %x too), so no verb reaches
// the fields.
func (p Payment) Format(f fmt.State, verb rune) { formatSafe(f, verb, p.String()) }

// ErrInvalidPayment is matched (errors.Is) by every error Payment.Validate
// returns. Nothing is sent for an invalid payment.
var ErrInvalidPayment = errors.New("iimmpact: invalid payment")

// PaymentCode says which rule a payment broke. The values are stable.
type PaymentCode string

// The rules of a payment.
const (
	PaymentRequired       PaymentCode = "required"         // the field is empty
	PaymentBadCharacter   PaymentCode = "bad_character"    // a control or invisible character
	PaymentBadRefID       PaymentCode = "bad_refid"        // not 1 to 36 ASCII letters, digits, "-" or "_"
	PaymentBadAmount      PaymentCode = "bad_amount"       // not a positive decimal with at most two decimals
	PaymentAmountTooLarge PaymentCode = "amount_too_large" // past what an Amount holds
	PaymentBadICNumber    PaymentCode = "bad_ic_number"    // not letters and digits only
	PaymentNotForProduct  PaymentCode = "not_for_product"  // the field is not used with this product
	PaymentNeededFor      PaymentCode = "needed_for"       // the product needs the field
)

// PaymentError names the payment field that broke a rule. It matches
// ErrInvalidPayment.
type PaymentError struct {
	Field string      // the body's field, such as "refid" or "ic_number"
	Code  PaymentCode // the rule, such as PaymentBadRefID
	Rule  string      // the rule in English
}

// Error returns "iimmpact: invalid payment: FIELD RULE".
func (e *PaymentError) Error() string {
	return "iimmpact: invalid payment: " + e.Field + " " + e.Rule
}

// Is makes errors.Is(err, ErrInvalidPayment) true.
func (e *PaymentError) Is(target error) bool { return target == ErrInvalidPayment }

// Trimmed returns p as Pay validates and sends it: every field but RefID
// with the white space and invisible characters around it trimmed. A store
// of payments (the ledger) keeps this form, so the same payment typed twice
// is recognised as one.
func (p Payment) Trimmed() Payment { return p.trimmed() }

// trimmed returns p as it is validated and sent.
func (p Payment) trimmed() Payment {
	return Payment{RefID: p.RefID, Product: trimEdges(p.Product), Account: trimEdges(p.Account), Amount: trimEdges(p.Amount),
		Remarks: trimEdges(p.Remarks), BillerCode: trimEdges(p.BillerCode), Ref2: trimEdges(p.Ref2),
		ICNumber: trimEdges(p.ICNumber), SubproductCode: trimEdges(p.SubproductCode)}
}

// Validate checks p, trimmed as it would be sent, before anything is sent.
// Its error matches ErrInvalidPayment and is a *PaymentError naming the first
// field that breaks a rule.
func (p Payment) Validate() error { return p.trimmed().validate() }

func (p Payment) validate() error {
	fields := [...]struct{ name, value string }{
		{"refid", p.RefID}, {"product", p.Product}, {"account", p.Account}, {"amount", p.Amount},
		{"remarks", p.Remarks}, {"biller_code", p.BillerCode}, {"ref2", p.Ref2}, {"ic_number", p.ICNumber}, {"subproduct_code", p.SubproductCode},
	}
	for _, f := range fields[:4] {
		if f.value == "" {
			return &PaymentError{Field: f.name, Code: PaymentRequired, Rule: "is required"}
		}
	}
	if err := ValidateRefID(p.RefID); err != nil {
		return err
	}
	for _, f := range fields[1:] {
		if badCharacter(f.value) {
			return &PaymentError{Field: f.name, Code: PaymentBadCharacter, Rule: "must not contain control or invisible characters"}
		}
	}
	if err := ValidateAmount(p.Amount); err != nil {
		return err
	}
	if p.ICNumber != "" {
		if err := ValidateICNumber(p.ICNumber); err != nil {
			return err
		}
	}
	return ValidateExtras(p.Product, Extras{BillerCode: p.BillerCode, Ref2: p.Ref2, ICNumber: p.ICNumber, SubproductCode: p.SubproductCode})
}

// ValidateRefID checks a refid on its own, as Payment.Validate does: 1 to 36
// ASCII letters, digits, "-" and "_", never trimmed. Its error is a
// *PaymentError. A tool that derives refids checks the longest it makes.
func ValidateRefID(refid string) error {
	switch {
	case refid == "":
		return &PaymentError{Field: "refid", Code: PaymentRequired, Rule: "is required"}
	case !validRefID(refid):
		return &PaymentError{Field: "refid", Code: PaymentBadRefID, Rule: "must be 1 to " + strconv.Itoa(maxRefIDLen) + ` ASCII letters, digits, "-" or "_" (it is never trimmed)`}
	}
	return nil
}

func validRefID(s string) bool {
	if s == "" || len(s) > maxRefIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// paymentBody is the JSON the API takes, built once per call.
type paymentBody struct {
	RefID   string         `json:"refid"`
	Product string         `json:"product"`
	Account string         `json:"account"`
	Amount  string         `json:"amount"` // a string, so no float touches it
	Remarks string         `json:"remarks,omitempty"`
	Extras  *paymentExtras `json:"extras,omitempty"`
}

type paymentExtras struct {
	BillerCode     string `json:"biller_code,omitempty"`
	Ref2           string `json:"ref2,omitempty"`
	ICNumber       string `json:"ic_number,omitempty"`
	SubproductCode string `json:"subproduct_code,omitempty"`
}

// body returns the JSON body of a valid, trimmed payment: the amount with two
// decimals, so "45.9" and "45.90" are the same request.
func (p Payment) body() []byte {
	amount, _ := ParseAmount(p.Amount)
	b := paymentBody{RefID: p.RefID, Product: p.Product, Account: p.Account, Amount: amount.String(), Remarks: p.Remarks}
	if x := (paymentExtras{p.BillerCode, p.Ref2, p.ICNumber, p.SubproductCode}); x != (paymentExtras{}) {
		b.Extras = &x
	}
	out, _ := json.Marshal(b) // strings only: it cannot fail
	return out
}

// Pay makes the payment p, or asks for its status when its refid was sent
// before: the API answers a refid it knows with that transaction's current
// status, and never charges twice for one refid.
//
// One rule to rely on: a non-nil error means this call moved no money,
// unless it matches ErrOutcomeUnknown. When you ask again about a payment an
// earlier call made or may have made (the same refid), only an answer tells
// its state: an error then means this ask was refused or never left, not
// that the payment does not exist (PayUntilFinal keeps track of that).
//   - nil error: a *Transaction. Its Status may be final (succeeded, failed:
//     another attempt needs a new refid, refunded) or not (accepted,
//     processing: ask again with the same p).
//   - ErrOutcomeUnknown: the payment may have been made. Ask again with the
//     same p; never tell the customer it failed.
//   - any other error: nothing was created. An invalid payment
//     (ErrInvalidPayment), the quota (ErrQuotaExceeded), the 403 breaker
//     (ErrBlocked), a context that ended before anything was sent, or an
//     *APIError for HTTP 400 (Code holds the vendor's code, such as 43 for
//     insufficient wallet credit; fix it and send the same refid), 401, 403
//     or 429.
//
// It goes through the same signer, retries, quota, breaker, redaction and
// observer as every call. The body is built once and sent byte for byte the
// same on every attempt, each signed afresh; a payment is never shared with
// another caller's request. The SDK never makes up, changes or drops a refid.
func (c *Client) Pay(ctx context.Context, p Payment) (*Transaction, error) {
	p = p.trimmed()
	var body []byte
	err := p.validate()
	if err == nil {
		body = p.body()
	}
	cl := c.postCall(opPayment, paymentPath, p.Product, body, p.Account, p.Ref2, p.ICNumber)
	cl.invalid, cl.charges = err, true
	r := do(ctx, c, cl, p.check)
	if r.err != nil {
		return nil, r.err // an answer that could not be read is not handed out
	}
	return r.value, nil
}

// The vendor's polling cadence: ask again every 5 to 10 seconds.
const (
	pollMin = 5 * time.Second
	pollMax = 10 * time.Second
)

// PayUntilFinal is Pay, then asks again with the same p, every 5 to 10
// seconds (jittered; WithPaymentPolling changes it), until the status is
// final, ctx ends or the stop of WithStop comes. An answer of
// ErrOutcomeUnknown is asked again too: that is how it is resolved. Each ask
// is a request the quota counts.
//
// It returns a final *Transaction and no error; an error that does not match
// ErrOutcomeUnknown (nothing was created), as Pay; or, when ctx ends first, an
// error matching ErrOutcomeUnknown, with the last Transaction read (not final)
// when there was one. Use callbacks beside it, not instead of it.
func (c *Client) PayUntilFinal(ctx context.Context, p Payment) (*Transaction, error) {
	var last *Transaction
	mayExist := false // an earlier ask made the payment, or may have
	for {
		tx, err := c.Pay(ctx, p)
		switch {
		case err == nil && tx.Status.Final():
			return tx, nil
		case err == nil:
			last, mayExist = tx, true
		case !errors.Is(err, ErrOutcomeUnknown) && mayExist:
			// This ask proves only that it created nothing itself.
			return last, &outcomeUnknownError{cause: err}
		case !errors.Is(err, ErrOutcomeUnknown):
			return nil, err
		default:
			mayExist = true
		}
		if ctx == nil {
			return last, err
		}
		wait := c.pollMin + time.Duration(c.jitter()*float64(c.pollMax-c.pollMin))
		if serr := c.pause(ctx, wait); serr != nil {
			return last, stoppedAsking(serr, err, last)
		}
	}
}

// stoppedAsking is PayUntilFinal's error when it stops before a final
// answer: ErrOutcomeUnknown, saying once why it stopped (the deadline, a
// stop) and what the last ask said (an error, or the status).
func stoppedAsking(why, lastErr error, last *Transaction) error {
	var said string
	if lastErr == nil {
		said = "its status was " + string(last.Status)
	} else {
		said = strings.TrimPrefix(lastErr.Error(), "iimmpact: payment: ")
		said = strings.TrimPrefix(said, strings.TrimPrefix(ErrOutcomeUnknown.Error(), "iimmpact: ")+": ")
	}
	return &outcomeUnknownError{cause: fmt.Errorf("stopped asking (%w); the last ask: %s", why, said)}
}
