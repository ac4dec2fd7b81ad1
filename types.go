package iimmpact

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
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

// myt is Malaysia time, GMT+8 all year, the zone of every time the API sends;
// a fixed zone needs no tzdata.
var myt = time.FixedZone("GMT+8", 8*60*60)

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
	t, err := time.ParseInLocation(layout, v, myt)
	if err != nil {
		return time.Time{}, fmt.Errorf("iimmpact: %s %q does not match %s", what, forPeople(v), layout)
	}
	return t, nil
}

// Amount is an exact amount of ringgit, held as sen (1/100 RM) in an int64, so
// no binary float ever touches it. It decodes from a JSON number or a numeric
// string. An amount that is not exact money (a third decimal, past int64, not a
// number at all) is Unreadable, never rounded or read as another number.
type Amount struct {
	value
	sen int64
}

// ParseAmount parses decimal text such as "45.94", "-3" or "1.5e2". Digits past the
// second decimal place must be zeros: an amount is never rounded.
func ParseAmount(s string) (Amount, error) {
	sen, err := parseSen(strings.TrimSpace(s))
	if err != nil {
		return Amount{}, err
	}
	return Amount{value: value{state: Returned}, sen: sen}, nil
}

// Sen returns the amount in sen: 45.94 is 4594. It is 0 unless State is Returned.
func (a Amount) Sen() int64 { return a.sen }

// String formats the amount with two decimals, "45.94" or "-0.50"; "" unless
// State is Returned. It is what Payment.Amount takes.
func (a Amount) String() string {
	if a.state != Returned {
		return ""
	}
	return string(a.appendDecimal(nil))
}

// Ringgit formats the amount for a person: "RM 45.94"; "" unless State is
// Returned. It is for pages and receipts: Payment.Amount takes String.
func (a Amount) Ringgit() string {
	if a.state != Returned {
		return ""
	}
	return string(a.appendDecimal([]byte("RM ")))
}

func (a Amount) appendDecimal(dst []byte) []byte {
	u := uint64(a.sen)
	if a.sen < 0 {
		dst = append(dst, '-')
		u = -u // correct for math.MinInt64 too, in two's complement
	}
	dst = strconv.AppendUint(dst, u/100, 10)
	frac := u % 100
	return append(dst, '.', byte('0'+frac/10), byte('0'+frac%10))
}

// MarshalJSON writes the JSON as sent, or a number with two decimals for an
// Amount from ParseAmount.
func (a Amount) MarshalJSON() ([]byte, error) {
	if a.raw == nil && a.state == Returned {
		return a.appendDecimal(nil), nil
	}
	return a.value.MarshalJSON()
}

// readAmount reads a number, a numeric string, "" or null.
func readAmount(raw []byte) Amount {
	a := Amount{value: value{raw: raw, state: Unreadable}}
	var err error
	switch {
	case isNull(raw):
		a.state = Null
	case raw[0] == '"':
		var text string
		if text, err = unquote(raw); err == nil {
			if text = strings.TrimSpace(text); text == "" {
				a.state = Blank
			} else if a.sen, err = parseSen(text); err == nil {
				a.state = Returned
			}
		}
	default:
		if a.sen, err = parseSen(raw); err == nil {
			a.state = Returned
		}
	}
	return a
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
	c := CustomField{value: value{raw: raw, state: Unreadable}}
	switch {
	case isNull(raw):
		c.state = Null
	case !json.Valid(raw): // json.Valid also refuses nesting deeper than 10,000
	default:
		if c.text = readable(raw); c.text == "" {
			c.state = Blank
		} else {
			c.state = Returned
		}
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
