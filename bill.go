package iimmpact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// checkBill says what one bill presentment answer means, from the answer
// alone: an outcome (a Bill), malformed (a 200 that is no envelope), or not
// an outcome, which the client may retry and otherwise reports as an
// *APIError. The request loop asks it on every attempt before it decides to
// retry, so an answer that blocks ends the call under any status.
func checkBill(res *response) (*Bill, verdict, error) {
	bill, err := DecodeBill(res.body)
	switch {
	case err == nil && (res.status == 200 || res.status == 400 || bill.Decision().Action == ActionBlock):
		bill.StatusCode, bill.RequestID = res.status, res.requestID
		return bill, outcome, nil
	case res.status == 200:
		return nil, malformed, err
	}
	return nil, notOutcome, nil
}

// report is what the observer and the logs hear of a bill: its decision (the
// fail-open hide of an error for a nil Bill), a message the SDK does not know
// and the fields it could not read.
func (b *Bill) report() report {
	r := report{decision: b.Decision()}
	if b != nil {
		r.unreadable = b.unreadable
		if r.decision.Reason == ReasonUnrecognised {
			r.driftField, r.driftText = "data.message", b.Data.Message.String()
		}
	}
	return r
}

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

	// StatusCode is the HTTP status the API answered with: 200, 400, or
	// another status whose envelope says the account is invalid.
	StatusCode int `json:"-"`
	// RequestID is the API's identifier of the answer (from x-amzn-RequestId,
	// X-Request-Id or X-Amz-Apigw-Id), to quote to IIMMPACT support.
	RequestID string `json:"-"`

	raw        []byte
	unreadable []string
}

// BillData is the "data" object, in the API's legacy PascalCase: message,
// BillerName, CustomerName, Outstanding, Balance, Data, Address, E-Bill,
// CustomField and DueDate. Keys are matched exactly as the reference spells
// them; any other key, a case variant included, is kept in Extra.
type BillData struct {
	Message      Text // the outcome; see Decision
	BillerName   Text
	CustomerName Text
	Outstanding  Amount
	Balance      Text
	DataBalance  Text // a mobile account's data balance, sent as "Data"
	Address      Text
	EBill        Text // "E-Bill", a link to the bill as a PDF: an absolute http or https URL, otherwise Unreadable
	CustomField  CustomField
	DueDate      Date
}

// dataFields is the one list of data's documented keys, in the order Fields
// lists them: decoding, Extra, Fields, their labels and MarshalJSON read it.
var dataFields = [...]struct {
	json  string    // the key as the API spells it
	key   string    // Field.Key; "" for message, which is never shown as a field
	label [2]string // in English and Bahasa Malaysia
	of    func(*BillData) any
	name  string // "data." + json, for Bill.Unreadable
}{
	{"message", "", [2]string{}, func(d *BillData) any { return &d.Message }, "data.message"},
	{"BillerName", "biller_name", [2]string{"Biller", "Biller"}, func(d *BillData) any { return &d.BillerName }, "data.BillerName"},
	{"CustomerName", "customer_name", [2]string{"Customer name", "Nama pelanggan"}, func(d *BillData) any { return &d.CustomerName }, "data.CustomerName"},
	{"Outstanding", "outstanding", [2]string{"Outstanding amount", "Jumlah tertunggak"}, func(d *BillData) any { return &d.Outstanding }, "data.Outstanding"},
	{"DueDate", "due_date", [2]string{"Due date", "Tarikh akhir bayaran"}, func(d *BillData) any { return &d.DueDate }, "data.DueDate"},
	{"Balance", "balance", [2]string{"Balance", "Baki"}, func(d *BillData) any { return &d.Balance }, "data.Balance"},
	{"Data", "data", [2]string{"Data balance", "Baki data"}, func(d *BillData) any { return &d.DataBalance }, "data.Data"},
	{"Address", "address", [2]string{"Address", "Alamat"}, func(d *BillData) any { return &d.Address }, "data.Address"},
	{"E-Bill", "e_bill", [2]string{"E-bill", "Bil elektronik"}, func(d *BillData) any { return &d.EBill }, "data.E-Bill"},
	{"CustomField", "custom_field", [2]string{"Additional information", "Maklumat tambahan"}, func(d *BillData) any { return &d.CustomField }, "data.CustomField"},
}

// dataField returns the index in dataFields of a documented key, or -1.
func dataField(key []byte) int {
	for i := range dataFields {
		if dataFields[i].json == string(key) {
			return i
		}
	}
	return -1
}

// shown returns a field's state and its text for a person.
func shown(f any) (Presence, string) {
	switch f := f.(type) {
	case *Text:
		return f.state, forPeople(f.text)
	case *Date:
		return f.state, forPeople(f.text)
	case *Amount:
		return f.state, f.Ringgit()
	case *CustomField:
		return f.state, f.text
	}
	return Absent, ""
}

// MarshalJSON writes the documented keys that were sent, each as sent.
func (d BillData) MarshalJSON() ([]byte, error) {
	out := []byte{'{'}
	for _, f := range dataFields {
		v := f.of(&d)
		if state, _ := shown(v); state == Absent {
			continue
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(append(strconv.AppendQuote(out, f.json), ':'), raw...)
	}
	return append(out, '}'), nil
}

// Metadata is the response's "metadata" object (spelled "@metadata" by other v2
// endpoints; both are read, "metadata" first).
type Metadata struct {
	StatusCode  int       `json:"status_code"`
	ProductCode string    `json:"product_code"`
	LastUpdated Timestamp `json:"last_updated,omitzero"`
}

// DecodeBill decodes a bill presentment response body, as BillPresentment does
// with the body of every answer. The Bill keeps body as its Raw form: do not
// modify body afterwards. StatusCode is left 0.
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
	var k keys
	_, _ = readEnvelope(b.raw, &k, func(val []byte) {
		_ = eachMember(val, func(key, val []byte) error {
			if dataField(key) < 0 {
				if extra == nil {
					extra = map[string]json.RawMessage{}
				}
				extra[string(key)] = bytes.Clone(val)
			}
			return nil
		})
	}, nil)
	return extra
}

// decoder holds what decoding learns beyond the Bill itself.
type decoder struct {
	b          *Bill
	keys       keys
	hasData    bool  // a "data" object was read
	hasMessage bool  // a data.message that is a scalar was read
	block      *Text // a data.message that said the account is invalid
}

func decodeBill(body []byte, b *Bill) error {
	*b = Bill{raw: body}
	d := decoder{b: b}
	env, err := readEnvelope(body, &d.keys, d.data, d.envelope)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformedResponse, err)
	}
	switch {
	case !d.hasData:
		return fmt.Errorf("%w: no \"data\" object", ErrMalformedResponse)
	case !d.hasMessage:
		return fmt.Errorf("%w: data.message is missing or not a string", ErrMalformedResponse)
	}
	if env.metadata != nil {
		d.metadata(env.metadata, env.metadataName)
	}
	for _, name := range d.keys.dups {
		d.unreadableField(name)
	}
	// Any copy of data.message that says the account is invalid blocks: a body
	// that also says otherwise, or that a proxy spoilt, must not let the
	// customer pay.
	switch {
	case d.block != nil:
		b.Data.Message = *d.block
	case len(d.keys.dups) > 0:
		return fmt.Errorf("%w: %s is sent twice", ErrMalformedResponse, d.keys.duplicate())
	case env.trailing:
		return fmt.Errorf("%w: bytes after the envelope", ErrMalformedResponse)
	}
	return nil
}

func (d *decoder) unreadableField(name string) {
	for _, n := range d.b.unreadable {
		if n == name {
			return
		}
	}
	d.b.unreadable = append(d.b.unreadable, name)
}

// data reads one "data" member: a body may repeat it, and every copy is read
// so that any one that blocks does.
func (d *decoder) data(val []byte) {
	if val[0] != '{' || eachMember(val, d.dataMember) != nil {
		d.unreadableField("data")
		return // malformed unless another "data" object is read
	}
	d.hasData = true
}

// envelope reads the envelope's other members.
func (d *decoder) envelope(key, val []byte) {
	b := d.b
	switch string(key) { // constants below: recording a key allocates nothing
	case "transaction_validity":
		d.keys.once("transaction_validity")
		b.TransactionValidity = nil
		switch string(val) {
		case "true", "false":
			v := val[0] == 't'
			b.TransactionValidity = &v
		case "null":
		default:
			d.unreadableField("transaction_validity")
		}
	case "transaction_message":
		d.keys.once("transaction_message")
		b.TransactionMessage = d.text("transaction_message", val)
	case "error_message":
		d.keys.once("error_message")
		b.ErrorMessage = d.text("error_message", val)
	}
}

func (d *decoder) dataMember(key, val []byte) error {
	i := dataField(key)
	if i < 0 {
		return nil // kept for Extra
	}
	name := dataFields[i].name
	d.keys.once(name)
	var state Presence
	switch f := dataFields[i].of(&d.b.Data).(type) {
	case *Text:
		if i == 0 {
			*f = d.message(val)
		} else if dataFields[i].key == "e_bill" {
			*f = readLink(val)
		} else {
			*f = readText(val)
		}
		state = f.state
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

func (d *decoder) message(val []byte) Text {
	t := readText(val)
	if t.state != Unreadable {
		d.hasMessage = true
		if reasonOf(t.text) == ReasonInvalidAccount && d.block == nil {
			d.block = &t
		}
	}
	return t
}

func (d *decoder) metadata(val []byte, name string) {
	m := &d.b.Metadata
	*m = Metadata{}
	names := [...]string{"metadata.status_code", "metadata.product_code", "metadata.last_updated"}
	if name == "@metadata" {
		names = [...]string{"@metadata.status_code", "@metadata.product_code", "@metadata.last_updated"}
	}
	err := eachMember(val, func(key, val []byte) error {
		var field string
		switch string(key) {
		case "status_code":
			field = names[0]
			d.keys.once(field)
			n, err := strconv.Atoi(string(val))
			if err != nil {
				d.unreadableField(field)
			}
			m.StatusCode = n
		case "product_code":
			field = names[1]
			d.keys.once(field)
			m.ProductCode = d.text(field, val).String()
		case "last_updated":
			field = names[2]
			d.keys.once(field)
			if m.LastUpdated = (Timestamp{readTime(val, timestampLayout)}); m.LastUpdated.state == Unreadable {
				d.unreadableField(field)
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

// Action is what a checkout does with the bill presentment outcome: "show",
// "hide" or "block".
type Action string

// The three actions of the vendor's outcome table.
const (
	// ActionShow: show the fields the API returned; the customer may pay.
	ActionShow Action = "show"
	// ActionHide: show no bill information; the customer may still pay. Every
	// error and every outcome nobody recognised decides it.
	ActionHide Action = "hide"
	// ActionBlock: show Decision.Message and do not let the customer pay.
	ActionBlock Action = "block"
)

// The data.message values of the vendor's outcome table.
const (
	msgValid              = "Account no is valid"
	msgUnavailable        = "Bill presentment is unavailable for this product"
	msgServiceUnavailable = "Service unavailable. Please try again later"
	msgInvalidAccount     = "Invalid account no"
)

// Reason says, in a word a team can log and count, why a Decision is what it
// is. The values are stable.
type Reason string

// The reasons, one for each row of the vendor's table and one for errors.
const (
	ReasonValid              Reason = "valid"                // Account no is valid: show
	ReasonUnavailable        Reason = "unavailable"          // no bill presentment for this product: hide
	ReasonServiceUnavailable Reason = "service_unavailable"  // the biller cannot be reached: hide
	ReasonInvalidAccount     Reason = "invalid_account"      // Invalid account no: block
	ReasonUnrecognised       Reason = "unrecognised_message" // any other data.message: hide; alert on it
	ReasonError              Reason = "error"                // the call failed (a nil *Bill): hide
)

// outcomes is the vendor's table, keyed on data.message.
var outcomes = [...]struct {
	message string
	reason  Reason
}{
	{msgValid, ReasonValid},
	{msgInvalidAccount, ReasonInvalidAccount},
	{msgUnavailable, ReasonUnavailable},
	{msgServiceUnavailable, ReasonServiceUnavailable},
}

// reasonOf looks message up in the vendor's table as a person reads it (see
// normalMessage), and never as anything wider: the table is literal about
// which message blocks.
func reasonOf(message string) Reason {
	m := normalMessage(message)
	for _, o := range outcomes {
		if strings.EqualFold(m, o.message) {
			return o.reason
		}
	}
	return ReasonUnrecognised
}

// Decision is what a checkout must do with an outcome.
type Decision struct {
	Action Action `json:"action"`
	// CanProceed reports whether the customer may go on to pay. Only an invalid
	// account stops a payment.
	CanProceed bool `json:"can_proceed"`
	// Message is the text to show the customer when Action is ActionBlock,
	// safe to show (see Field.Value).
	Message string `json:"message,omitempty"`
	// Reason says why, for logs and metrics.
	Reason Reason `json:"reason"`
}

// Decision applies the vendor's outcome table to data.message, read as a
// person reads it: case, runs of white space, invisible characters and the
// punctuation around it make no difference.
//
//	data.message                                       action  can pay  reason
//	Account no is valid                                show    yes      valid
//	Bill presentment is unavailable for this product   hide    yes      unavailable
//	Service unavailable. Please try again later        hide    yes      service_unavailable
//	Invalid account no                                 block   no       invalid_account
//	anything else                                      hide    yes      unrecognised_message
//	(an error: the Bill is nil)                        hide    yes      error
//
// A block's Message is error_message, or data.message when that is blank or
// unreadable. Only data.message and error_message decide: another field the
// API sent in an odd form never changes the Decision.
func (b *Bill) Decision() Decision {
	if b == nil {
		return Decision{Action: ActionHide, CanProceed: true, Reason: ReasonError}
	}
	switch reason := reasonOf(b.Data.Message.String()); reason {
	case ReasonValid:
		return Decision{Action: ActionShow, CanProceed: true, Reason: reason}
	case ReasonInvalidAccount:
		text := forPeople(b.ErrorMessage.String())
		if normalMessage(text) == "" {
			text = forPeople(b.Data.Message.String())
		}
		return Decision{Action: ActionBlock, Message: text, Reason: reason}
	default:
		return Decision{Action: ActionHide, CanProceed: true, Reason: reason}
	}
}

// Fields is FieldsIn(English).
func (b *Bill) Fields() []Field { return b.FieldsIn(English) }

// FieldsIn lists the bill information a checkout may show, labelled in lang
// (English for any language it does not know): only what the API returned
// (absent, null, blank and unreadable fields are not; 0 is), in the order
// biller, customer, outstanding, due date, balance, data, address, e-bill,
// custom field. Each Value is safe to show: see Field.
//
// It is empty unless Decision is ActionShow, because the vendor's table says to
// display no bill information for any other outcome; read Data for the raw
// values. It is safe on a nil Bill.
func (b *Bill) FieldsIn(lang Language) []Field {
	if b == nil || b.Decision().Action != ActionShow {
		return nil
	}
	i := 0
	if lang == Malay {
		i = 1
	}
	fields := make([]Field, 0, len(dataFields)-1)
	for _, f := range dataFields[1:] {
		if state, text := shown(f.of(&b.Data)); state == Returned && text != "" {
			fields = append(fields, Field{Key: f.key, Label: f.label[i], Value: text})
		}
	}
	return fields
}
