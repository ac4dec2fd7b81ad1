package iimmpact

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// The envelope is read member by member rather than with json.Unmarshal, which
// matches keys without regard to case, keeps the last of duplicate keys and
// rejects the whole body when one value is too deep; deciding on data.message
// needs exact keys, duplicates seen and every other value read on its own.
// json.Decoder.Token would do it at two allocations a token.

var errNotObject = errors.New("not a JSON object")

// eachMember calls fn with the key (unescaped) and the value of each member of
// the JSON object obj, in order. It checks the object's own structure; each value
// is only delimited, so the caller reads and validates what it uses.
func eachMember(obj []byte, fn func(key, value []byte) error) error {
	end, err := eachMemberOf(obj, fn)
	if err != nil {
		return err
	}
	return onlySpace(obj, end)
}

// eachMemberOf is eachMember for an object that may have more after it: it
// returns where the object ends.
func eachMemberOf(obj []byte, fn func(key, value []byte) error) (int, error) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return 0, errNotObject
	}
	if i = skipSpace(obj, i+1); i < len(obj) && obj[i] == '}' {
		return i + 1, nil
	}
	for {
		key, start, err := readKey(obj, i)
		if err != nil {
			return 0, err
		}
		end, err := skipValue(obj, start)
		if err != nil {
			return 0, err
		}
		if err := fn(key, obj[start:end]); err != nil {
			return 0, err
		}
		if i = skipSpace(obj, end); i >= len(obj) {
			return 0, errNotObject
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, errNotObject
		}
	}
}

// readKey reads the member key at obj[i] and its colon, and returns the key
// unescaped and where the value starts.
func readKey(obj []byte, i int) (key []byte, value int, err error) {
	if i >= len(obj) || obj[i] != '"' {
		return nil, 0, errNotObject
	}
	end, err := skipString(obj, i)
	if err != nil {
		return nil, 0, err
	}
	key = obj[i+1 : end-1]
	if bytes.IndexByte(key, '\\') >= 0 {
		s, err := unquote(obj[i:end])
		if err != nil {
			return nil, 0, errNotObject
		}
		key = []byte(s)
	}
	if i = skipSpace(obj, end); i >= len(obj) || obj[i] != ':' {
		return nil, 0, errNotObject
	}
	return key, skipSpace(obj, i+1), nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func onlySpace(b []byte, i int) error {
	if skipSpace(b, i) != len(b) {
		return errNotObject
	}
	return nil
}

// skipString returns the index just past the string literal at b[i].
func skipString(b []byte, i int) (int, error) {
	end, _, ok := scanString(b, i)
	if !ok {
		return 0, errNotObject
	}
	return end, nil
}

// scanString is the one JSON string scanner (decoding and redaction use it):
// it returns the index just past the string literal at b[i] and whether it
// holds an escape; or ok false, and where it stopped, when a control
// character or the end of b comes first.
func scanString(b []byte, i int) (end int, escaped, ok bool) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, escaped, true
		case c == '\\':
			escaped = true
			j++
		case c < 0x20:
			return j, false, false
		}
	}
	return len(b), false, false
}

// skipValue returns the index just past the value at b[i]. Objects and arrays
// are delimited by counting brackets, without recursion, so no nesting is too
// deep to skip.
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errNotObject
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errNotObject
	}
	j := i
	for j < len(b) && bytes.IndexByte([]byte(",}] \t\r\n"), b[j]) < 0 {
		j++
	}
	if j == i {
		return 0, errNotObject
	}
	return j, nil
}

// unquote returns the value of the JSON string literal b. Most strings the API
// sends have no escapes; those are sliced out without a second decode, which
// halves the allocations of decoding.
func unquote(b []byte) (string, error) {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		inner := b[1 : len(b)-1]
		if bytes.IndexByte(inner, '\\') < 0 && bytes.IndexByte(inner, '"') < 0 && utf8.Valid(inner) && noControl(inner) {
			return string(inner), nil
		}
	}
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}

func isNull(b []byte) bool { return string(b) == "null" }
