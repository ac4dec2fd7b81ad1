package iimmpact

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTextsForAPersonAreSafe(t *testing.T) {
	body := `{"data":{"message":"Account no is valid","CustomerName":"LIM\u0000 AH\u001b[31m KOW\u007f",` +
		`"Address":"12 JALAN \u202eSS2\n 47300","Balance":"RM\u00a0\u00a045.94","E-Bill":"javascript:alert(1)",` +
		`"CustomField":{"note\u001b]0;pwned\u0007":"\u2066x"}}}`
	bill, err := DecodeBill([]byte(body))
	require.NoError(t, err)
	got := map[string]string{}
	for _, f := range bill.Fields() {
		got[f.Key] = f.Value
	}
	assert.Equal(t, map[string]string{
		"customer_name": "LIM AH KOW", "address": "12 JALAN SS2 47300", "balance": "RM 45.94", "custom_field": "Note]0;pwned: x",
	}, got)
	assert.Contains(t, bill.Unreadable(), "data.E-Bill", "a script URL is no e-bill")
	assert.Equal(t, `"javascript:alert(1)"`, string(bill.Data.EBill.Raw()), "the raw value stays reachable")

	for _, link := range []string{"data:text/html,x", "/bill.pdf", "ftp://x/y.pdf", "https://", "HTTPS://bills.example.com/a.pdf"} {
		b, err := DecodeBill([]byte(`{"data":{"message":"Account no is valid","E-Bill":"` + link + `"}}`))
		require.NoError(t, err)
		assert.Equal(t, link == "HTTPS://bills.example.com/a.pdf", b.Data.EBill.State() == Returned, link)
	}

	b, err := DecodeBill([]byte(`{"data":{"message":"Invalid account no"},"error_message":"Ref-2\u001b[2J is\u202e required\u0000"}`))
	require.NoError(t, err)
	assert.Equal(t, "Ref-2 is required", b.Decision().Message)
}
