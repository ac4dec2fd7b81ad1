package iimmpact

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
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

// String returns the text; "" unless the field is Returned or Blank.
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
			if strings.TrimSpace(s) == "" {
				t.state = Blank
			}
		}
	case raw[0] == '{' || raw[0] == '[':
	case json.Valid(raw): // a number, true or false
		t.text, t.state = string(raw), Returned
	}
	return t
}

// myt is Malaysia time, GMT+8 all year; a fixed zone needs no tzdata.
var myt = time.FixedZone("GMT+8", 8*60*60)

// Date is a DD/MM/YYYY date such as data.DueDate, kept as sent. A text that is
// not such a date is Unreadable.
type Date struct{ Text }

const (
	dateLayout      = "02/01/2006"
	timestampLayout = "02-01-2006 15:04:05"
)

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
		return time.Time{}, fmt.Errorf("iimmpact: %s %q does not match %s", what, v, layout)
	}
	return t, nil
}
