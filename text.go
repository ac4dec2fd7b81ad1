package iimmpact

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text, in one place: the character classes the SDK reads text with, then
// trimming, normalising a message for comparison, text safe to show people,
// and excerpts that never split a word.

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

// trimEdges drops white space and invisible characters (zero-width spaces,
// byte order marks, bidi marks) at both ends of s.
func trimEdges(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.In(r, unicode.Cf) })
}

// normalMessage returns message as a person reads it: every run of white space
// (a no-break space, a tab) one space, invisible characters (zero-width
// spaces, byte order marks, bidi controls) and control characters dropped,
// and the punctuation, symbols and quotes around it trimmed ("!", "…", a
// second JSON encoding's quotes).
func normalMessage(message string) string {
	if plainText(message) && !edgePunct(message) {
		return message
	}
	out := make([]byte, 0, len(message))
	space := false
	for _, r := range message {
		switch {
		case unicode.IsSpace(r):
			space = len(out) > 0
		case unicode.IsControl(r), unicode.In(r, unicode.Cf), r == utf8.RuneError:
		default:
			if space {
				out, space = append(out, ' '), false
			}
			out = utf8.AppendRune(out, r)
		}
	}
	return strings.TrimFunc(string(out), func(r rune) bool {
		return unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
	})
}

func edgePunct(s string) bool {
	if s == "" {
		return false
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	isEdge := func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSymbol(r) }
	return isEdge(first) || isEdge(last)
}

// scalarText returns a JSON string's value or a number's or boolean's text.
func scalarText(raw []byte) string {
	t := readText(raw)
	if t.state != Returned {
		return ""
	}
	return t.text
}

// excerpt returns at most the first n bytes of s as valid UTF-8. A cut never
// splits a word: it falls before the letters, digits and escapes it would cut
// through, so that what is left of an account or IC number is never a part
// too short for redaction to recognise (redaction may come after the cut).
func excerpt(s []byte, n int) string {
	if len(s) > n {
		cut := n
		for cut > 0 && inWord(s[cut-1]) && inWord(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	if utf8.Valid(s) {
		return string(s)
	}
	return strings.ToValidUTF8(string(s), "\uFFFD")
}

func firstLine(s string, n int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return excerpt([]byte(s), n)
}

// forPeople returns s made safe to show a person, on a page, a terminal or in
// an SMS: control characters dropped (an ESC with the CSI sequence it starts),
// bidi embeddings, overrides, isolates and marks dropped so none is left open
// to reorder what follows, zero-width spaces and byte order marks dropped, and
// every run of white space turned into one space, with none at either end.
func forPeople(s string) string {
	if plainText(s) {
		return s
	}
	out := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == 0x1b:
			i = skipCSI(s, i)
			continue
		case unicode.IsSpace(r):
			space = len(out) > 0
			continue
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r), invisible(r):
			continue
		case r == utf8.RuneError && size == 1:
			r = unicode.ReplacementChar
		}
		if space {
			out, space = append(out, ' '), false
		}
		out = utf8.AppendRune(out, r)
	}
	return string(out)
}

// skipCSI returns the index past the rest of a terminal control sequence
// "ESC [ parameters final" whose ESC ends at s[i], or i when there is none.
func skipCSI(s string, i int) int {
	if i >= len(s) || s[i] != '[' {
		return i
	}
	for i++; i < len(s) && s[i] >= 0x20 && s[i] <= 0x3f; i++ {
	}
	if i < len(s) && s[i] >= 0x40 && s[i] <= 0x7e {
		i++
	}
	return i
}
