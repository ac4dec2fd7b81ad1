package iimmpacttest

import (
	"net/http"
	"time"
)

// The error_message values the API documents for an invalid account. The
// sandbox spells the vendor's texts itself, independently of the SDK on
// purpose: a typo in either then shows as a failing test.
const (
	MsgBillerCodeInvalid = "The provided biller code is invalid"
	MsgAmountInvalid     = "The provided amount is invalid"
	MsgInvalidAccountNo  = "Invalid account no" // also the data.message of every invalid account
	MsgRef2Required      = "Ref-2 is required"
)

// The other data.message values of the vendor's outcome table (independent
// of the SDK's copy on purpose, as above).
const (
	msgValid              = "Account no is valid"
	msgUnavailable        = "Bill presentment is unavailable for this product"
	msgServiceUnavailable = "Service unavailable. Please try again later"
)

// Data is a bill's "data" object, keyed as the API spells it ("BillerName",
// "Outstanding", "E-Bill", ...). A key left out is absent from the response; a
// nil value is sent as JSON null. Give money as json.Number("45.94") (or a
// string) so it stays exact; CustomField may be any JSON value.
type Data map[string]any

// Outcome is one scripted answer. Build it with ValidBill, InvalidAccount,
// Unavailable, ServiceUnavailable, Message or Raw.
type Outcome struct {
	// Status is the HTTP status.
	Status int
	// Header is added to the response.
	Header http.Header
	// Body is sent as is when the outcome is not an envelope.
	Body []byte
	// Delay holds the answer back, as a slow biller does; it ends early when the
	// client goes away.
	Delay time.Duration

	envelope  *envelope // rendered per request, with the product and the time
	paidFirst bool      // a payment's failure answered after the payment was made
}

// After returns the outcome answered after a delay d.
func (o Outcome) After(d time.Duration) Outcome {
	o.Delay = d
	return o
}

// AfterPaying returns the outcome, for FailTimes on a payment, answered after
// the server made the payment (or moved it on a step): the answer lost after
// the API acted, the moment a client must never pay twice. Without it a
// failure is answered instead of the payment, and nothing is created.
func (o Outcome) AfterPaying() Outcome {
	o.paidFirst = true
	return o
}

// envelope is the bill presentment body; metadata is filled in per request.
type envelope struct {
	data               Data
	validity           *bool
	transactionMessage *string
	errorMessage       string
}

func ptr[T any](v T) *T { return &v }

// ValidBill answers HTTP 200 "Account no is valid" with data, to which it adds
// "message" unless data sets it.
func ValidBill(data Data) Outcome {
	d := Data{"message": msgValid}
	for k, v := range data {
		d[k] = v
	}
	return Outcome{Status: http.StatusOK, envelope: &envelope{data: d, validity: ptr(true)}}
}

// InvalidAccount answers the documented HTTP 400 "Invalid account no", with
// errorMessage (MsgInvalidAccountNo, one of the Msg constants, or any
// text) as error_message.
func InvalidAccount(errorMessage string) Outcome {
	return Outcome{Status: http.StatusBadRequest, envelope: &envelope{
		data:         emptyData(MsgInvalidAccountNo),
		errorMessage: errorMessage,
	}}
}

// Unavailable answers "Bill presentment is unavailable for this product", as the
// API does for a product without bill presentment.
func Unavailable() Outcome {
	return Outcome{Status: http.StatusOK, envelope: &envelope{
		data:               emptyData(msgUnavailable),
		validity:           ptr(true),
		transactionMessage: ptr(msgUnavailable),
	}}
}

// ServiceUnavailable answers "Service unavailable. Please try again later", as
// the API does when the biller cannot be reached.
func ServiceUnavailable() Outcome {
	return Outcome{Status: http.StatusOK, envelope: &envelope{
		data:               emptyData(msgServiceUnavailable),
		validity:           ptr(true),
		transactionMessage: ptr(msgServiceUnavailable),
	}}
}

// Message answers HTTP 200 with any data.message, for outcomes the vendor's
// table calls "any other error".
func Message(message string) Outcome {
	return Outcome{Status: http.StatusOK, envelope: &envelope{data: emptyData(message)}}
}

// Raw answers status with body and header exactly as given: a 503, an HTML error
// page, a 429 with Retry-After, a malformed body.
func Raw(status int, header http.Header, body string) Outcome {
	return Outcome{Status: status, Header: header, Body: []byte(body)}
}

// emptyData is the data object of the reference's 400: every field blank.
func emptyData(message string) Data {
	return Data{
		"message": message, "CustomerName": "", "Outstanding": nil, "Balance": "",
		"Data": "", "Address": "", "E-Bill": "", "CustomField": "", "DueDate": "",
	}
}
