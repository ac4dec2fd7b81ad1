package iimmpact

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CustomField is data.CustomField, whose JSON kind varies by biller: a string,
// number, boolean, object, array or null. It keeps the JSON as sent (Raw) and
// reads as text a person can follow (String).
type CustomField struct{ value }

// Decode unmarshals the value into v, as json.Unmarshal does: into a string, a
// json.Number, a map or the biller's own struct. Absent and null leave v
// unchanged.
func (c CustomField) Decode(v any) error {
	if c.state == Absent || c.state == Null {
		return nil
	}
	return json.Unmarshal(c.raw, v)
}

// String shows the value to a person: a string as itself, a number or boolean
// as its JSON text, an object as "Tariff: A (domestic) · Meter: M-0042" with its
// keys in the order sent, and an array as its items joined by ", ". It is ""
// unless State is Returned.
func (c CustomField) String() string {
	if c.state != Returned {
		return ""
	}
	var b strings.Builder
	writeReadable(&b, c.raw)
	return strings.TrimSpace(b.String())
}

// writeReadable writes the valid JSON raw as text for a person, never as JSON.
func writeReadable(b *strings.Builder, raw []byte) {
	switch raw[0] {
	case '"':
		s, _ := unquote(raw)
		b.WriteString(strings.TrimSpace(s))
	case '{':
		writeObject(b, raw)
	case '[':
		writeArray(b, raw)
	case 'n':
	default:
		b.Write(raw)
	}
}

// writeObject writes "Key: value · Key: value", nested objects in brackets.
func writeObject(b *strings.Builder, raw []byte) {
	n := 0
	_ = eachMember(raw, func(key, val []byte) error {
		if blankJSON(val) {
			return nil
		}
		if n++; n > 1 {
			b.WriteString(" · ")
		}
		b.WriteString(humanKey(string(key)) + ": ")
		writeNested(b, val, val[0] == '{')
		return nil
	})
}

// writeArray writes the items that are not blank, joined by ", ".
func writeArray(b *strings.Builder, raw []byte) {
	var items []json.RawMessage
	_ = json.Unmarshal(raw, &items)
	shown := items[:0]
	for _, item := range items {
		if !blankJSON(item) {
			shown = append(shown, item)
		}
	}
	for i, item := range shown {
		if i > 0 {
			b.WriteString(", ")
		}
		writeNested(b, item, len(shown) > 1 && item[0] == '{')
	}
}

func writeNested(b *strings.Builder, raw []byte, bracket bool) {
	if bracket {
		b.WriteString("(")
	}
	writeReadable(b, raw)
	if bracket {
		b.WriteString(")")
	}
}

// humanKey turns a biller's key such as "meter_no" into "Meter no". A key
// with a capital letter keeps its case, as the biller wrote it ("kWh").
func humanKey(k string) string {
	k = strings.TrimSpace(strings.NewReplacer("_", " ", "-", " ").Replace(k))
	if k == "" {
		return "-"
	}
	if strings.ToLower(k) != k {
		return k
	}
	r, size := utf8.DecodeRuneInString(k)
	return string(unicode.ToUpper(r)) + k[size:]
}

// blankJSON reports whether the valid JSON raw holds nothing to show: null, a
// blank string, or an object or array with nothing to show in it.
func blankJSON(raw []byte) bool {
	switch raw[0] {
	case 'n':
		return true
	case '"':
		s, _ := unquote(raw)
		return strings.TrimSpace(s) == ""
	case '{':
		blank := true
		_ = eachMember(raw, func(_, val []byte) error {
			blank = blank && blankJSON(val)
			return nil
		})
		return blank
	case '[':
		var items []json.RawMessage
		_ = json.Unmarshal(raw, &items)
		for _, item := range items {
			if !blankJSON(item) {
				return false
			}
		}
		return true
	}
	return false
}

func readCustomField(raw []byte) CustomField {
	c := CustomField{value{raw: raw, state: Unreadable}}
	switch {
	case isNull(raw):
		c.state = Null
	case !json.Valid(raw): // json.Valid also refuses nesting deeper than 10,000
	case blankJSON(raw):
		c.state = Blank
	default:
		c.state = Returned
	}
	return c
}
