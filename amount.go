package iimmpact

// Money, in one place: the Amount type, its parser and its forms.

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// parseSen reads a plain decimal as an exact count of sen: an optional "-",
// digits (leading zeros allowed), and an optional "." followed by digits, the
// forms the API's JSON numbers and strings take. Decimals past the second
// must be zeros ("45.940000" is 45.94); an exponent, a "+", a comma or "RM"
// is no amount. It takes bytes or a string so a JSON literal is read in
// place.
func parseSen[T string | []byte](s T) (int64, error) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	whole, frac, err := splitDecimal(s)
	if err != nil {
		return 0, err
	}
	for len(whole) > 1 && whole[0] == '0' {
		whole = whole[1:]
	}
	if len(whole) > maxWholeDigits {
		return 0, ErrAmountRange
	}
	var u uint64 // at most 17 + 2 digits: no overflow before the check below
	for i := 0; i < len(whole); i++ {
		u = u*10 + uint64(whole[i]-'0')
	}
	for i := range 2 {
		u *= 10
		if i < len(frac) {
			u += uint64(frac[i] - '0')
		}
	}
	if u > math.MaxInt64 {
		return 0, ErrAmountRange
	}
	if neg {
		return -int64(u), nil
	}
	return int64(u), nil
}

// maxWholeDigits is the most digits of ringgit an int64 of sen can hold.
const maxWholeDigits = 17

// splitDecimal splits s into its whole digits and its decimals, checking
// that both are digits and that no decimal past the second is other than 0.
func splitDecimal[T string | []byte](s T) (whole, frac T, err error) {
	whole = s
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			whole, frac = s[:i], s[i+1:]
			if len(frac) == 0 {
				return whole, frac, ErrAmountSyntax
			}
			break
		}
	}
	if len(whole) == 0 || !allDigits(whole) || !allDigits(frac) {
		return whole, frac, ErrAmountSyntax
	}
	for i := 2; i < len(frac); i++ {
		if frac[i] != '0' {
			return whole, frac, ErrAmountPrecision
		}
	}
	return whole, frac, nil
}

func allDigits[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// Amount is an exact amount of ringgit, held as sen (1/100 RM) in an int64, so
// no binary float ever touches it. It decodes from a JSON number or a numeric
// string. An amount that is not exact money (a third decimal, past int64, not a
// number at all) is Unreadable, never rounded or read as another number.
type Amount struct {
	value
	sen int64
}

// ParseAmount parses decimal text such as "45.94", "-3" or "1.5e2". Digits past the
// second decimal place must be zeros: an amount is never rounded.
func ParseAmount(s string) (Amount, error) {
	sen, err := parseSen(strings.TrimSpace(s))
	if err != nil {
		return Amount{}, err
	}
	return AmountFromSen(sen), nil
}

// AmountFromSen returns the Amount of sen hundredths of a ringgit: 4594 is
// 45.94. A tool that keeps money in sen gives its String to Payment.Amount.
func AmountFromSen(sen int64) Amount { return Amount{value: value{state: Returned}, sen: sen} }

// Sen returns the amount in sen: 45.94 is 4594. It is 0 unless State is Returned.
func (a Amount) Sen() int64 { return a.sen }

// String formats the amount with two decimals, "45.94" or "-0.50"; "" unless
// State is Returned. It is what Payment.Amount takes.
func (a Amount) String() string {
	if a.state != Returned {
		return ""
	}
	return string(a.appendDecimal(nil))
}

// Ringgit formats the amount for a person: "RM 45.94"; "" unless State is
// Returned. It is for pages and receipts: Payment.Amount takes String.
func (a Amount) Ringgit() string {
	if a.state != Returned {
		return ""
	}
	return string(a.appendDecimal([]byte("RM ")))
}

func (a Amount) appendDecimal(dst []byte) []byte {
	u := uint64(a.sen)
	if a.sen < 0 {
		dst = append(dst, '-')
		u = -u // correct for math.MinInt64 too, in two's complement
	}
	dst = strconv.AppendUint(dst, u/100, 10)
	frac := u % 100
	return append(dst, '.', byte('0'+frac/10), byte('0'+frac%10))
}

// MarshalJSON writes the JSON as sent, or a number with two decimals for an
// Amount from ParseAmount.
func (a Amount) MarshalJSON() ([]byte, error) {
	if a.raw == nil && a.state == Returned {
		return a.appendDecimal(nil), nil
	}
	return a.value.MarshalJSON()
}

// readAmount reads a number, a numeric string, "" or null.
func readAmount(raw []byte) Amount {
	a := Amount{value: value{raw: raw, state: Unreadable}}
	var err error
	switch {
	case isNull(raw):
		a.state = Null
	case raw[0] == '"':
		var text string
		if text, err = unquote(raw); err == nil {
			if text = strings.TrimSpace(text); text == "" {
				a.state = Blank
			} else if a.sen, err = parseSen(text); err == nil {
				a.state = Returned
			}
		}
	default:
		if a.sen, err = parseSen(raw); err == nil {
			a.state = Returned
		}
	}
	return a
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

// Errors from parsing an amount.
var (
	ErrAmountSyntax    = errors.New("iimmpact: amount is not a decimal number")
	ErrAmountPrecision = errors.New("iimmpact: amount has more than two decimal places")
	ErrAmountRange     = errors.New("iimmpact: amount is out of range")
)

// ValidateAmount checks an amount on its own, trimmed, as Payment.Validate
// does: a positive decimal with at most two decimals, such as "45.94". Its
// error is a *PaymentError.
func ValidateAmount(amount string) error {
	amount = trimEdges(amount)
	switch _, err := ParseAmount(amount); {
	case amount == "":
		return &PaymentError{Field: "amount", Code: PaymentRequired, Rule: "is required"}
	case !validAmount(amount) && strings.HasPrefix(strings.ToUpper(amount), "RM"):
		return &PaymentError{Field: "amount", Code: PaymentBadAmount, Rule: `must be a plain decimal such as 45.94, without "RM" (give Amount.String(), not Amount.Ringgit())`}
	case !validAmount(amount):
		return &PaymentError{Field: "amount", Code: PaymentBadAmount, Rule: "must be a positive decimal with at most two decimals, such as 45.94"}
	case err != nil:
		return &PaymentError{Field: "amount", Code: PaymentAmountTooLarge, Rule: "is too large"}
	}
	return nil
}
