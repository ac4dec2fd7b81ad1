package iimmpact

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in   string
		sen  int64
		want error
	}{
		{"45.94", 4594, nil},
		{"45.9", 4590, nil},
		{"45", 4500, nil},
		{"0", 0, nil},
		{"-0", 0, nil},
		{"0.05", 5, nil},
		{"-12.30", -1230, nil},
		{"007.10", 710, nil},
		{"45.940000", 4594, nil},
		{"4.594e1", 0, ErrAmountSyntax}, // no ringgit amount needs an exponent
		{"4594E-2", 0, ErrAmountSyntax},
		{"1e2", 0, ErrAmountSyntax},
		{"0e999999999", 0, ErrAmountSyntax},
		{"100000000000000000", 0, ErrAmountRange},
		{"00000000000000000000000001.50", 150, nil},
		{" 12.00 ", 1200, nil},
		{"90071992547409.93", 9007199254740993, nil},
		{"92233720368547758.07", math.MaxInt64, nil},
		{"-92233720368547758.07", -math.MaxInt64, nil},
		{"92233720368547758.08", 0, ErrAmountRange},
		{"45.945", 0, ErrAmountPrecision},
		{"45.9400001", 0, ErrAmountPrecision},
		{"", 0, ErrAmountSyntax},
		{"abc", 0, ErrAmountSyntax},
		{"1.", 0, ErrAmountSyntax},
		{".5", 0, ErrAmountSyntax},
		{"+1", 0, ErrAmountSyntax},
		{"1,000.00", 0, ErrAmountSyntax},
		{"RM 5", 0, ErrAmountSyntax},
		{"1e", 0, ErrAmountSyntax},
		{"1e+", 0, ErrAmountSyntax},
		{"--1", 0, ErrAmountSyntax},
		{"NaN", 0, ErrAmountSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, err := ParseAmount(tt.in)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.sen, a.Sen())
			assert.Equal(t, Returned, a.State())
		})
	}
}

// billWith decodes a valid-account body whose data has key set to the JSON member.
func billWith(t *testing.T, key, member string) *Bill {
	t.Helper()
	body := `{"data":{"message":"Account no is valid"`
	if key != "" {
		body += `,"` + key + `":` + member
	}
	bill, err := DecodeBill([]byte(body + `}}`))
	require.NoError(t, err, body)
	return bill
}

func TestAmountJSON(t *testing.T) {
	tests := []struct {
		json  string
		state Presence
		sen   int64
		text  string
	}{
		{`45.94`, Returned, 4594, "45.94"},
		{`"45.94"`, Returned, 4594, "45.94"},
		{`" 8.00 "`, Returned, 800, "8.00"},
		{`0`, Returned, 0, "0.00"},
		{`-0.5`, Returned, -50, "-0.50"},
		{`null`, Null, 0, ""},
		{`""`, Blank, 0, ""},
		{`"  "`, Blank, 0, ""},
		{`90071992547409.93`, Returned, 9007199254740993, "90071992547409.93"},
		{`true`, Unreadable, 0, ""},
		{`{}`, Unreadable, 0, ""},
		{`[]`, Unreadable, 0, ""},
		{`"abc"`, Unreadable, 0, ""},
		{`"-"`, Unreadable, 0, ""},
		{`1.001`, Unreadable, 0, ""},
		{`0.001`, Unreadable, 0, ""},
		{`1e400`, Unreadable, 0, ""},
		{`"0.` + strings.Repeat("0", 100_000) + `1e1000000500"`, Unreadable, 0, ""},
		{`0.` + strings.Repeat("0", 100_000) + `1e100003`, Unreadable, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.json[:min(len(tt.json), 20)], func(t *testing.T) {
			bill := billWith(t, "Outstanding", tt.json)
			a := bill.Data.Outstanding
			assert.Equal(t, tt.state, a.State())
			assert.Equal(t, tt.sen, a.Sen())
			assert.Equal(t, tt.text, a.String())
			assert.Equal(t, tt.json, string(a.Raw()), "the JSON as sent stays reachable")
			if tt.state == Unreadable {
				assert.Equal(t, []string{"data.Outstanding"}, bill.Unreadable())
				assert.Equal(t, ActionShow, bill.Decision().Action, "an odd amount never changes the decision")
				for _, f := range bill.Fields() {
					assert.NotEqual(t, "outstanding", f.Key)
				}
			}
		})
	}
}

func TestAmountFormatting(t *testing.T) {
	sen := func(n int64) Amount { return Amount{value: value{state: Returned}, sen: n} }
	assert.Equal(t, "RM 45.94", sen(4594).Ringgit())
	assert.Equal(t, "RM -0.05", sen(-5).Ringgit())
	assert.Equal(t, "-92233720368547758.08", sen(math.MinInt64).String())
	assert.Equal(t, "", Amount{}.Ringgit())
	for _, n := range []int64{0, 1, 99, 100, 4594, -4594, math.MaxInt64, math.MinInt64 + 1} {
		back, err := ParseAmount(sen(n).String())
		require.NoError(t, err)
		assert.Equal(t, n, back.Sen(), strconv.FormatInt(n, 10))
		out, err := json.Marshal(back)
		require.NoError(t, err)
		assert.Equal(t, sen(n).String(), string(out))
	}
}
