package iimmpact

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
)

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
