package iimmpact

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Kind is the JSON kind of a CustomField.
type Kind uint8

// The kinds a CustomField can hold.
const (
	KindAbsent Kind = iota
	KindNull
	KindString
	KindNumber
	KindBool
	KindObject
	KindArray
)

var kindNames = [...]string{"absent", "null", "string", "number", "bool", "object", "array"}

// String returns the kind's name, such as "object".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

func jsonKind(raw []byte) Kind {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return KindAbsent
	}
	switch raw[0] {
	case 'n':
		return KindNull
	case '"':
		return KindString
	case 't', 'f':
		return KindBool
	case '{':
		return KindObject
	case '[':
		return KindArray
	default:
		return KindNumber
	}
}

// CustomField is data.CustomField, whose JSON kind varies by biller: a string,
// number, boolean, object, array or null. It keeps the JSON as sent.
type CustomField struct {
	raw json.RawMessage
}

// NewCustomField returns a CustomField holding v encoded as JSON.
func NewCustomField(v any) (CustomField, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return CustomField{}, err
	}
	return CustomField{raw: raw}, nil
}

// Kind returns the JSON kind, or KindAbsent when the key was not sent.
func (c CustomField) Kind() Kind { return jsonKind(c.raw) }

// Raw returns a copy of the JSON as sent (nil when absent).
func (c CustomField) Raw() json.RawMessage { return bytes.Clone(c.raw) }

// AsString returns the value of a string CustomField.
func (c CustomField) AsString() (string, bool) {
	if c.Kind() != KindString {
		return "", false
	}
	var s string
	if json.Unmarshal(c.raw, &s) != nil {
		return "", false
	}
	return s, true
}

// AsNumber returns the exact text of a number CustomField.
func (c CustomField) AsNumber() (json.Number, bool) {
	if c.Kind() != KindNumber {
		return "", false
	}
	return json.Number(bytes.TrimSpace(c.raw)), true
}

// Decode unmarshals the value into v, as json.Unmarshal does. Absent and null
// leave v unchanged.
func (c CustomField) Decode(v any) error {
	if len(c.raw) == 0 {
		return nil
	}
	return json.Unmarshal(c.raw, v)
}

// IsEmpty reports whether there is nothing to show: absent, null, a blank string,
// {} or [].
func (c CustomField) IsEmpty() bool {
	switch c.Kind() {
	case KindAbsent, KindNull:
		return true
	case KindString:
		s, _ := c.AsString()
		return strings.TrimSpace(s) == ""
	case KindObject, KindArray:
		var v []json.RawMessage
		var m map[string]json.RawMessage
		if c.Kind() == KindArray {
			return json.Unmarshal(c.raw, &v) == nil && len(v) == 0
		}
		return json.Unmarshal(c.raw, &m) == nil && len(m) == 0
	}
	return false
}

// String shows the value to a person: a string as itself, a number or boolean as
// its JSON text, an object or array as compact JSON, absent or null as "".
func (c CustomField) String() string {
	switch c.Kind() {
	case KindAbsent, KindNull:
		return ""
	case KindString:
		s, _ := c.AsString()
		return s
	case KindObject, KindArray:
		var buf bytes.Buffer
		if json.Compact(&buf, c.raw) != nil {
			return string(c.raw)
		}
		return buf.String()
	default:
		return string(bytes.TrimSpace(c.raw))
	}
}

// UnmarshalJSON keeps a copy of the JSON value, whatever its kind.
func (c *CustomField) UnmarshalJSON(b []byte) error {
	c.raw = bytes.Clone(b)
	return nil
}

// MarshalJSON writes the JSON as sent, or null when absent.
func (c CustomField) MarshalJSON() ([]byte, error) {
	if len(c.raw) == 0 {
		return []byte("null"), nil
	}
	return c.raw, nil
}
