package iimmpact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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
	// RequestID is the API's identifier of the answer (from x-amzn-RequestId,
	// X-Request-Id or X-Amzn-Trace-Id), to quote to IIMMPACT support.
	RequestID string `json:"-"`

	raw        []byte
	unreadable []string
}

// BillData is the "data" object, in the API's legacy PascalCase. Keys are
// matched exactly as the reference spells them; any other key, a case variant
// included, is kept in Extra.
type BillData struct {
	Message      Text        `json:"message,omitzero"` // the outcome; see Decision
	BillerName   Text        `json:"BillerName,omitzero"`
	CustomerName Text        `json:"CustomerName,omitzero"`
	Outstanding  Amount      `json:"Outstanding,omitzero"`
	Balance      Text        `json:"Balance,omitzero"`
	DataBalance  Text        `json:"Data,omitzero"` // a mobile account's data balance, sent as "Data"
	Address      Text        `json:"Address,omitzero"`
	EBill        Text        `json:"E-Bill,omitzero"` // a link to the bill as a PDF
	CustomField  CustomField `json:"CustomField,omitzero"`
	DueDate      Date        `json:"DueDate,omitzero"`
}

// Metadata is the response's "metadata" object (spelled "@metadata" by other v2
// endpoints; both are read, "metadata" first).
type Metadata struct {
	StatusCode  int       `json:"status_code"`
	ProductCode string    `json:"product_code"`
	LastUpdated Timestamp `json:"last_updated,omitzero"`
}

// ErrMalformedResponse is wrapped by every error about a response body that is
// not the documented envelope: not a JSON object, no "data" object, data.message
// missing or not a scalar, or a documented key sent twice.
var ErrMalformedResponse = errors.New("iimmpact: malformed response")

// DecodeBill decodes a bill presentment response body, as BillPresentment does
// with the body of an HTTP 200 or 400. The Bill keeps body as its Raw form: do
// not modify body afterwards. StatusCode is left 0.
func DecodeBill(body []byte) (*Bill, error) {
	b := new(Bill)
	if err := decodeBill(body, b); err != nil {
		return nil, err
	}
	return b, nil
}

// UnmarshalJSON decodes the envelope as DecodeBill does, from a copy of data.
func (b *Bill) UnmarshalJSON(data []byte) error {
	return decodeBill(bytes.Clone(data), b)
}

// Raw returns the response body as received (nil for a Bill not decoded from
// JSON). The caller must not modify it.
func (b *Bill) Raw() []byte {
	if b == nil {
		return nil
	}
	return b.raw
}

// Unreadable names the fields the API sent in a form they cannot hold, such as
// "data.Outstanding" for an amount of "-", or "metadata.status_code" for
// "400". Such a field is not in Fields and does not change the Decision; its
// JSON stays reachable through the field's Raw (and Bill.Raw).
func (b *Bill) Unreadable() []string {
	if b == nil {
		return nil
	}
	return append([]string(nil), b.unreadable...)
}

// Extra returns a copy of the members of "data" that BillData does not name,
// such as fields a new biller added, keyed exactly as sent. It returns nil when
// there are none.
func (b *Bill) Extra() map[string]json.RawMessage {
	if b == nil {
		return nil
	}
	var extra map[string]json.RawMessage
	_ = eachMember(b.raw, func(key, val []byte) error {
		if string(key) != "data" {
			return nil
		}
		var scratch BillData
		return eachMember(val, func(key, val []byte) error {
			if ptr, _ := scratch.field(key); ptr == nil {
				if extra == nil {
					extra = map[string]json.RawMessage{}
				}
				extra[string(key)] = bytes.Clone(val)
			}
			return nil
		})
	})
	return extra
}

// field returns a pointer to the BillData field for a documented key and the
// field's full name, or nil. It is the one list of data's keys: decoding, Extra
// and a test of the struct tags all go through it.
func (d *BillData) field(key []byte) (any, string) {
	switch string(key) {
	case "message":
		return &d.Message, "data.message"
	case "BillerName":
		return &d.BillerName, "data.BillerName"
	case "CustomerName":
		return &d.CustomerName, "data.CustomerName"
	case "Outstanding":
		return &d.Outstanding, "data.Outstanding"
	case "Balance":
		return &d.Balance, "data.Balance"
	case "Data":
		return &d.DataBalance, "data.Data"
	case "Address":
		return &d.Address, "data.Address"
	case "E-Bill":
		return &d.EBill, "data.E-Bill"
	case "CustomField":
		return &d.CustomField, "data.CustomField"
	case "DueDate":
		return &d.DueDate, "data.DueDate"
	}
	return nil, ""
}

// decoder holds what decoding learns beyond the Bill itself.
type decoder struct {
	b          *Bill
	seen       [24]string // documented keys met so far, as "data.Outstanding"; no map to allocate
	nseen      int
	duplicate  string // the first documented key met twice
	hasData    bool   // a "data" object was read
	hasMessage bool   // a data.message that is a scalar was read
	block      *Text  // a data.message that said the account is invalid
	atMetadata []byte
}

func decodeBill(body []byte, b *Bill) error {
	*b = Bill{raw: body}
	d := decoder{b: b}
	if err := eachMember(body, d.envelope); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformedResponse, err)
	}
	switch {
	case !d.hasData:
		return fmt.Errorf("%w: no \"data\" object", ErrMalformedResponse)
	case !d.hasMessage:
		return fmt.Errorf("%w: data.message is missing or not a string", ErrMalformedResponse)
	}
	if d.atMetadata != nil && !d.met("metadata") {
		d.metadata(d.atMetadata, "@metadata")
	}
	// Any copy of data.message that says the account is invalid blocks: a body
	// that also says otherwise must not let the customer pay.
	if d.block != nil {
		b.Data.Message = *d.block
	} else if d.duplicate != "" {
		return fmt.Errorf("%w: %s is sent twice", ErrMalformedResponse, d.duplicate)
	}
	return nil
}

// once records a documented key and reports whether it was new.
func (d *decoder) once(name string) bool {
	if d.met(name) {
		if d.duplicate == "" {
			d.duplicate = name
		}
		d.unreadableField(name)
		return false
	}
	if d.nseen < len(d.seen) {
		d.seen[d.nseen] = name
		d.nseen++
	}
	return true
}

func (d *decoder) met(name string) bool {
	for _, n := range d.seen[:d.nseen] {
		if n == name {
			return true
		}
	}
	return false
}

func (d *decoder) unreadableField(name string) {
	for _, n := range d.b.unreadable {
		if n == name {
			return
		}
	}
	d.b.unreadable = append(d.b.unreadable, name)
}

func (d *decoder) envelope(key, val []byte) error {
	b := d.b
	switch name := string(key); name {
	case "data":
		d.once(name)
		if val[0] != '{' || eachMember(val, d.data) != nil {
			d.unreadableField(name)
			return nil // malformed unless another "data" object is read
		}
		d.hasData = true
	case "metadata":
		d.once(name)
		d.metadata(val, name)
	case "@metadata":
		d.once(name)
		d.atMetadata = val
	case "transaction_validity":
		d.once(name)
		b.TransactionValidity = nil
		switch string(val) {
		case "true", "false":
			v := val[0] == 't'
			b.TransactionValidity = &v
		case "null":
		default:
			d.unreadableField(name)
		}
	case "transaction_message":
		d.once(name)
		b.TransactionMessage = d.text(name, val)
	case "error_message":
		d.once(name)
		b.ErrorMessage = d.text(name, val)
	}
	return nil
}

func (d *decoder) data(key, val []byte) error {
	ptr, name := d.b.Data.field(key)
	if ptr == nil {
		return nil // kept for Extra
	}
	d.once(name)
	var state Presence
	switch f := ptr.(type) {
	case *Text:
		*f = readText(val)
		state = f.state
		if name == "data.message" && state != Unreadable {
			d.hasMessage = true
			if sameMessage(f.text, msgInvalidAccount) && d.block == nil {
				d.block = new(Text)
				*d.block = *f
			}
		}
	case *Amount:
		*f = readAmount(val)
		state = f.state
	case *Date:
		*f = Date{readTime(val, dateLayout)}
		state = f.state
	case *CustomField:
		*f = readCustomField(val)
		state = f.state
	}
	if state == Unreadable {
		d.unreadableField(name)
	}
	return nil
}

func (d *decoder) metadata(val []byte, name string) {
	m := &d.b.Metadata
	*m = Metadata{}
	names := [3]string{"metadata.status_code", "metadata.product_code", "metadata.last_updated"}
	if name == "@metadata" {
		names = [3]string{"@metadata.status_code", "@metadata.product_code", "@metadata.last_updated"}
	}
	err := eachMember(val, func(key, val []byte) error {
		switch string(key) {
		case "status_code":
			d.once(names[0])
			n, err := strconv.Atoi(string(val))
			if err != nil {
				d.unreadableField(names[0])
			}
			m.StatusCode = n
		case "product_code":
			d.once(names[1])
			m.ProductCode = d.text(names[1], val).String()
		case "last_updated":
			d.once(names[2])
			if m.LastUpdated = (Timestamp{readTime(val, timestampLayout)}); m.LastUpdated.state == Unreadable {
				d.unreadableField(names[2])
			}
		}
		return nil
	})
	if err != nil {
		d.unreadableField(name)
	}
}

func (d *decoder) text(name string, val []byte) Text {
	t := readText(val)
	if t.state == Unreadable {
		d.unreadableField(name)
	}
	return t
}
