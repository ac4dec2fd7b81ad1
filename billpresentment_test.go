package iimmpact

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQueryValidate(t *testing.T) {
	tests := []struct {
		name  string
		q     Query
		field string // "" when valid
		rule  string
	}{
		{"plain", Query{Account: "1234567890", Product: "AKSB"}, "", ""},
		{"jompay", Query{Account: "1", Product: "JOMPAY", BillerCode: "12345", Ref2: "r", Amount: "10.50"}, "", ""},
		{"jompay lower case", Query{Account: "1", Product: "jompay", BillerCode: "12345"}, "", ""},
		{"jompay one decimal", Query{Account: "1", Product: "JOMPAY", BillerCode: "1", Amount: "0.5"}, "", ""},
		{"jompay whole", Query{Account: "1", Product: "JOMPAY", BillerCode: "1", Amount: "100"}, "", ""},
		{"no account", Query{Product: "AKSB"}, "account", "is required"},
		{"blank account", Query{Account: "   ", Product: "AKSB"}, "account", "is required"},
		{"no product", Query{Account: "1"}, "product", "is required"},
		{"control char", Query{Account: "1\n2", Product: "AKSB"}, "account", "must not contain control or invisible characters"},
		{"jompay no biller", Query{Account: "1", Product: "JOMPAY"}, "biller_code", "is required when product is JOMPAY"},
		{"jompay blank biller", Query{Account: "1", Product: " Jompay ", BillerCode: " "}, "biller_code", "is required when product is JOMPAY"},
		{"ref2 elsewhere", Query{Account: "1", Product: "AKSB", Ref2: "x"}, "ref2", "is only used when product is JOMPAY"},
		{"amount elsewhere", Query{Account: "1", Product: "AKSB", Amount: "1.00"}, "amount", "is only used when product is JOMPAY"},
		{"biller elsewhere", Query{Account: "1", Product: "TNB", BillerCode: "1"}, "biller_code", "is only used when product is JOMPAY"},
	}
	badAmounts := []string{"0", "0.00", "-1", "1.234", "1.", ".5", "1,00", "abc", "1e2", "1 0", "RM1"}
	for _, a := range badAmounts {
		tests = append(tests, struct {
			name  string
			q     Query
			field string
			rule  string
		}{"amount " + a, Query{Account: "1", Product: "JOMPAY", BillerCode: "1", Amount: a}, "amount", "must be a positive decimal with at most two decimals"})
	}
	tests = append(tests, struct {
		name  string
		q     Query
		field string
		rule  string
	}{"amount too large", Query{Account: "1", Product: "JOMPAY", BillerCode: "1", Amount: "100000000000000000"}, "amount", "is too large"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.q.Validate()
			if tt.field == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidQuery)
			var qe *QueryError
			require.True(t, errors.As(err, &qe))
			assert.Equal(t, tt.field, qe.Field)
			assert.Contains(t, qe.Rule, tt.rule)
			assert.Contains(t, err.Error(), tt.field)
		})
	}
}

func TestQueryEncoding(t *testing.T) {
	c := newTestClient(t)
	cl := c.billCall(Query{Account: "12 34/5+6", Product: "JOMPAY", BillerCode: "1", Ref2: "a&b"})
	assert.Equal(t, "account=12+34%2F5%2B6&biller_code=1&product=JOMPAY&ref2=a%26b", cl.rawQuery)
	assert.Equal(t, "account=12 34/5+6&biller_code=1&product=JOMPAY&ref2=a&b", cl.canonQuery)
	v, err := url.ParseQuery(cl.rawQuery)
	require.NoError(t, err)
	assert.Equal(t, canonicalQuery(v), cl.canonQuery, "what a Signer signs for the same request")
	cl = c.billCall(Query{Account: "1", Product: "AKSB"})
	assert.Equal(t, "account=1&product=AKSB", cl.rawQuery, "empty optional fields are not sent")
	cl = c.billCall(Query{Account: "8800123456", Product: "JOMPAY", BillerCode: "5454", Ref2: "r", Amount: "10.50"})
	assert.Equal(t, "account=8800123456&amount=10.50&biller_code=5454&product=JOMPAY&ref2=r", cl.rawQuery, "in the keys' sorted order")
}

func TestQueryFieldsAreTrimmed(t *testing.T) {
	h := newHarness(t)
	h.respond(t, func(req *http.Request) (*http.Response, error) {
		assert.Equal(t, "account=1234567890&product=AKSB", req.URL.RawQuery)
		return jsonResponder(200, golden(t, "valid_aksb.json"))(req)
	})
	bill, err := h.c.BillPresentment(context.Background(), Query{Product: " AKSB\t", Account: "\u00a01234567890 \u200b"})
	require.NoError(t, err)
	assert.Equal(t, ActionShow, bill.Decision().Action, "a pasted account number with a stray space is the customer's")

	for q, code := range map[Query]QueryCode{
		{Product: "AKSB"}:                                                                   QueryRequired,
		{Product: "AKSB", Account: "12\u200b34"}:                                            QueryBadCharacter,
		{Product: "JOMPAY", Account: "1"}:                                                   QueryJomPAYRequired,
		{Product: "TNB", Account: "1", Ref2: "x"}:                                           QueryJomPAYOnly,
		{Product: "JOMPAY", Account: "1", BillerCode: "5454", Amount: "1.234"}:              QueryBadAmount,
		{Product: "JOMPAY", Account: "1", BillerCode: "5454", Amount: "100000000000000000"}: QueryAmountTooLarge,
	} {
		var qe *QueryError
		require.ErrorAs(t, q.Validate(), &qe, "%+v", q)
		assert.Equal(t, code, qe.Code, "%+v", q)
	}
}
