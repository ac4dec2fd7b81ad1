package iimmpact

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// Amount is an exact amount of ringgit, held as sen (1/100 RM) in an int64, so
// no binary float ever touches it. It decodes from a JSON number or a numeric
// string. An amount that is not exact money (a third decimal, past int64, not a
// number at all) is Unreadable, never rounded or read as another number.
type Amount struct {
	value
	sen int64
}

// Errors from parsing an amount.
var (
	ErrAmountSyntax    = errors.New("iimmpact: amount is not a decimal number")
	ErrAmountPrecision = errors.New("iimmpact: amount has more than two decimal places")
	ErrAmountRange     = errors.New("iimmpact: amount is out of range")
)

// ParseAmount parses decimal text such as "45.94", "-3" or "1.5e2". Digits past the
// second decimal place must be zeros: an amount is never rounded.
func ParseAmount(s string) (Amount, error) {
	sen, err := parseSen(strings.TrimSpace(s))
	if err != nil {
		return Amount{}, err
	}
	return Amount{value: value{state: Returned}, sen: sen}, nil
}

// Sen returns the amount in sen: 45.94 is 4594. It is 0 unless State is Returned.
func (a Amount) Sen() int64 { return a.sen }

// String formats the amount with two decimals, "45.94" or "-0.50"; "" unless
// State is Returned.
func (a Amount) String() string {
	if a.state != Returned {
		return ""
	}
	return string(a.appendDecimal(nil))
}

// Ringgit formats the amount for a person: "RM 45.94"; "" unless State is Returned.
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
	exp, huge := 0, false
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		expNeg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			expNeg = s[i] == '-'
			i++
		}
		expStart := i
		for ; i < len(s) && isDigit(s[i]); i++ {
			if !huge {
				exp = exp*10 + int(s[i]-'0')
				huge = exp > maxExponent
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
	if huge { // never capped: a capped exponent would read as another number
		switch {
		case len(trimLeadingZeros(intPart)) == 0 && len(trimLeadingZeros(frac)) == 0:
			return 0, nil
		case exp < 0:
			return 0, ErrAmountPrecision
		default:
			return 0, ErrAmountRange
		}
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

// maxExponent bounds an amount's exponent; past it the amount is out of range
// rather than read as some other number.
const maxExponent = 10_000

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
