package iimmpact

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// redactor removes from text what must never leave the package: the API key,
// the secret in every Base64 form, every signature the call sent, and the
// customer's account number and Ref-2; each as is, JSON-escaped (\/ and \u
// escapes included) and percent-encoded in any way (any case of hex, %20 or +
// for a space, some characters or all). Build it only when there is text to
// clean: the success path never needs one.
type redactor struct {
	targets []string
	// inRun holds the bytes an encoded target can be spelt with: its own,
	// '%', '+' and hex digits. A run of them that decodes to text holding a
	// target is removed whole.
	inRun [256]bool
}

const redacted = "[REDACTED]"

// newRedactor returns a redactor for the signer's credentials, the signatures
// sent and the personal values of a query.
func newRedactor(s *Signer, sigs []string, personal ...string) *redactor {
	r := &redactor{targets: append([]string(nil), s.creds().redact...)}
	for _, sig := range sigs {
		r.targets = appendForms(r.targets, sig)
	}
	for _, v := range personal {
		r.targets = appendForms(appendForms(r.targets, v), strings.TrimSpace(v))
	}
	// Longest first, so a target that holds another is removed whole; equal
	// targets end up side by side for Compact.
	slices.SortFunc(r.targets, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	r.targets = slices.Compact(r.targets)
	for _, t := range r.targets {
		for i := 0; i < len(t); i++ {
			r.inRun[t[i]] = true
		}
	}
	for _, c := range []byte("%+0123456789abcdefABCDEF") {
		r.inRun[c] = true
	}
	return r
}

// appendForms appends v as is and in each escaped form that spells it
// differently; values under 4 characters are too short to remove safely.
// Percent-encodings are found by decoding (see clean), not listed.
func appendForms(dst []string, v string) []string {
	if len(v) < 4 {
		return dst
	}
	dst = append(dst, v)
	if slashed := strings.ReplaceAll(v, "/", `\/`); slashed != v {
		dst = append(dst, slashed)
	}
	if strings.ContainsAny(v, "\"\\<>&\u2028\u2029") || !printableASCII(v) {
		quoted, _ := json.Marshal(v)
		dst = append(dst, string(quoted[1:len(quoted)-1]))
	}
	return dst
}

// clean returns s with every target removed.
func (r *redactor) clean(s string) string {
	for _, t := range r.targets {
		if strings.Contains(s, t) {
			s = strings.ReplaceAll(s, t, redacted)
		}
	}
	if strings.ContainsAny(s, "%+") {
		s = r.cleanEncoded(s)
	}
	return s
}

// cleanEncoded removes each run of target bytes that, percent-decoded, holds
// a target. Each byte is in one run, so the pass is linear.
func (r *redactor) cleanEncoded(s string) string {
	var out strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if !r.inRun[s[i]] {
			i++
			continue
		}
		j := i
		for j < len(s) && r.inRun[s[j]] {
			j++
		}
		if run := s[i:j]; strings.ContainsAny(run, "%+") && r.holdsTarget(run) {
			out.WriteString(s[last:i])
			out.WriteString(redacted)
			last = j
		}
		i = j
	}
	if last == 0 {
		return s
	}
	out.WriteString(s[last:])
	return out.String()
}

// holdsTarget reports whether run, percent-decoded up to three times, with
// '+' read as a space or as itself, holds a target.
func (r *redactor) holdsTarget(run string) bool {
	for _, plus := range [...]bool{true, false} {
		decoded := run
		for range 3 {
			next := percentDecode(decoded, plus)
			if next == decoded {
				break
			}
			decoded = next
			for _, t := range r.targets {
				if strings.Contains(decoded, t) {
					return true
				}
			}
		}
	}
	return false
}

// percentDecode decodes every valid %XX escape in s (and '+' as a space when
// plus is set), leaving anything else as it is.
func percentDecode(s string, plus bool) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case c == '+' && plus:
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func unhex(c byte) byte {
	if isDigit(c) {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}

// cleanBody redacts a response body. Each JSON string with an escape in it is
// redacted after its escapes are read, so no escape (\/, \u0041) can hide what
// it spells; strings without one are redacted with the rest of the text. It
// reads any text, JSON or not, in one pass.
func (r *redactor) cleanBody(body []byte) []byte {
	var out []byte
	last := 0
	for i := 0; i < len(body); i++ {
		if body[i] != '"' {
			continue
		}
		end, escaped, ok := scanString(body, i)
		if !ok { // no closing quote on the line: not a string
			i = end - 1
			continue
		}
		if escaped {
			out = append(out, body[last:i]...)
			out = appendQuoted(out, r.clean(unescape(body[i+1:end-1])))
			last = end
		}
		i = end - 1
	}
	if last == 0 {
		return []byte(r.clean(string(body)))
	}
	out = append(out, body[last:]...)
	return []byte(r.clean(string(out)))
}

// unescape reads a JSON string's escapes, leniently: an escape that is not
// valid JSON stays as it is, so a broken body is still read as far as it goes.
func unescape(s []byte) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			out = append(out, s[i])
			continue
		}
		if r, n := escapedRune(s[i:]); n > 0 {
			out = utf8.AppendRune(out, r)
			i += n - 1
			continue
		}
		out = append(out, s[i])
	}
	return string(out)
}

// escapedRune reads the escape at the start of s, returning its rune and
// length, or n == 0 when it is not a valid escape.
func escapedRune(s []byte) (r rune, n int) {
	if i := strings.IndexByte(`"\/bfnrt`, s[1]); i >= 0 {
		return rune("\"\\/\b\f\n\r\t"[i]), 2
	}
	u, ok := hex4(s[1:])
	if !ok {
		return 0, 0
	}
	if utf16.IsSurrogate(u) {
		if len(s) < 12 || s[6] != '\\' {
			return utf8.RuneError, 6
		}
		if low, ok := hex4(s[7:]); ok {
			if pair := utf16.DecodeRune(u, low); pair != utf8.RuneError {
				return pair, 12
			}
		}
		return utf8.RuneError, 6
	}
	return u, 6
}

// hex4 reads "uXXXX" at the start of s.
func hex4(s []byte) (rune, bool) {
	if len(s) < 5 || s[0] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range s[1:5] {
		if !isHex(c) {
			return 0, false
		}
		r = r<<4 | rune(unhex(c))
	}
	return r, true
}

// appendQuoted appends s as a JSON string, without HTML escaping: the
// excerpt is read as text.
func appendQuoted(dst []byte, s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // never fails for a string
	return append(dst, bytes.TrimSuffix(b.Bytes(), []byte("\n"))...)
}

// formatSafe writes s, the String of a value that holds personal data, for
// any fmt verb: quoted for %q, as is for every other.
func formatSafe(f fmt.State, verb rune, s string) {
	if verb == 'q' {
		s = strconv.Quote(s)
	}
	_, _ = io.WriteString(f, s)
}
