package iimmpact

// The amount parser: the one function over complexity 15, kept alone here.

import "math"

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
