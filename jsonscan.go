package iimmpact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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

// eachElement calls fn with each element of the JSON array arr, in order,
// each only delimited: the caller reads and validates what it uses.
func eachElement(arr []byte, fn func(value []byte) error) error {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return errNotArray
	}
	if i = skipSpace(arr, i+1); i < len(arr) && arr[i] == ']' {
		return onlySpace(arr, i+1)
	}
	for {
		end, err := skipValue(arr, i)
		if err != nil {
			return err
		}
		if err := fn(arr[i:end]); err != nil {
			return err
		}
		if i = skipSpace(arr, end); i >= len(arr) {
			return errNotArray
		}
		switch arr[i] {
		case ',':
			i = skipSpace(arr, i+1)
		case ']':
			return onlySpace(arr, i+1)
		default:
			return errNotArray
		}
	}
}

var errNotArray = errors.New("not a JSON array")

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

// Every v2 answer is an envelope: a JSON object holding a "data" object and a
// metadata object, which bill presentment spells "metadata" and other
// endpoints "@metadata". This file reads that framing once for every
// endpoint, with one rule for the two spellings and one tracker of keys sent
// twice.

// keys tracks the documented keys of one answer, as "data.Outstanding", to
// find one sent twice. It holds them in an array: no map to allocate.
type keys struct {
	seen [32]string
	n    int
	dups []string // the documented keys met twice, in order
}

// duplicate is the first documented key met twice, or "".
func (k *keys) duplicate() string {
	if len(k.dups) == 0 {
		return ""
	}
	return k.dups[0]
}

// once records name and reports whether it was new.
func (k *keys) once(name string) bool {
	if k.met(name) {
		for _, d := range k.dups {
			if d == name {
				return false
			}
		}
		k.dups = append(k.dups, name)
		return false
	}
	if k.n < len(k.seen) {
		k.seen[k.n] = name
		k.n++
	}
	return true
}

func (k *keys) met(name string) bool {
	for _, n := range k.seen[:k.n] {
		if n == name {
			return true
		}
	}
	return false
}

// envelope is what readEnvelope found around the data.
type envelope struct {
	// metadata is the "metadata" object, or "@metadata" when only that
	// spelling was sent: one rule for every endpoint. nil when neither was.
	metadata     []byte
	metadataName string // the spelling read
	// trailing reports bytes after the envelope.
	trailing bool
}

// readEnvelope reads the envelope in body (a byte order mark and white space
// around it are ignored): data is given the value of each "data" member, in
// order, and other each member that is neither data nor metadata. Every
// top-level key is recorded in k, so one sent twice is in k.dups.
func readEnvelope(body []byte, k *keys, data func(val []byte), other func(key, val []byte)) (envelope, error) {
	var env envelope
	var at []byte
	framed := trimFraming(body)
	end, err := eachMemberOf(framed, func(key, val []byte) error {
		switch string(key) { // constants below: recording a key allocates nothing
		case "data":
			k.once("data")
			data(val)
			return nil
		case "metadata":
			k.once("metadata")
			env.metadata, env.metadataName = val, "metadata"
			return nil
		case "@metadata":
			k.once("@metadata")
			at = val
			return nil
		}
		if other != nil {
			other(key, val)
		}
		return nil
	})
	if err != nil {
		return env, err
	}
	if env.metadata == nil && at != nil {
		env.metadata, env.metadataName = at, "@metadata"
	}
	env.trailing = end < len(framed)
	return env, nil
}

// readData reads body's envelope and hands each "data" value to data. It
// returns the first thing wrong with the answer, for the caller to call it
// malformed: its framing, what data said of a value, a documented key sent
// twice, bytes after the envelope.
func readData(body []byte, k *keys, data func(val []byte) error, other func(key, val []byte)) error {
	var derr error
	env, err := readEnvelope(body, k, func(val []byte) {
		if derr == nil {
			derr = data(val)
		}
	}, other)
	switch {
	case err != nil:
		return err
	case derr != nil:
		return derr
	case len(k.dups) > 0:
		return fmt.Errorf("%s is sent twice", k.duplicate())
	case env.trailing:
		return errors.New("bytes after the envelope")
	}
	return nil
}

// readDataTexts reads body's envelope as readData does, and the text of each
// member of data named in into (each once) into its string; other members
// are not read.
func readDataTexts(body []byte, into map[string]*string) error {
	var k keys
	return readData(body, &k, func(val []byte) error {
		return eachMember(val, func(key, val []byte) error {
			if p, ok := into[string(key)]; ok {
				*p = scalarText(val)
				k.once("data." + string(key))
			}
			return nil
		})
	}, nil)
}

// readRows reads a page of a list: data an array of at most limit rows, each
// read by row, or null for none. what names the rows in an error.
func readRows[T any](body []byte, limit int, what string, row func([]byte) (T, error), other func(key, val []byte)) ([]T, error) {
	var k keys
	var rows []T
	err := readData(body, &k, func(val []byte) error {
		if isNull(val) {
			return nil // no rows, as some endpoints say it
		}
		return eachElement(val, func(v []byte) error {
			if len(rows) == limit {
				return fmt.Errorf("a page holds more than the %d %s asked", limit, what)
			}
			r, err := row(v)
			rows = append(rows, r)
			return err
		})
	}, other)
	if err == nil && !k.met("data") {
		err = errors.New("no data")
	}
	return rows, err
}

// malformedError is an answer's error when it cannot be read.
func malformedError(err error) error { return fmt.Errorf("%w: %w", ErrMalformedResponse, err) }

// trimFraming drops a UTF-8 byte order mark and white space around body.
func trimFraming(body []byte) []byte {
	return bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(body), []byte("\ufeff")))
}
