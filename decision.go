package iimmpact

import (
	"strings"
)

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
	ReasonUnrecognised       Reason = "unrecognised_message" // any other data.message: hide
	ReasonError              Reason = "error"                // the call failed (a nil *Bill): hide
)

// Decision is what a checkout must do with an outcome.
type Decision struct {
	Action Action `json:"action"`
	// CanProceed reports whether the customer may go on to pay. Only an invalid
	// account stops a payment.
	CanProceed bool `json:"can_proceed"`
	// Message is the text to show the customer when Action is ActionBlock.
	Message string `json:"message,omitempty"`
	// Reason says why, for logs and metrics.
	Reason Reason `json:"reason"`
}

// Decision applies the vendor's outcome table to data.message, compared without
// regard to case, surrounding space or a trailing full stop:
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
	switch msg := b.Data.Message.String(); {
	case sameMessage(msg, msgValid):
		return Decision{Action: ActionShow, CanProceed: true, Reason: ReasonValid}
	case sameMessage(msg, msgInvalidAccount):
		text := strings.TrimSpace(b.ErrorMessage.String())
		if text == "" {
			text = strings.TrimSpace(msg)
		}
		return Decision{Action: ActionBlock, Message: text, Reason: ReasonInvalidAccount}
	case sameMessage(msg, msgUnavailable):
		return Decision{Action: ActionHide, CanProceed: true, Reason: ReasonUnavailable}
	case sameMessage(msg, msgServiceUnavailable):
		return Decision{Action: ActionHide, CanProceed: true, Reason: ReasonServiceUnavailable}
	default:
		return Decision{Action: ActionHide, CanProceed: true, Reason: ReasonUnrecognised}
	}
}

// sameMessage compares as Decision documents.
func sameMessage(got, want string) bool {
	got = strings.TrimSuffix(strings.TrimSpace(got), ".")
	return strings.EqualFold(strings.TrimSpace(got), strings.TrimSuffix(want, "."))
}

// Field is one piece of bill information to show.
type Field struct {
	// Key is a stable name: biller_name, customer_name, outstanding, due_date,
	// balance, data, address, e_bill or custom_field.
	Key   string `json:"key"`
	Label string `json:"label"` // in the language asked for, such as "Outstanding amount"
	Value string `json:"value"` // ready to show, such as "RM 45.94"
}

// The Field keys, in the order Fields lists them. They are stable.
const (
	keyBillerName   = "biller_name"
	keyCustomerName = "customer_name"
	keyOutstanding  = "outstanding"
	keyDueDate      = "due_date"
	keyBalance      = "balance"
	keyData         = "data"
	keyAddress      = "address"
	keyEBill        = "e_bill"
	keyCustomField  = "custom_field"
)

// Language picks the labels of Fields.
type Language string

// The languages of the labels. Malaysian checkouts are bilingual.
const (
	English Language = "en"
	Malay   Language = "ms" // Bahasa Malaysia
)

// labels holds each Field key's label in English and Bahasa Malaysia, worded as
// Malaysian bills and banking apps print them.
var labels = map[string][2]string{
	keyBillerName:   {"Biller", "Pembekal"},
	keyCustomerName: {"Customer name", "Nama pelanggan"},
	keyOutstanding:  {"Outstanding amount", "Jumlah tertunggak"},
	keyDueDate:      {"Due date", "Tarikh akhir bayaran"},
	keyBalance:      {"Balance", "Baki"},
	keyData:         {"Data balance", "Baki data"},
	keyAddress:      {"Address", "Alamat"},
	keyEBill:        {"E-bill", "Bil elektronik"},
	keyCustomField:  {"Additional information", "Maklumat tambahan"},
}

// Fields is FieldsIn(English).
func (b *Bill) Fields() []Field { return b.FieldsIn(English) }

// FieldsIn lists the bill information a checkout may show, labelled in lang
// (English for any language it does not know): only what the API returned
// (absent, null, blank and unreadable fields are not; 0 is), in the order
// biller, customer, outstanding, due date, balance, data, address, e-bill,
// custom field.
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
	d := &b.Data
	fields := make([]Field, 0, 9)
	add := func(key string, state Presence, text string) {
		if state == Returned {
			fields = append(fields, Field{Key: key, Label: labels[key][i], Value: strings.TrimSpace(text)})
		}
	}
	add(keyBillerName, d.BillerName.State(), d.BillerName.String())
	add(keyCustomerName, d.CustomerName.State(), d.CustomerName.String())
	add(keyOutstanding, d.Outstanding.State(), d.Outstanding.Ringgit())
	add(keyDueDate, d.DueDate.State(), d.DueDate.String())
	add(keyBalance, d.Balance.State(), d.Balance.String())
	add(keyData, d.DataBalance.State(), d.DataBalance.String())
	add(keyAddress, d.Address.State(), d.Address.String())
	add(keyEBill, d.EBill.State(), d.EBill.String())
	add(keyCustomField, d.CustomField.State(), d.CustomField.String())
	return fields
}
