package iimmpact

import (
	"strings"
)

// Action is what a checkout does with the bill presentment outcome.
type Action uint8

// The three actions of the vendor's outcome table.
const (
	// ActionHide: show no bill information; the customer may still pay. It is the
	// zero value, so an outcome nobody recognised never shows or blocks anything.
	ActionHide Action = iota
	// ActionShow: show the fields the API returned; the customer may pay.
	ActionShow
	// ActionBlock: show Decision.Message and do not let the customer pay.
	ActionBlock
)

// String returns "show", "hide" or "block".
func (a Action) String() string {
	switch a {
	case ActionShow:
		return "show"
	case ActionBlock:
		return "block"
	default:
		return "hide"
	}
}

// MarshalText writes the action's name, so JSON shows "show", "hide" or "block".
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// The data.message values of the vendor's outcome table.
const (
	MessageValid              = "Account no is valid"
	MessageUnavailable        = "Bill presentment is unavailable for this product"
	MessageServiceUnavailable = "Service unavailable. Please try again later"
	MessageInvalidAccount     = "Invalid account no"
)

// Decision is what a checkout must do with an outcome.
type Decision struct {
	Action Action `json:"action"`
	// CanProceed reports whether the customer may go on to pay. Only an invalid
	// account stops a payment.
	CanProceed bool `json:"can_proceed"`
	// Message is the text to show the customer when Action is ActionBlock.
	Message string `json:"message"`
}

// Decision applies the vendor's outcome table to data.message, compared without
// regard to case, surrounding space or a trailing full stop:
//
//	Account no is valid                                show   can proceed
//	Bill presentment is unavailable for this product   hide   can proceed
//	Service unavailable. Please try again later        hide   can proceed
//	Invalid account no                                 block  cannot proceed
//	anything else                                      hide   can proceed
//
// A block's Message is error_message, or data.message when that is blank. On a nil
// Bill (the result of every error) it is hide and can proceed: the vendor lets the
// customer pay on "any other error".
func (b *Bill) Decision() Decision {
	if b == nil {
		return Decision{Action: ActionHide, CanProceed: true}
	}
	switch msg := b.Data.Message.Value; {
	case sameMessage(msg, MessageValid):
		return Decision{Action: ActionShow, CanProceed: true}
	case sameMessage(msg, MessageInvalidAccount):
		text := strings.TrimSpace(b.ErrorMessage.Value)
		if text == "" {
			text = strings.TrimSpace(msg)
		}
		return Decision{Action: ActionBlock, CanProceed: false, Message: text}
	default: // the two documented "hide" rows, and anything else
		return Decision{Action: ActionHide, CanProceed: true}
	}
}

// sameMessage compares as Decision documents.
func sameMessage(got, want string) bool {
	got = strings.TrimSpace(got)
	got = strings.TrimSuffix(got, ".")
	return strings.EqualFold(strings.TrimSpace(got), want)
}

// Field is one piece of bill information to show, with an English label.
type Field struct {
	Key   string `json:"key"`   // a stable name, such as "outstanding"
	Label string `json:"label"` // English, such as "Outstanding amount"
	Value string `json:"value"` // ready to show, such as "RM 45.94"
}

// The Field keys, in the order Fields lists them.
const (
	FieldBillerName   = "biller_name"
	FieldCustomerName = "customer_name"
	FieldOutstanding  = "outstanding"
	FieldDueDate      = "due_date"
	FieldBalance      = "balance"
	FieldData         = "data"
	FieldAddress      = "address"
	FieldEBill        = "e_bill"
	FieldCustomField  = "custom_field"
)

// Fields lists the bill information a checkout may show: only what the API
// returned (absent, null and blank are not returned; 0 is), in the order biller,
// customer, outstanding, due date, balance, data, address, e-bill, custom field.
//
// It is empty unless Decision is ActionShow, because the vendor's table says to
// display no bill information for any other outcome; read Data for the raw values.
// It is safe on a nil Bill.
func (b *Bill) Fields() []Field {
	if b == nil || b.Decision().Action != ActionShow {
		return nil
	}
	d := &b.Data
	fields := make([]Field, 0, 9)
	addText := func(key, label string, t Text) {
		if t.Returned() {
			fields = append(fields, Field{Key: key, Label: label, Value: strings.TrimSpace(t.Value)})
		}
	}
	addText(FieldBillerName, "Biller", d.BillerName)
	addText(FieldCustomerName, "Customer name", d.CustomerName)
	if d.Outstanding.Valid() {
		fields = append(fields, Field{Key: FieldOutstanding, Label: "Outstanding amount", Value: d.Outstanding.Ringgit()})
	}
	addText(FieldDueDate, "Due date", d.DueDate.Text)
	addText(FieldBalance, "Balance", d.Balance)
	addText(FieldData, "Data balance", d.Data)
	addText(FieldAddress, "Address", d.Address)
	addText(FieldEBill, "E-bill", d.EBill)
	if !d.CustomField.IsEmpty() {
		fields = append(fields, Field{Key: FieldCustomField, Label: "Additional information", Value: strings.TrimSpace(d.CustomField.String())})
	}
	return fields
}
