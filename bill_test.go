package iimmpact

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func decodeGolden(t *testing.T, name string) *Bill {
	t.Helper()
	var b Bill
	require.NoError(t, json.Unmarshal(golden(t, name), &b))
	return &b
}

func TestGoldenDecisionsAndFields(t *testing.T) {
	show := Decision{Action: ActionShow, CanProceed: true, Reason: ReasonValid}
	tests := []struct {
		file     string
		decision Decision
		fields   []Field
	}{
		{"valid_aksb.json", show, []Field{
			{"biller_name", "Biller", "Air Kelantan"},
			{"customer_name", "Customer name", "EN. MOHD MOKHTAR B.AWANG"},
			{"outstanding", "Outstanding amount", "RM 45.94"},
			{"due_date", "Due date", "13/06/2025"},
			{"address", "Address", "KG. TUALANG KUDONG, 18500 LABIK, MACHANG."},
		}},
		{"invalid_account_jompay.json", Decision{Action: ActionBlock, CanProceed: false, Message: "The provided biller code is invalid", Reason: ReasonInvalidAccount}, nil},
		{"unavailable.json", Decision{Action: ActionHide, CanProceed: true, Reason: ReasonUnavailable}, nil},
		{"service_unavailable.json", Decision{Action: ActionHide, CanProceed: true, Reason: ReasonServiceUnavailable}, nil},
		{"null_absent_empty.json", show, []Field{
			{"biller_name", "Biller", "Celcom"},
			{"outstanding", "Outstanding amount", "RM 0.00"},
			{"data", "Data balance", "2.5GB"},
			{"e_bill", "E-bill", "https://bills.example.com/e/123.pdf"},
		}},
		{"outstanding_exact.json", show, []Field{
			{"biller_name", "Biller", "JomPAY Biller"},
			{"outstanding", "Outstanding amount", "RM 90071992547409.93"},
		}},
		{"at_metadata.json", show, []Field{
			{"biller_name", "Biller", "SAJ"},
			{"outstanding", "Outstanding amount", "RM 12.30"},
		}},
		{"unknown_fields.json", show, []Field{
			{"biller_name", "Biller", "Indah Water"},
			{"outstanding", "Outstanding amount", "RM 8.00"},
			{"due_date", "Due date", "30/06/2025"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := decodeGolden(t, tt.file)
			assert.Equal(t, tt.decision, b.Decision())
			assert.Equal(t, tt.fields, b.Fields())
		})
	}
}

func TestCustomFieldKinds(t *testing.T) {
	tests := []struct {
		file  string
		state Presence
		shown string // "" when not in Fields
	}{
		{"customfield_string.json", Returned, "Tariff A (domestic)"},
		{"customfield_number.json", Returned, "1234.5"},
		{"customfield_bool.json", Returned, "true"},
		{"customfield_object.json", Returned, "Meter: M-0042 · Reading: 1533 · Units: kWh"},
		{"customfield_array.json", Returned, "Bill 05/2025, 88.1"},
		{"customfield_null.json", Null, ""},
		{"customfield_empty_object.json", Blank, ""},
		{"customfield_absent.json", Absent, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := decodeGolden(t, tt.file)
			cf := b.Data.CustomField
			assert.Equal(t, tt.state, cf.State())
			var shown string
			for _, f := range b.Fields() {
				if f.Key == "custom_field" {
					shown = f.Value
					assert.Equal(t, "Additional information", f.Label)
				}
			}
			assert.Equal(t, tt.shown, shown)
			assert.Equal(t, tt.shown, cf.String())
		})
	}
}

func TestCustomFieldReadsAsText(t *testing.T) {
	tests := map[string]string{
		`{"tariff":"A (domestic)","meter":"M-0042","kwh":533}`: "Tariff: A (domestic) · Meter: M-0042 · Kwh: 533",
		`{"meter_no":"M1","last":{"date":"01/05","kwh":12}}`:   "Meter no: M1 · Last: (Date: 01/05 · Kwh: 12)",
		`{"a":"","b":null,"c":"x","d":{},"e":[]}`:              "C: x",
		`[{"month":"05/2025","amount":"88.10"},"note",[1,2]]`:  "(Month: 05/2025 · Amount: 88.10), note, 1, 2",
		`{"été":"oui","_x":1}`:                                 "Été: oui · X: 1",
		`{"html":"<b>bold</b>"}`:                               "Html: <b>bold</b>",
		`"  spaced  "`:                                         "spaced",
		`[null,"",{}]`:                                         "",
		`{"e":"\u0041\/B"}`:                                    "E: A/B",
	}
	for raw, want := range tests {
		t.Run(raw, func(t *testing.T) {
			cf := billWith(t, "CustomField", raw).Data.CustomField
			assert.Equal(t, want, cf.String())
			assert.NotContains(t, cf.String(), "{\"", "never raw JSON")
			assert.Equal(t, raw, string(cf.Raw()), "the raw value stays available")
		})
	}
}

func TestCustomFieldDecode(t *testing.T) {
	obj := decodeGolden(t, "customfield_object.json").Data.CustomField
	var v struct {
		Meter   string
		Reading int
	}
	require.NoError(t, obj.Decode(&v))
	assert.Equal(t, "M-0042", v.Meter)
	assert.Equal(t, 1533, v.Reading)
	var s string
	assert.Error(t, obj.Decode(&s))
	assert.JSONEq(t, `{"meter":"M-0042","reading":1533,"units":["kWh"]}`, string(obj.Raw()))

	var n json.Number
	require.NoError(t, decodeGolden(t, "customfield_number.json").Data.CustomField.Decode(&n))
	assert.Equal(t, "1234.5", n.String())

	require.NoError(t, decodeGolden(t, "customfield_string.json").Data.CustomField.Decode(&s))
	assert.Equal(t, "Tariff A (domestic)", s)

	absent := decodeGolden(t, "customfield_absent.json").Data.CustomField
	assert.NoError(t, absent.Decode(&v), "absent decodes like null")
	assert.Nil(t, absent.Raw())
}

func TestPresence(t *testing.T) {
	b := decodeGolden(t, "null_absent_empty.json")
	assert.Equal(t, Null, b.Data.CustomerName.State())
	assert.Equal(t, Absent, b.Data.Address.State())
	assert.Equal(t, Blank, b.Data.Balance.State(), "blank is not returned")
	assert.Equal(t, Returned, b.Data.Outstanding.State(), "0 is returned")
	assert.Equal(t, int64(0), b.Data.Outstanding.Sen())
	assert.Equal(t, Absent, b.Data.DueDate.State())
	assert.Equal(t, Null, b.Data.CustomField.State())

	inv := decodeGolden(t, "invalid_account_jompay.json")
	assert.Nil(t, inv.TransactionValidity)
	assert.Equal(t, Null, inv.TransactionMessage.State())
	assert.Equal(t, Null, inv.Data.Outstanding.State())
	assert.Equal(t, Absent, inv.Data.BillerName.State())
	assert.Equal(t, Blank, inv.Data.CustomField.State(), `"" is blank for every field type`)
	assert.Equal(t, Blank, inv.Data.Address.State())

	names := map[Presence]string{Absent: "absent", Null: "null", Blank: "blank", Unreadable: "unreadable", Returned: "returned"}
	for p, name := range names {
		assert.Equal(t, name, p.String())
	}
	assert.Equal(t, "Presence(9)", Presence(9).String())
}

func TestEnvelopeDetails(t *testing.T) {
	b := decodeGolden(t, "valid_aksb.json")
	assert.Equal(t, 200, b.Metadata.StatusCode)
	assert.Equal(t, "AKSB", b.Metadata.ProductCode)
	require.NotNil(t, b.TransactionValidity)
	assert.True(t, *b.TransactionValidity)
	assert.Equal(t, "Account validation successful with AKSB.", b.TransactionMessage.String())
	assert.Equal(t, int64(4594), b.Data.Outstanding.Sen())
	assert.Equal(t, bytes.TrimSpace(golden(t, "valid_aksb.json")), bytes.TrimSpace(b.Raw()))
	assert.Empty(t, b.Unreadable())

	due, err := b.Data.DueDate.Time()
	require.NoError(t, err)
	assert.Equal(t, "2025-06-13T00:00:00+08:00", due.Format(time.RFC3339))
	updated, err := b.Metadata.LastUpdated.Time()
	require.NoError(t, err)
	assert.Equal(t, "2025-05-19T07:37:28Z", updated.UTC().Format(time.RFC3339))
	assert.Equal(t, "19-05-2025 15:37:28", b.Metadata.LastUpdated.String())

	at := decodeGolden(t, "at_metadata.json")
	assert.Equal(t, "SAJ", at.Metadata.ProductCode)
	assert.Equal(t, 200, at.Metadata.StatusCode)
}

func TestDatesRefuseOtherLayouts(t *testing.T) {
	for _, text := range []string{"2025-06-13", "13/6/2025", "31/02/2025", "13/06/2025 10:00"} {
		bill := billWith(t, "DueDate", `"`+text+`"`)
		assert.Equal(t, Unreadable, bill.Data.DueDate.State(), text)
		assert.Equal(t, []string{"data.DueDate"}, bill.Unreadable())
		_, err := bill.Data.DueDate.Time()
		assert.Error(t, err, text)
		assert.Empty(t, bill.Data.DueDate.String())
	}
	bill, err := DecodeBill([]byte(`{"data":{"message":"x"},"metadata":{"last_updated":"19/05/2025 15:37:28"}}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"metadata.last_updated"}, bill.Unreadable())
}

func TestExtraKeepsUnknownFields(t *testing.T) {
	b := decodeGolden(t, "unknown_fields.json")
	extra := b.Extra()
	require.Len(t, extra, 2)
	assert.JSONEq(t, `"IWK-77812"`, string(extra["MeterNo"]))
	assert.JSONEq(t, `{"months": 2, "amount": "16.00"}`, string(extra["Arrears"]))
	extra["MeterNo"][1] = 'X'
	assert.JSONEq(t, `"IWK-77812"`, string(b.Extra()["MeterNo"]), "Extra returns a copy")
	assert.Nil(t, decodeGolden(t, "valid_aksb.json").Extra())
	var nilBill *Bill
	assert.Nil(t, nilBill.Extra())
	assert.Nil(t, nilBill.Raw())
	assert.Nil(t, nilBill.Unreadable())
}

// TestDataKeysMatchTheStruct guards the one list of data's keys: every field
// of BillData is named by exactly one entry, and each entry by its own key.
func TestDataKeysMatchTheStruct(t *testing.T) {
	var d BillData
	typ := reflect.TypeOf(d)
	require.Len(t, dataFields, typ.NumField())
	for i := range typ.NumField() {
		ptr := reflect.ValueOf(&d).Elem().Field(i).Addr().Interface()
		j := -1
		for k, f := range dataFields {
			if f.of(&d) == ptr {
				j = k
			}
		}
		require.GreaterOrEqual(t, j, 0, typ.Field(i).Name)
		assert.Equal(t, j, dataField([]byte(dataFields[j].json)))
		assert.Equal(t, "data."+dataFields[j].json, dataFields[j].name)
	}
}

func TestMalformedEnvelopes(t *testing.T) {
	for name, body := range map[string]string{
		"not json":            `<html>`,
		"empty":               ``,
		"an array":            `[{"data":{"message":"Invalid account no"}}]`,
		"no data":             `{"metadata":{}}`,
		"data is a string":    `{"data":"x"}`,
		"data is null":        `{"data":null}`,
		"no message":          `{"data":{"BillerName":"x"}}`,
		"message an object":   `{"data":{"message":{"text":"Invalid account no"}}}`,
		"message an array":    `{"data":{"message":["Invalid account no"]}}`,
		"case-variant only":   `{"data":{"Message":"Invalid account no"}}`,
		"truncated":           `{"data":{"message":"Account no is valid"`,
		"trailing garbage":    `{"data":{"message":"Account no is valid"}} x`,
		"duplicate amount":    `{"data":{"message":"Account no is valid","Outstanding":45.94,"Outstanding":1}}`,
		"duplicate escaped":   `{"data":{"message":"Account no is valid","Outstanding":45.94,"Outst\u0061nding":1}}`,
		"duplicate message":   `{"data":{"message":"Account no is valid","message":"Something else"}}`,
		"duplicate data":      `{"data":{"message":"Account no is valid"},"data":{"message":"Account no is valid"}}`,
		"duplicate validity":  `{"data":{"message":"Account no is valid"},"transaction_validity":true,"transaction_validity":false}`,
		"control in a string": "{\"data\":{\"message\":\"Account\u0001\"}}",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeBill([]byte(body))
			assert.ErrorIs(t, err, ErrMalformedResponse)
		})
	}
}

// TestInvalidAccountAlwaysBlocks is the central promise: whatever else a body
// holds, "Invalid account no" in data.message stops the payment.
func TestInvalidAccountAlwaysBlocks(t *testing.T) {
	const inv = `"message":"Invalid account no"`
	for name, tt := range map[string]struct{ body, unreadable string }{
		"status_code a string":    {`{"data":{` + inv + `},"metadata":{"status_code":"400"}}`, "metadata.status_code"},
		"validity a string":       {`{"data":{` + inv + `},"transaction_validity":"false"}`, "transaction_validity"},
		"outstanding a dash":      {`{"data":{` + inv + `,"Outstanding":"-"}}`, "data.Outstanding"},
		"outstanding 0.001":       {`{"data":{` + inv + `,"Outstanding":0.001}}`, "data.Outstanding"},
		"outstanding huge":        {`{"data":{` + inv + `,"Outstanding":1e1000000500}}`, "data.Outstanding"},
		"address an object":       {`{"data":{` + inv + `,"Address":{}}}`, "data.Address"},
		"metadata a string":       {`{"data":{` + inv + `},"metadata":"x"}`, "metadata"},
		"error_message an array":  {`{"data":{` + inv + `},"error_message":[1]}`, "error_message"},
		"due date a number":       {`{"data":{` + inv + `,"DueDate":20250613}}`, "data.DueDate"},
		"deep custom field":       {`{"data":{` + inv + `,"CustomField":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}}`, "data.CustomField"},
		"broken custom field":     {`{"data":{` + inv + `,"CustomField":[}}}`, "data.CustomField"},
		"duplicate amount":        {`{"data":{` + inv + `,"Outstanding":1,"Outstanding":2}}`, "data.Outstanding"},
		"valid copy after":        {`{"data":{` + inv + `,"message":"Account no is valid"}}`, "data.message"},
		"valid copy before":       {`{"data":{"message":"Account no is valid",` + inv + `}}`, "data.message"},
		"valid data after":        {`{"data":{` + inv + `},"data":{"message":"Account no is valid"}}`, "data"},
		"case variant says valid": {`{"data":{` + inv + `,"Message":"Account no is valid","outstanding":1}}`, ""},
		"escaped key":             {`{"data":{"mess\u0061ge":"Invalid account no"}}`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			bill, err := DecodeBill([]byte(tt.body))
			require.NoError(t, err)
			d := bill.Decision()
			assert.Equal(t, ActionBlock, d.Action)
			assert.False(t, d.CanProceed)
			assert.Equal(t, "Invalid account no", d.Message)
			if tt.unreadable != "" {
				assert.Contains(t, bill.Unreadable(), tt.unreadable)
			}
			assert.Empty(t, bill.Fields())
		})
	}
}

func TestExactKeys(t *testing.T) {
	bill, err := DecodeBill([]byte(`{"data":{"message":"Account no is valid","Outstanding":45.94,"outstanding":1.00,"billername":"Fake","BillerName":"Air Kelantan"}}`))
	require.NoError(t, err)
	assert.Equal(t, int64(4594), bill.Data.Outstanding.Sen(), "a case variant never overrides")
	assert.Equal(t, "Air Kelantan", bill.Data.BillerName.String())
	extra := bill.Extra()
	assert.JSONEq(t, `1.00`, string(extra["outstanding"]))
	assert.JSONEq(t, `"Fake"`, string(extra["billername"]))

	bill, err = DecodeBill([]byte(`{"data":{"message":"Invalid account no","Message":"Account no is valid"}}`))
	require.NoError(t, err)
	assert.Equal(t, ActionBlock, bill.Decision().Action)
}

func TestBillRoundTripsThroughJSON(t *testing.T) {
	for _, name := range []string{"customfield_object.json", "null_absent_empty.json", "invalid_account_jompay.json", "at_metadata.json"} {
		b := decodeGolden(t, name)
		out, err := json.Marshal(b)
		require.NoError(t, err)
		var again Bill
		require.NoError(t, json.Unmarshal(out, &again), string(out))
		assert.Equal(t, b.Decision(), again.Decision())
		assert.Equal(t, b.Fields(), again.Fields())
		assert.Equal(t, b.Data.CustomerName.State(), again.Data.CustomerName.State())
	}
}

func TestDecisionTable(t *testing.T) {
	tests := []struct {
		message, errorMessage string
		want                  Decision
	}{
		{"Account no is valid", "", Decision{ActionShow, true, "", ReasonValid}},
		{"  account NO is valid.  ", "", Decision{ActionShow, true, "", ReasonValid}},
		{"Bill presentment is unavailable for this product", "", Decision{ActionHide, true, "", ReasonUnavailable}},
		{"BILL PRESENTMENT IS UNAVAILABLE FOR THIS PRODUCT.", "", Decision{ActionHide, true, "", ReasonUnavailable}},
		{"Service unavailable. Please try again later", "", Decision{ActionHide, true, "", ReasonServiceUnavailable}},
		{"Service unavailable. Please try again later.", "", Decision{ActionHide, true, "", ReasonServiceUnavailable}},
		{"Invalid account no", "The provided biller code is invalid", Decision{ActionBlock, false, "The provided biller code is invalid", ReasonInvalidAccount}},
		{"Invalid account no", "The provided amount is invalid", Decision{ActionBlock, false, "The provided amount is invalid", ReasonInvalidAccount}},
		{"Invalid account no", "Invalid account no", Decision{ActionBlock, false, "Invalid account no", ReasonInvalidAccount}},
		{"Invalid account no", "Ref-2 is required", Decision{ActionBlock, false, "Ref-2 is required", ReasonInvalidAccount}},
		{"invalid account no.", "  ", Decision{ActionBlock, false, "invalid account no.", ReasonInvalidAccount}},
		{"Invalid account no", "", Decision{ActionBlock, false, "Invalid account no", ReasonInvalidAccount}},
		{"Invalid account number", "x", Decision{ActionHide, true, "", ReasonUnrecognised}},
		{"Something new", "oops", Decision{ActionHide, true, "", ReasonUnrecognised}},
		{"", "", Decision{ActionHide, true, "", ReasonUnrecognised}},
	}
	for _, tt := range tests {
		t.Run(tt.message, func(t *testing.T) {
			b := &Bill{
				Data:         BillData{Message: text(tt.message), BillerName: text("X")},
				ErrorMessage: text(tt.errorMessage),
			}
			got := b.Decision()
			assert.Equal(t, tt.want, got)
			if got.Action == ActionShow {
				assert.NotEmpty(t, b.Fields())
			} else {
				assert.Empty(t, b.Fields(), "no bill information unless the decision is show")
			}
		})
	}
}

func TestNilBillFailsOpen(t *testing.T) {
	var b *Bill
	assert.Equal(t, Decision{Action: ActionHide, CanProceed: true, Reason: ReasonError}, b.Decision())
	assert.Empty(t, b.Fields())
}

func TestActionNames(t *testing.T) {
	assert.Equal(t, "show", string(ActionShow))
	assert.Equal(t, "hide", string(ActionHide))
	assert.Equal(t, "block", string(ActionBlock))
	out, err := json.Marshal(Decision{Action: ActionBlock, Message: "m"})
	assert.NoError(t, err)
	assert.JSONEq(t, `{"action":"block","can_proceed":false,"message":"m","reason":""}`, string(out))
}

// text is a Text as decoded from the JSON string s.
func text(s string) Text {
	b, _ := json.Marshal(s)
	return readText(b)
}

func TestFieldsInMalay(t *testing.T) {
	bill := billWith(t, "Outstanding", `45.94`)
	assert.Equal(t, []Field{{Key: "outstanding", Label: "Jumlah tertunggak", Value: "RM 45.94"}}, bill.FieldsIn(Malay))
	assert.Equal(t, []Field{{Key: "outstanding", Label: "Outstanding amount", Value: "RM 45.94"}}, bill.FieldsIn("fr"))
	for _, f := range dataFields[1:] {
		assert.NotEmpty(t, f.label[0], f.key)
		assert.NotEmpty(t, f.label[1], f.key)
	}
}

func TestABlockingAnswerIsNeverRetried(t *testing.T) {
	for _, status := range []int{503, 502, 429, 500, 504} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			h := newHarness(t) // the default 2 retries
			h.respond(t, jsonResponder(status, []byte(invalidEnvelope)).Once().Then(
				func(*http.Request) (*http.Response, error) { return nil, context.DeadlineExceeded }))
			bill, err := h.c.BillPresentment(context.Background(), aksb)
			require.NoError(t, err)
			assert.Equal(t, ActionBlock, bill.Decision().Action)
			assert.False(t, bill.Decision().CanProceed)
			assert.Equal(t, status, bill.StatusCode)
			assert.Equal(t, 1, h.mt.GetTotalCallCount(), "final under any status")
			assert.Empty(t, h.sleeps)
		})
	}
}

func TestInvalidAccountAsAPersonReadsIt(t *testing.T) {
	decorations := []func(string) string{
		func(s string) string { return strings.Replace(s, " ", "  ", 1) },
		func(s string) string { return strings.Replace(s, " ", "\t", 1) },
		func(s string) string { return strings.ReplaceAll(s, " ", "\u00a0") },
		func(s string) string { return strings.Replace(s, " ", "\u200b ", 1) },
		func(s string) string { return "\ufeff" + s },
		func(s string) string { return s + "!" },
		func(s string) string { return s + "…" },
		func(s string) string { return `"` + s + `"` },
		func(s string) string { return "“" + s + "”" },
		func(s string) string { return "\u202e" + s + "\u202c" },
		func(s string) string { return "  " + strings.ToUpper(s) + ".  " },
		func(s string) string { return strings.Replace(s, " ", "\u2028", 1) },
	}
	for i, decorate := range decorations {
		b := &Bill{Data: BillData{Message: text(decorate(msgInvalidAccount))}}
		d := b.Decision()
		assert.Equal(t, ActionBlock, d.Action, "%d: %q", i, decorate(msgInvalidAccount))
		assert.False(t, d.CanProceed)
		assert.NotEmpty(t, d.Message)

		b = &Bill{Data: BillData{Message: text(decorate(msgValid)), BillerName: text("X")}}
		assert.Equal(t, ActionShow, b.Decision().Action, "%d: %q", i, decorate(msgValid))
	}
	for _, other := range []string{"Invalid account number", "Invalid account", "Invalid account no longer valid", "Account no is invalid"} {
		b := &Bill{Data: BillData{Message: text(other)}}
		assert.Equal(t, ReasonUnrecognised, b.Decision().Reason, "never widened to other words: %q", other)
	}
}
