package iimmpact

import (
	"encoding/json"
	"math"
	"strconv"
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
		{"4.594e1", 4594, nil},
		{"4594E-2", 4594, nil},
		{"1e2", 10000, nil},
		{"100e-3", 10, nil},
		{"0e999999999", 0, nil},
		{" 12.00 ", 1200, nil},
		{"90071992547409.93", 9007199254740993, nil},
		{"92233720368547758.07", math.MaxInt64, nil},
		{"-92233720368547758.07", -math.MaxInt64, nil},
		{"92233720368547758.08", 0, ErrAmountRange},
		{"1e999999", 0, ErrAmountRange},
		{"1e17", 0, ErrAmountRange},
		{"45.945", 0, ErrAmountPrecision},
		{"1e-3", 0, ErrAmountPrecision},
		{"1e-99999999999", 0, ErrAmountPrecision},
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
			assert.True(t, a.Valid())
		})
	}
}

func TestAmountJSON(t *testing.T) {
	tests := []struct {
		json  string
		state Presence
		sen   int64
		text  string
	}{
		{`45.94`, Present, 4594, "45.94"},
		{`"45.94"`, Present, 4594, "45.94"},
		{`" 8.00 "`, Present, 800, "8.00"},
		{`0`, Present, 0, "0.00"},
		{`-0.5`, Present, -50, "-0.50"},
		{`null`, Null, 0, ""},
		{`""`, Null, 0, ""},
		{`90071992547409.93`, Present, 9007199254740993, "90071992547409.93"},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			var a Amount
			require.NoError(t, json.Unmarshal([]byte(tt.json), &a))
			assert.Equal(t, tt.state, a.State())
			assert.Equal(t, tt.sen, a.Sen())
			assert.Equal(t, tt.text, a.String())
			out, err := json.Marshal(a)
			require.NoError(t, err)
			if a.Valid() {
				assert.Equal(t, tt.text, string(out))
			} else {
				assert.Equal(t, "null", string(out))
			}
		})
	}
	var a Amount
	for _, bad := range []string{`true`, `{}`, `[]`, `"abc"`, `1.001`} {
		assert.Error(t, json.Unmarshal([]byte(bad), &a), bad)
	}
}

func TestAmountFormatting(t *testing.T) {
	assert.Equal(t, "RM 45.94", AmountFromSen(4594).Ringgit())
	assert.Equal(t, "RM -0.05", AmountFromSen(-5).Ringgit())
	assert.Equal(t, "-92233720368547758.08", AmountFromSen(math.MinInt64).String())
	assert.Equal(t, "", Amount{}.Ringgit())
	for _, sen := range []int64{0, 1, 99, 100, 4594, -4594, math.MaxInt64, math.MinInt64 + 1} {
		back, err := ParseAmount(AmountFromSen(sen).String())
		require.NoError(t, err)
		assert.Equal(t, sen, back.Sen(), strconv.FormatInt(sen, 10))
	}
}
