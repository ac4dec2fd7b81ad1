package iimmpact

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Presence says what the API sent for one response field. Every decoded field
// type (Text, Amount, Date, Timestamp, CustomField) reports it with State, and
// only Returned is shown to a customer: the vendor says to hide what the
// response does not return.
type Presence uint8

// The states of a response field.
const (
	Absent     Presence = iota // the key was not sent
	Null                       // sent as null
	Blank                      // sent empty: "" (or only spaces), {} or []
	Unreadable                 // sent, but of a kind or form the field cannot hold; see Bill.Unreadable
	Returned                   // sent with a value (0 included)
)

var presenceNames = [...]string{"absent", "null", "blank", "unreadable", "returned"}

// String returns "absent", "null", "blank", "unreadable" or "returned".
func (p Presence) String() string {
	if int(p) < len(presenceNames) {
		return presenceNames[p]
	}
	return fmt.Sprintf("Presence(%d)", uint8(p))
}

// value is what every decoded field holds: its JSON as sent and what that meant.
type value struct {
	raw   []byte
	state Presence
}

// State says whether the field was returned and, if not, why.
func (v value) State() Presence { return v.state }

// Raw returns the field's JSON as sent, nil when absent. It is part of the
// Bill's body: do not modify it.
func (v value) Raw() json.RawMessage { return v.raw }

// MarshalJSON writes the JSON as sent, or null when absent or not valid JSON.
func (v value) MarshalJSON() ([]byte, error) {
	if len(v.raw) == 0 || !json.Valid(v.raw) {
		return []byte("null"), nil
	}
	return v.raw, nil
}

// Text is a string field. A number or boolean sent in its place is read as its
// JSON text; an object or array is Unreadable.
type Text struct {
	value
	text string
}

// String returns the text exactly as sent; "" unless the field is Returned or
// Blank. Field.Value holds the same text made safe to show.
func (t Text) String() string {
	if t.state != Returned && t.state != Blank {
		return ""
	}
	return t.text
}

func readText(raw []byte) Text {
	t := Text{value: value{raw: raw, state: Unreadable}}
	switch {
	case isNull(raw):
		t.state = Null
	case raw[0] == '"':
		if s, err := unquote(raw); err == nil {
			t.text, t.state = s, Returned
			if blankText(s) {
				t.state = Blank
			}
		}
	case raw[0] == '{' || raw[0] == '[':
	case json.Valid(raw): // a number, true or false
		t.text, t.state = string(raw), Returned
	}
	return t
}

// readLink reads a text that must be an absolute http or https URL, such as
// data.E-Bill: anything else (a javascript: or data: URL, a relative path) is
// Unreadable, so no checkout shows it as a link.
func readLink(raw []byte) Text {
	t := readText(raw)
	if t.state == Returned {
		u, err := url.Parse(strings.TrimSpace(t.text))
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || !printableASCII(u.String()) {
			t.state = Unreadable
		}
	}
	return t
}

// Malaysia is Malaysia's time, GMT+8 all year: the zone of every time the API
// sends, and of the day a payment or a bill belongs to.
var Malaysia = time.FixedZone("GMT+8", 8*60*60)

// The layouts of the API's dates and times.
const (
	dateLayout      = "02/01/2006"          // data.DueDate
	timestampLayout = "02-01-2006 15:04:05" // metadata.last_updated
)

// Date is a DD/MM/YYYY date such as data.DueDate, kept as sent. A text that is
// not such a date is Unreadable.
type Date struct{ Text }

// Time returns the date as midnight in GMT+8.
func (d Date) Time() (time.Time, error) { return parseIn(d.text, dateLayout, "date") }

// Timestamp is a DD-MM-YYYY HH:MM:SS time in GMT+8, such as
// metadata.last_updated, kept as sent. A text that is not such a time is
// Unreadable.
type Timestamp struct{ Text }

// Time returns the timestamp in GMT+8.
func (t Timestamp) Time() (time.Time, error) { return parseIn(t.text, timestampLayout, "timestamp") }

// readTime reads a text that must match layout.
func readTime(raw []byte, layout string) Text {
	t := readText(raw)
	if t.state == Returned {
		if _, err := parseIn(t.text, layout, ""); err != nil {
			t.state = Unreadable
		}
	}
	return t
}

func parseIn(text, layout, what string) (time.Time, error) {
	v := strings.TrimSpace(text)
	if v == "" {
		return time.Time{}, fmt.Errorf("iimmpact: %s is empty", what)
	}
	t, err := time.ParseInLocation(layout, v, Malaysia)
	if err != nil {
		return time.Time{}, fmt.Errorf("iimmpact: %s %q does not match %s", what, forPeople(v), layout)
	}
	return t, nil
}

// CustomField is data.CustomField, whose JSON kind varies by biller: a string,
// number, boolean, object, array or null. It keeps the JSON as sent (Raw) and
// reads as text a person can follow (String).
type CustomField struct {
	value
	text string
}

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
	return c.text
}

func readCustomField(raw []byte) CustomField {
	c := CustomField{value: value{raw: raw, state: Null}}
	if isNull(raw) {
		return c
	}
	c.state = Unreadable
	if !json.Valid(raw) { // json.Valid also refuses nesting deeper than 10,000
		return c
	}
	c.text, c.state = readable(raw), Returned
	if c.text == "" {
		c.state = Blank
	}
	return c
}

// readable turns the valid JSON raw into text for a person, never JSON, in one
// pass: each byte is read once however deep the nesting, and a value with
// nothing to show (null, blank strings, empty or blank objects and arrays)
// writes nothing.
func readable(raw []byte) string {
	w := readableWriter{in: raw}
	w.value(skipSpace(raw, 0))
	if w.unbracket {
		// Brackets around an array's only item were marked with 0, which no
		// text written here holds (forPeople drops control characters).
		w.out = slicesDeleteZeros(w.out)
	}
	return string(w.out)
}

type readableWriter struct {
	in, out   []byte
	unbracket bool
}

// value writes the value at in[i] and returns where it ends.
func (w *readableWriter) value(i int) int {
	switch w.in[i] {
	case '"':
		end, _ := skipString(w.in, i)
		s, _ := unquote(w.in[i:end])
		w.out = append(w.out, forPeople(s)...)
		return end
	case '{':
		return w.object(i)
	case '[':
		return w.array(i)
	}
	end, _ := skipValue(w.in, i) // a number, true, false or null
	if w.in[i] != 'n' {
		w.out = append(w.out, w.in[i:end]...)
	}
	return end
}

// object writes "Key: value · Key: value", nested objects in brackets.
func (w *readableWriter) object(i int) int {
	i = skipSpace(w.in, i+1)
	for n := 0; w.in[i] != '}'; {
		keyEnd, _ := skipString(w.in, i)
		key, _ := unquote(w.in[i:keyEnd])
		i = skipSpace(w.in, skipSpace(w.in, keyEnd)+1) // past the colon
		mark := len(w.out)
		if n > 0 {
			w.out = append(w.out, " · "...)
		}
		w.out = append(append(w.out, humanKey(key)...), ": "...)
		start := len(w.out)
		i = w.nested(i, w.in[i] == '{')
		if len(w.out) == start {
			w.out = w.out[:mark] // nothing to show: no label either
		} else {
			n++
		}
		if i = skipSpace(w.in, i); w.in[i] == ',' {
			i = skipSpace(w.in, i+1)
		}
	}
	return i + 1
}

// array writes the items with something to show, joined by ", "; objects are
// bracketed when there is more than one such item.
func (w *readableWriter) array(i int) int {
	i = skipSpace(w.in, i+1)
	n, open := 0, -1
	for w.in[i] != ']' {
		mark := len(w.out)
		if n > 0 {
			w.out = append(w.out, ", "...)
		}
		start, object := len(w.out), w.in[i] == '{'
		i = w.nested(i, object)
		if len(w.out) == start {
			w.out = w.out[:mark]
		} else {
			if n == 0 && object {
				open = start
			}
			n++
		}
		if i = skipSpace(w.in, i); w.in[i] == ',' {
			i = skipSpace(w.in, i+1)
		}
	}
	if n == 1 && open >= 0 {
		w.out[open], w.out[len(w.out)-1] = 0, 0
		w.unbracket = true
	}
	return i + 1
}

// nested writes the value at in[i], in brackets when bracket is set, and
// nothing at all when the value has nothing to show.
func (w *readableWriter) nested(i int, bracket bool) int {
	if !bracket {
		return w.value(i)
	}
	mark := len(w.out)
	w.out = append(w.out, '(')
	end := w.value(i)
	if len(w.out) == mark+1 {
		w.out = w.out[:mark]
	} else {
		w.out = append(w.out, ')')
	}
	return end
}

func slicesDeleteZeros(b []byte) []byte {
	out := b[:0]
	for _, c := range b {
		if c != 0 {
			out = append(out, c)
		}
	}
	return out
}

// humanKey turns a biller's key such as "meter_no" into "Meter no". A key
// with a capital letter keeps its case, as the biller wrote it ("kWh").
func humanKey(k string) string {
	k = forPeople(strings.NewReplacer("_", " ", "-", " ").Replace(k))
	if k == "" {
		return "-"
	}
	if strings.ToLower(k) != k {
		return k
	}
	r, size := utf8.DecodeRuneInString(k)
	return string(unicode.ToUpper(r)) + k[size:]
}

// Field is one piece of bill information to show.
type Field struct {
	// Key is a stable name: biller_name, customer_name, outstanding, due_date,
	// balance, data, address, e_bill or custom_field.
	Key   string `json:"key"`
	Label string `json:"label"` // in the language asked for, such as "Outstanding amount"
	// Value is ready to show, such as "RM 45.94": no control character, no
	// bidi control, no white space but single spaces. An e_bill is an absolute
	// http or https URL.
	Value string `json:"value"`
}

// Language picks the labels of Fields.
type Language string

// The languages of the labels. Malaysian checkouts are bilingual.
const (
	English Language = "en"
	Malay   Language = "ms" // Bahasa Malaysia
)
