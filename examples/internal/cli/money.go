package cli

import (
	"strconv"
	"strings"
)

// Ringgit formats sen for people: "RM 1,699.75", "-RM 12.50". Payments take
// a plain decimal instead (iimmpact.Amount's String).
func Ringgit(sen int64) string {
	sign := ""
	u := uint64(sen)
	if sen < 0 {
		sign, u = "-", uint64(-sen)
	}
	whole := strconv.FormatUint(u/100, 10)
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	frac := u % 100
	return sign + "RM " + b.String() + "." + string(rune('0'+frac/10)) + string(rune('0'+frac%10))
}
