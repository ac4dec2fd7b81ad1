package iimmpact

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// Amount is an exact amount of ringgit, held as sen (1/100 RM) in an int64, so
// no binary float ever touches it. It decodes from a JSON number, a numeric string
// or null, and remembers which it was.
type Amount struct {
	sen   int64
	state Presence
}

// Errors from parsing an amount.
var (
	ErrAmountSyntax    = errors.New("iimmpact: amount is not a decimal number")
	ErrAmountPrecision = errors.New("iimmpact: amount has more than two decimal places")
	ErrAmountRange     = errors.New("iimmpact: amount is out of range")
)

// AmountFromSen returns the amount of sen / 100 ringgit.
func AmountFromSen(sen int64) Amount { return Amount{sen: sen, state: Present} }

// ParseAmount parses decimal text such as "45.94", "-3" or "1.5e2". Digits past the
// second decimal place must be zeros: an amount is never rounded.
func ParseAmount(s string) (Amount, error) {
	sen, err := parseSen(strings.TrimSpace(s))
	if err != nil {
		return Amount{}, err
	}
	return AmountFromSen(sen), nil
}

// Sen returns the amount in sen: 45.94 is 4594. It is 0 when the amount is not Valid.
func (a Amount) Sen() int64 { return a.sen }

// Valid reports whether the API sent a number (0 included).
func (a Amount) Valid() bool { return a.state == Present }

// State says whether the field was absent, null (or "") or sent.
func (a Amount) State() Presence { return a.state }

// String formats the amount with two decimals, "45.94" or "-0.50"; "" when not Valid.
func (a Amount) String() string {
	if !a.Valid() {
		return ""
	}
	return string(a.appendDecimal(nil))
}

// Ringgit formats the amount for a person: "RM 45.94"; "" when not Valid.
func (a Amount) Ringgit() string {
	if !a.Valid() {
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

// UnmarshalJSON accepts a number, a numeric string, "" or null.
func (a *Amount) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*a = Amount{state: Null}
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		text, err := unquote(b)
		if err != nil {
			return err
		}
		if text = strings.TrimSpace(text); text == "" {
			*a = Amount{state: Null}
			return nil
		}
		return a.set(parseSen(text))
	}
	return a.set(parseSen(b))
}

func (a *Amount) set(sen int64, err error) error {
	if err != nil {
		return err
	}
	*a = AmountFromSen(sen)
	return nil
}

// MarshalJSON writes a JSON number with two decimals, or null.
func (a Amount) MarshalJSON() ([]byte, error) {
	if !a.Valid() {
		return []byte("null"), nil
	}
	return a.appendDecimal(nil), nil
}

// parseSen reads a decimal number (JSON number syntax, leading zeros allowed) as
// an exact count of hundredths. It takes bytes or a string so a JSON literal is
// read in place.
func parseSen[T string | []byte](s T) (int64, error) {
	i := 0
	neg := false
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	intStart := i
	i = skipDigits(s, i)
	intPart := s[intStart:i]
	if len(intPart) == 0 {
		return 0, ErrAmountSyntax
	}
	var frac T
	if i < len(s) && s[i] == '.' {
		i++
		fracStart := i
		i = skipDigits(s, i)
		if frac = s[fracStart:i]; len(frac) == 0 {
			return 0, ErrAmountSyntax
		}
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		expNeg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			expNeg = s[i] == '-'
			i++
		}
		expStart := i
		for ; i < len(s) && isDigit(s[i]); i++ {
			if exp < 1_000_000 { // far past any int64; stops overflow of exp itself
				exp = exp*10 + int(s[i]-'0')
			}
		}
		if i == expStart {
			return 0, ErrAmountSyntax
		}
		if expNeg {
			exp = -exp
		}
	}
	if i != len(s) {
		return 0, ErrAmountSyntax
	}

	// The value is digits × 10^scale sen, where digits is intPart followed by frac.
	scale := exp - len(frac) + 2
	intPart = trimLeadingZeros(intPart)
	if len(intPart) == 0 {
		frac = trimLeadingZeros(frac)
	}
	for scale < 0 && (len(frac) > 0 || len(intPart) > 0) { // drop trailing zeros
		if len(frac) > 0 {
			if frac[len(frac)-1] != '0' {
				break
			}
			frac = frac[:len(frac)-1]
		} else {
			if intPart[len(intPart)-1] != '0' {
				break
			}
			intPart = intPart[:len(intPart)-1]
		}
		scale++
	}
	if len(intPart) == 0 && len(frac) == 0 {
		return 0, nil
	}
	if scale < 0 {
		return 0, ErrAmountPrecision
	}
	if len(intPart)+len(frac)+scale > 19 {
		return 0, ErrAmountRange
	}
	var u uint64
	for j := 0; j < len(intPart); j++ {
		u = u*10 + uint64(intPart[j]-'0')
	}
	for j := 0; j < len(frac); j++ {
		u = u*10 + uint64(frac[j]-'0')
	}
	for ; scale > 0; scale-- {
		u *= 10
	}
	if u > math.MaxInt64 {
		return 0, ErrAmountRange
	}
	if neg {
		return -int64(u), nil
	}
	return int64(u), nil
}

func trimLeadingZeros[T string | []byte](s T) T {
	for len(s) > 0 && s[0] == '0' {
		s = s[1:]
	}
	return s
}

func skipDigits[T string | []byte](s T, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
