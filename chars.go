package iimmpact

import (
	"unicode"
	"unicode/utf8"
)

// The character classes the SDK reads text with, in one place.

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || ('a' <= c|0x20 && c|0x20 <= 'f') }

// validHeaderValue reports whether v can be sent as a header value unchanged.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// badCharacter reports a control or invisible character, or bytes that are
// not UTF-8: none belongs in an account number or a code, and the API would
// read them as part of it.
func badCharacter(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.In(r, unicode.Cf) {
			return true
		}
	}
	return false
}

func noControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 {
			return false
		}
	}
	return true
}

// blankText reports whether s shows nothing to a person: only white space,
// control and invisible characters. Most texts answer at their first byte.
func blankText(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c > ' ' && c < 0x7f:
			return false
		case c >= 0x80:
			return forPeople(s) == ""
		}
	}
	return true
}

// plainText reports whether s is printable ASCII with single spaces inside
// only, which forPeople leaves as it is.
func plainText(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || (c == ' ' && (i == 0 || i == len(s)-1 || s[i+1] == ' ')) {
			return false
		}
	}
	return true
}

// invisible reports the characters that show nothing and mean nothing in a
// bill's text: zero-width space, word joiner, byte order mark.
func invisible(r rune) bool { return r == '\u200b' || r == '\u2060' || r == '\ufeff' }

func isAlnum(c byte) bool { return isDigit(c) || ('a' <= c|0x20 && c|0x20 <= 'z') }

// inWord reports a byte an account number can be spelt with, escaped or
// percent-encoded: a letter, a digit, '%', '+', '\\', '-' or '_'.
func inWord(c byte) bool {
	return isAlnum(c) || c == '%' || c == '+' || c == '\\' || c == '-' || c == '_' || c >= utf8.RuneSelf
}
