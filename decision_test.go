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
		{"Account no is valid", "", Decision{ActionShow, true, ""}},
		{"  account NO is valid.  ", "", Decision{ActionShow, true, ""}},
		{"Bill presentment is unavailable for this product", "", Decision{ActionHide, true, ""}},
		{"BILL PRESENTMENT IS UNAVAILABLE FOR THIS PRODUCT.", "", Decision{ActionHide, true, ""}},
		{"Service unavailable. Please try again later", "", Decision{ActionHide, true, ""}},
		{"Service unavailable. Please try again later.", "", Decision{ActionHide, true, ""}},
		{"Invalid account no", "The provided biller code is invalid", Decision{ActionBlock, false, "The provided biller code is invalid"}},
		{"Invalid account no", "The provided amount is invalid", Decision{ActionBlock, false, "The provided amount is invalid"}},
		{"Invalid account no", "Invalid account no", Decision{ActionBlock, false, "Invalid account no"}},
		{"Invalid account no", "Ref-2 is required", Decision{ActionBlock, false, "Ref-2 is required"}},
		{"invalid account no.", "  ", Decision{ActionBlock, false, "invalid account no."}},
		{"Invalid account no", "", Decision{ActionBlock, false, "Invalid account no"}},
		{"Invalid account number", "x", Decision{ActionHide, true, ""}},
		{"Something new", "oops", Decision{ActionHide, true, ""}},
		{"", "", Decision{ActionHide, true, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.message, func(t *testing.T) {
			b := &Bill{
				Data:         BillData{Message: Text{Value: tt.message, State: Present}, BillerName: Text{Value: "X", State: Present}},
				ErrorMessage: Text{Value: tt.errorMessage, State: Present},
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
	assert.Equal(t, Decision{Action: ActionHide, CanProceed: true}, b.Decision())
	assert.Empty(t, b.Fields())
}

func TestActionNames(t *testing.T) {
	assert.Equal(t, "show", ActionShow.String())
	assert.Equal(t, "hide", ActionHide.String())
	assert.Equal(t, "block", ActionBlock.String())
	out, err := json.Marshal(Decision{Action: ActionBlock, Message: "m"})
	assert.NoError(t, err)
	assert.JSONEq(t, `{"action":"block","can_proceed":false,"message":"m"}`, string(out))
}
