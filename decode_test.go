package iimmpact

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func golden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "responses", name))
	require.NoError(t, err)
	return b
}

func decodeGolden(t *testing.T, name string) *Bill {
	t.Helper()
	var b Bill
	require.NoError(t, json.Unmarshal(golden(t, name), &b))
	return &b
}

func TestGoldenDecisionsAndFields(t *testing.T) {
	show := Decision{Action: ActionShow, CanProceed: true}
	hide := Decision{Action: ActionHide, CanProceed: true}
	tests := []struct {
		file     string
		decision Decision
		fields   []Field
	}{
		{"valid_aksb.json", show, []Field{
			{FieldBillerName, "Biller", "Air Kelantan"},
			{FieldCustomerName, "Customer name", "EN. MOHD MOKHTAR B.AWANG"},
			{FieldOutstanding, "Outstanding amount", "RM 45.94"},
			{FieldDueDate, "Due date", "13/06/2025"},
			{FieldAddress, "Address", "KG. TUALANG KUDONG, 18500 LABIK, MACHANG."},
		}},
		{"invalid_account_jompay.json", Decision{Action: ActionBlock, CanProceed: false, Message: "The provided biller code is invalid"}, nil},
		{"unavailable.json", hide, nil},
		{"service_unavailable.json", hide, nil},
		{"null_absent_empty.json", show, []Field{
			{FieldBillerName, "Biller", "Celcom"},
			{FieldOutstanding, "Outstanding amount", "RM 0.00"},
			{FieldData, "Data balance", "2.5GB"},
			{FieldEBill, "E-bill", "https://bills.example.com/e/123.pdf"},
		}},
		{"outstanding_exact.json", show, []Field{
			{FieldBillerName, "Biller", "JomPAY Biller"},
			{FieldOutstanding, "Outstanding amount", "RM 90071992547409.93"},
		}},
		{"at_metadata.json", show, []Field{
			{FieldBillerName, "Biller", "SAJ"},
			{FieldOutstanding, "Outstanding amount", "RM 12.30"},
		}},
		{"unknown_fields.json", show, []Field{
			{FieldBillerName, "Biller", "Indah Water"},
			{FieldOutstanding, "Outstanding amount", "RM 8.00"},
			{FieldDueDate, "Due date", "30/06/2025"},
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
		kind  Kind
		shown string // "" when not in Fields
	}{
		{"customfield_string.json", KindString, "Tariff A (domestic)"},
		{"customfield_number.json", KindNumber, "1234.5"},
		{"customfield_bool.json", KindBool, "true"},
		{"customfield_object.json", KindObject, `{"meter":"M-0042","reading":1533,"units":["kWh"]}`},
		{"customfield_array.json", KindArray, `["Bill 05/2025",88.1,null]`},
		{"customfield_null.json", KindNull, ""},
		{"customfield_empty_object.json", KindObject, ""},
		{"customfield_absent.json", KindAbsent, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := decodeGolden(t, tt.file)
			cf := b.Data.CustomField
			assert.Equal(t, tt.kind, cf.Kind())
			var shown string
			for _, f := range b.Fields() {
				if f.Key == FieldCustomField {
					shown = f.Value
					assert.Equal(t, "Additional information", f.Label)
				}
			}
			assert.Equal(t, tt.shown, shown)
			assert.Equal(t, tt.shown == "", cf.IsEmpty())
		})
	}
}

func TestCustomFieldAccessors(t *testing.T) {
	obj := decodeGolden(t, "customfield_object.json").Data.CustomField
	var v struct {
		Meter   string
		Reading int
	}
	require.NoError(t, obj.Decode(&v))
	assert.Equal(t, "M-0042", v.Meter)
	assert.Equal(t, 1533, v.Reading)
	_, ok := obj.AsString()
	assert.False(t, ok)
	assert.JSONEq(t, `{"meter":"M-0042","reading":1533,"units":["kWh"]}`, string(obj.Raw()))

	num := decodeGolden(t, "customfield_number.json").Data.CustomField
	n, ok := num.AsNumber()
	assert.True(t, ok)
	assert.Equal(t, "1234.5", n.String())

	str := decodeGolden(t, "customfield_string.json").Data.CustomField
	s, ok := str.AsString()
	assert.True(t, ok)
	assert.Equal(t, "Tariff A (domestic)", s)

	absent := decodeGolden(t, "customfield_absent.json").Data.CustomField
	assert.NoError(t, absent.Decode(&v), "absent decodes like null")
	assert.Nil(t, absent.Raw())

	built, err := NewCustomField(map[string]int{"a": 1})
	require.NoError(t, err)
	assert.Equal(t, KindObject, built.Kind())
	out, err := json.Marshal(struct{ C CustomField }{built})
	require.NoError(t, err)
	assert.Equal(t, `{"C":{"a":1}}`, string(out))
}

func TestPresence(t *testing.T) {
	b := decodeGolden(t, "null_absent_empty.json")
	assert.Equal(t, Null, b.Data.CustomerName.State)
	assert.Equal(t, Absent, b.Data.Address.State)
	assert.Equal(t, Present, b.Data.Balance.State)
	assert.False(t, b.Data.Balance.Returned(), "blank is not returned")
	assert.True(t, b.Data.Outstanding.Valid(), "0 is returned")
	assert.Equal(t, int64(0), b.Data.Outstanding.Sen())
	assert.Equal(t, Absent, b.Data.DueDate.State)

	inv := decodeGolden(t, "invalid_account_jompay.json")
	assert.Nil(t, inv.TransactionValidity)
	assert.Equal(t, Null, inv.TransactionMessage.State)
	assert.Equal(t, Null, inv.Data.Outstanding.State())
	assert.Equal(t, Absent, inv.Data.BillerName.State)
}

func TestEnvelopeDetails(t *testing.T) {
	b := decodeGolden(t, "valid_aksb.json")
	assert.Equal(t, 200, b.Metadata.StatusCode)
	assert.Equal(t, "AKSB", b.Metadata.ProductCode)
	require.NotNil(t, b.TransactionValidity)
	assert.True(t, *b.TransactionValidity)
	assert.Equal(t, "Account validation successful with AKSB.", b.TransactionMessage.String())
	assert.Equal(t, int64(4594), b.Data.Outstanding.Sen())
	assert.Equal(t, bytes.TrimSpace(golden(t, "valid_aksb.json")), b.Raw())

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
	for _, text := range []string{"", "2025-06-13", "13/6/2025", "31/02/2025", "13/06/2025 10:00"} {
		_, err := Date{Text{Value: text, State: Present}}.Time()
		assert.Error(t, err, text)
	}
	_, err := Timestamp{Text{Value: "19/05/2025 15:37:28", State: Present}}.Time()
	assert.Error(t, err)
}

func TestExtraKeepsUnknownFields(t *testing.T) {
	b := decodeGolden(t, "unknown_fields.json")
	extra := b.Extra()
	require.Len(t, extra, 2)
	assert.JSONEq(t, `"IWK-77812"`, string(extra["MeterNo"]))
	assert.JSONEq(t, `{"months": 2, "amount": "16.00"}`, string(extra["Arrears"]))
	assert.Nil(t, decodeGolden(t, "valid_aksb.json").Extra())
	var nilBill *Bill
	assert.Nil(t, nilBill.Extra())
	assert.Nil(t, nilBill.Raw())
}

func TestMalformedEnvelopes(t *testing.T) {
	for name, body := range map[string]string{
		"not json":           `<html>`,
		"no data":            `{"metadata":{}}`,
		"data is a string":   `{"data":"x"}`,
		"outstanding word":   `{"data":{"message":"Account no is valid","Outstanding":"abc"}}`,
		"outstanding 3dp":    `{"data":{"message":"Account no is valid","Outstanding":1.005}}`,
		"outstanding bool":   `{"data":{"message":"Account no is valid","Outstanding":true}}`,
		"name is an object":  `{"data":{"message":"Account no is valid","BillerName":{}}}`,
		"validity is string": `{"data":{},"transaction_validity":"yes"}`,
		"truncated":          `{"data":{"message":"Account no is valid"`,
	} {
		t.Run(name, func(t *testing.T) {
			var b Bill
			err := decodeBill([]byte(body), &b) // what the client calls
			assert.ErrorIs(t, err, ErrMalformedResponse)
		})
	}
}

func TestBillRoundTripsThroughJSON(t *testing.T) {
	b := decodeGolden(t, "customfield_object.json")
	out, err := json.Marshal(b)
	require.NoError(t, err)
	var again Bill
	require.NoError(t, json.Unmarshal(out, &again))
	assert.Equal(t, b.Decision(), again.Decision())
	assert.Equal(t, b.Fields(), again.Fields())
}
