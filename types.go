package iimmpact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Bill is the outcome of one bill presentment call: the decoded envelope of an
// HTTP 200, or of the documented HTTP 400 that reports an invalid account.
//
// Read Decision first: it says whether to show the bill, hide it, or stop the
// payment. Fields lists what may be shown.
type Bill struct {
	Data                BillData `json:"data"`
	Metadata            Metadata `json:"metadata"`
	TransactionValidity *bool    `json:"transaction_validity"` // null in the documented 400
	TransactionMessage  Text     `json:"transaction_message,omitzero"`
	ErrorMessage        Text     `json:"error_message,omitzero"` // the user-facing message when payment is blocked

	// StatusCode is the HTTP status the API answered with: 200 or 400.
	StatusCode int `json:"-"`

	raw []byte
}

// BillData is the "data" object, in the API's legacy PascalCase. Encoded back to
// JSON, an absent field stays absent and a null one stays null.
type BillData struct {
	Message      Text        `json:"message,omitzero"` // the outcome; see Decision
	BillerName   Text        `json:"BillerName,omitzero"`
	CustomerName Text        `json:"CustomerName,omitzero"`
	Outstanding  Amount      `json:"Outstanding,omitzero"`
	Balance      Text        `json:"Balance,omitzero"`
	Data         Text        `json:"Data,omitzero"` // a mobile account's data balance
	Address      Text        `json:"Address,omitzero"`
	EBill        Text        `json:"E-Bill,omitzero"` // a link to the bill as a PDF
	CustomField  CustomField `json:"CustomField,omitzero"`
	DueDate      Date        `json:"DueDate,omitzero"`
}

// knownDataKeys are the keys of BillData; encoding/json matches them without
// regard to case, so Extra does too.
var knownDataKeys = [...]string{
	"message", "BillerName", "CustomerName", "Outstanding", "Balance",
	"Data", "Address", "E-Bill", "CustomField", "DueDate",
}

// Metadata is the response's "metadata" object (spelled "@metadata" by other v2
// endpoints; both are read).
type Metadata struct {
	StatusCode  int       `json:"status_code"`
	ProductCode string    `json:"product_code"`
	LastUpdated Timestamp `json:"last_updated"`
}

// ErrMalformedResponse is wrapped by every error about a response body that is not
// the documented envelope.
var ErrMalformedResponse = errors.New("iimmpact: malformed response")

// wireBill is the envelope as sent. Pointers tell which objects were present.
type wireBill struct {
	Data                *BillData `json:"data"`
	Metadata            *Metadata `json:"metadata"`
	AtMetadata          *Metadata `json:"@metadata"`
	TransactionValidity *bool     `json:"transaction_validity"`
	TransactionMessage  Text      `json:"transaction_message,omitzero"`
	ErrorMessage        Text      `json:"error_message,omitzero"`
}

// decodeBill decodes body into b without copying body; b keeps body as its raw form.
func decodeBill(body []byte, b *Bill) error {
	var w wireBill
	if err := json.Unmarshal(body, &w); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformedResponse, err)
	}
	if w.Data == nil {
		return fmt.Errorf("%w: no \"data\" object", ErrMalformedResponse)
	}
	b.Data = *w.Data
	switch {
	case w.Metadata != nil:
		b.Metadata = *w.Metadata
	case w.AtMetadata != nil:
		b.Metadata = *w.AtMetadata
	}
	b.TransactionValidity = w.TransactionValidity
	b.TransactionMessage = w.TransactionMessage
	b.ErrorMessage = w.ErrorMessage
	b.raw = body
	return nil
}

// DecodeBill decodes a bill presentment response body, as BillPresentment does
// with the body of an HTTP 200 or 400. It is faster than json.Unmarshal into a
// Bill, which must validate the body twice. The Bill keeps body as its Raw form:
// do not modify body afterwards. StatusCode is left 0.
func DecodeBill(body []byte) (*Bill, error) {
	b := new(Bill)
	if err := decodeBill(body, b); err != nil {
		return nil, err
	}
	return b, nil
}

// UnmarshalJSON decodes the envelope, accepting "@metadata" for "metadata", and
// keeps a copy of the JSON for Raw and Extra.
func (b *Bill) UnmarshalJSON(data []byte) error {
	return decodeBill(bytes.Clone(data), b)
}

// Raw returns the response body as received (nil for a Bill not decoded from JSON).
// The caller must not modify it.
func (b *Bill) Raw() []byte {
	if b == nil {
		return nil
	}
	return b.raw
}

// Extra returns the members of "data" that BillData does not name, such as fields a
// new biller added, keyed as sent. It returns nil when there are none.
func (b *Bill) Extra() map[string]json.RawMessage {
	if b == nil || len(b.raw) == 0 {
		return nil
	}
	var env struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	if json.Unmarshal(b.raw, &env) != nil {
		return nil
	}
	for k := range env.Data {
		for _, known := range knownDataKeys {
			if strings.EqualFold(k, known) {
				delete(env.Data, k)
				break
			}
		}
	}
	if len(env.Data) == 0 {
		return nil
	}
	return env.Data
}

// Presence says whether a response field was left out, sent as null, or sent
// with a value.
type Presence uint8

// The three states of a response field.
const (
	Absent  Presence = iota // the key was not in the response
	Null                    // the key was sent as null
	Present                 // the key was sent with a value (possibly "")
)

// String returns "absent", "null" or "present".
func (p Presence) String() string {
	switch p {
	case Null:
		return "null"
	case Present:
		return "present"
	default:
		return "absent"
	}
}

// Text is a string field that remembers whether it was absent, null or sent. A
// number or boolean sent in its place is kept as its JSON text.
type Text struct {
	Value string
	State Presence
}

// Returned reports whether the API sent a value that is not blank: the test for
// "returned" that decides what a checkout may display.
func (t Text) Returned() bool {
	return t.State == Present && strings.TrimSpace(t.Value) != ""
}

// String returns the value ("" when absent or null).
func (t Text) String() string { return t.Value }

// UnmarshalJSON implements json.Unmarshaler.
func (t *Text) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*t = Text{State: Null}
		return nil
	case len(b) > 0 && b[0] == '"':
		s, err := unquote(b)
		if err != nil {
			return err
		}
		*t = Text{Value: s, State: Present}
		return nil
	case len(b) > 0 && (b[0] == '{' || b[0] == '['):
		return errors.New("iimmpact: want a string, got a JSON " + jsonKind(b).String())
	default: // number or boolean
		*t = Text{Value: string(b), State: Present}
		return nil
	}
}

// unquote returns the value of the JSON string literal b. Most strings the API
// sends have no escapes; those are sliced out without a second decode.
func unquote(b []byte) (string, error) {
	if len(b) >= 2 && b[len(b)-1] == '"' {
		inner := b[1 : len(b)-1]
		if bytes.IndexByte(inner, '\\') < 0 && bytes.IndexByte(inner, '"') < 0 && utf8.Valid(inner) {
			return string(inner), nil
		}
	}
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}

// MarshalJSON writes null for an absent or null field.
func (t Text) MarshalJSON() ([]byte, error) {
	if t.State != Present {
		return []byte("null"), nil
	}
	return json.Marshal(t.Value)
}

// myt is Malaysia time, GMT+8 all year; a fixed zone needs no tzdata.
var myt = time.FixedZone("GMT+8", 8*60*60)

// Date is a DD/MM/YYYY date such as data.DueDate. It keeps the text as sent.
type Date struct{ Text }

// DateLayout is the layout of Date.
const DateLayout = "02/01/2006"

// Time parses the date as midnight in GMT+8.
func (d Date) Time() (time.Time, error) {
	return parseIn(d.Value, DateLayout, "date")
}

// Timestamp is a DD-MM-YYYY HH:MM:SS time in GMT+8, such as metadata.last_updated.
// It keeps the text as sent.
type Timestamp struct{ Text }

// TimestampLayout is the layout of Timestamp.
const TimestampLayout = "02-01-2006 15:04:05"

// Time parses the timestamp in GMT+8.
func (t Timestamp) Time() (time.Time, error) {
	return parseIn(t.Value, TimestampLayout, "timestamp")
}

func parseIn(value, layout, what string) (time.Time, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		return time.Time{}, fmt.Errorf("iimmpact: %s is empty", what)
	}
	t, err := time.ParseInLocation(layout, v, myt)
	if err != nil {
		return time.Time{}, fmt.Errorf("iimmpact: %s %q does not match %s", what, v, layout)
	}
	return t, nil
}
