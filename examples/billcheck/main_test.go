package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/examples/internal/cli"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env sets the three IIMMPACT_ variables for the test; nil means none.
func env(t *testing.T, vars map[string]string) {
	for _, k := range []string{"IIMMPACT_API_KEY", "IIMMPACT_HMAC_SECRET", "IIMMPACT_BASE_URL"} {
		t.Setenv(k, vars[k])
	}
}

func runBillcheck(t *testing.T, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestSandboxSamples(t *testing.T) {
	env(t, nil)
	want := map[string]string{
		"1234567890":   "Decision: SHOW",
		"220012345678": "Decision: SHOW",
		"220000000000": "Decision: SHOW",
		"8800123456":   "Decision: SHOW",
		"0123456789":   "Decision: HIDE",
		"3000000001":   "Decision: HIDE",
		"0000000000":   "Decision: BLOCK",
	}
	for _, s := range iimmpacttest.Samples() {
		t.Run(s.Product+" "+s.Account, func(t *testing.T) {
			args := []string{"-product", s.Product, "-account", s.Account}
			if s.BillerCode != "" {
				args = append(args, "-biller-code", s.BillerCode, "-ref2", s.Ref2)
			}
			code, out, errOut := runBillcheck(t, args...)
			assert.Equal(t, 0, code, errOut)
			assert.Contains(t, out, want[s.Account])
			assert.Contains(t, errOut, "built-in sandbox")
		})
	}
}

func TestCardShowsOnlyReturnedFields(t *testing.T) {
	env(t, nil)
	code, out, _ := runBillcheck(t, "-product", "AKSB", "-account", "1234567890")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "Outstanding amount  RM 45.94")
	assert.NotContains(t, out, "Balance", "the API sent Balance blank")
	assert.NotContains(t, out, "E-bill", "the API sent E-Bill null")
}

func TestJSONOutput(t *testing.T) {
	env(t, nil)
	code, out, _ := runBillcheck(t, "-json", "-product", "JOMPAY", "-account", "8800123456", "-biller-code", "5454")
	require.Equal(t, 0, code)
	var got struct {
		Action     string           `json:"action"`
		CanProceed bool             `json:"can_proceed"`
		Message    string           `json:"message"`
		Reason     string           `json:"reason"`
		Fields     []iimmpact.Field `json:"fields"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, "block", got.Action)
	assert.Equal(t, "invalid_account", got.Reason)
	assert.False(t, got.CanProceed)
	assert.Equal(t, iimmpacttest.MsgRef2Required, got.Message)
	assert.NotNil(t, got.Fields)
	assert.Empty(t, got.Fields)

	code, out, _ = runBillcheck(t, "-json", "-product", "AKSB", "-account", "1234567890")
	require.Equal(t, 0, code)
	var show struct {
		Action         string           `json:"action"`
		OutstandingSen int64            `json:"outstanding_sen"`
		DueDate        string           `json:"due_date"`
		Fields         []iimmpact.Field `json:"fields"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &show))
	assert.Equal(t, "show", show.Action)
	assert.Equal(t, int64(4594), show.OutstandingSen, "the amount for a script, in sen")
	assert.Equal(t, "2025-06-13", show.DueDate)
	assert.Equal(t, iimmpact.Field{Key: "outstanding", Label: "Outstanding amount", Value: "RM 45.94"}, show.Fields[2])
}

func TestBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{}, "usage: billcheck"},
		{[]string{"-product", "AKSB"}, "-account is required"},
		{[]string{"-account", "1"}, "-product is required"},
		{[]string{"-product", "JOMPAY", "-account", "1"}, "-biller-code is required when product is JOMPAY"},
		{[]string{"-product", "JOMPAY", "-account", "1"}, "try: billcheck -product JOMPAY -account 8800123456 -biller-code 5454"},
		{[]string{"-product", "AKSB", "-account", "1", "-lang", "fr"}, "-lang must be en or ms"},
		{[]string{"-product", "AKSB", "-account", "1", "-ref2", "x"}, "-ref2 is only used when product is JOMPAY"},
		{[]string{"-product", "JOMPAY", "-account", "1", "-biller-code", "1", "-amount", "1.234"}, "-amount must be a positive decimal"},
		{[]string{"-product", "AKSB", "-account", "1", "-timeout", "0s"}, "-timeout must be positive"},
		{[]string{"-product", "AKSB", "1234"}, `unexpected argument "1234"`},
		{[]string{"-nope"}, "flag provided but not defined"},
	}
	env(t, nil)
	for _, tt := range tests {
		code, out, errOut := runBillcheck(t, tt.args...)
		assert.Equal(t, 2, code, "%v", tt.args)
		assert.Empty(t, out)
		assert.Contains(t, errOut, tt.msg)
	}
}

func TestList(t *testing.T) {
	env(t, nil)
	code, out, _ := runBillcheck(t, "-list")
	assert.Equal(t, 0, code)
	for _, s := range iimmpacttest.Samples() {
		assert.Contains(t, out, s.Account)
	}
}

func TestRealAPIModeAndSDKError(t *testing.T) {
	srv := iimmpacttest.Start(t)
	vars := map[string]string{
		"IIMMPACT_API_KEY":     srv.APIKey,
		"IIMMPACT_HMAC_SECRET": srv.HMACSecret,
		"IIMMPACT_BASE_URL":    srv.URL,
	}
	env(t, vars)
	code, out, errOut := runBillcheck(t, "-product", "TNB", "-account", "220012345678")
	assert.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "Tenaga Nasional Berhad")
	assert.NotContains(t, errOut, "sandbox")
	assert.Len(t, srv.Requests(), 1, "the configured server was called")

	vars["IIMMPACT_HMAC_SECRET"] = "d3Jvbmctc2VjcmV0" // a valid secret the server does not know
	env(t, vars)
	code, out, errOut = runBillcheck(t, "-json", "-product", "TNB", "-account", "220012345678")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "401")
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, "hide", got["action"], "an error fails open")
	assert.Equal(t, "error", got["reason"])
	assert.Equal(t, true, got["can_proceed"])
	assert.NotContains(t, out+errOut, "d3Jvbmctc2VjcmV0")
	assert.NotContains(t, out+errOut, srv.APIKey)
}

func TestIncompleteEnvironmentNeverFallsBackToTheSandbox(t *testing.T) {
	tests := []struct {
		vars map[string]string
		msg  string
	}{
		{map[string]string{"IIMMPACT_API_KEY": "iimm_dev_x"}, "IIMMPACT_HMAC_SECRET is not set"},
		{map[string]string{"IIMMPACT_HMAC_SECRET": "c2VjcmV0"}, "IIMMPACT_API_KEY is not set"},
		{map[string]string{"IIMMPACT_BASE_URL": "https://staging.iimmpact.com"}, "IIMMPACT_API_KEY is not set"},
		{map[string]string{"IIMMPACT_API_KEY": "iimm_dev_x", "IIMMPACT_HMAC_SECRET": "not base64!"}, "IIMMPACT_HMAC_SECRET: HMAC secret is not valid Base64"},
		{map[string]string{"IIMMPACT_API_KEY": "iimm_dev_x", "IIMMPACT_HMAC_SECRET": "c2VjcmV0", "IIMMPACT_BASE_URL": "http://example.com"}, "IIMMPACT_BASE_URL: plain http is allowed only for loopback hosts"},
	}
	for _, tt := range tests {
		env(t, tt.vars)
		code, out, errOut := runBillcheck(t, "-product", "AKSB", "-account", "1234567890")
		assert.Equal(t, 2, code, tt.msg)
		assert.Contains(t, errOut, tt.msg)
		assert.Contains(t, errOut, "or none of the three to use the built-in sandbox")
		assert.Empty(t, out, "no fake bill")
		assert.NotContains(t, errOut, "not base64!")
	}
}

func TestHelpListsEverything(t *testing.T) {
	env(t, nil)
	code, out, errOut := runBillcheck(t, "-h")
	assert.Equal(t, 0, code)
	assert.Empty(t, out)
	for _, want := range []string{"-product", "-account", "-biller-code", "-ref2", "-amount", "-json", "-lang", "-list", "-timeout",
		"IIMMPACT_API_KEY", "IIMMPACT_HMAC_SECRET", "IIMMPACT_BASE_URL", "built-in sandbox", cli.ExitTable, "0, a decision", "1, a call failed",
		"-batch", "-out", "-workers", "-quota", "Resume", "SIGTERM", "3, -batch stopped", "cron", "go -C examples build -o"} {
		assert.Contains(t, errOut, want)
	}
	code, _, noArgs := runBillcheck(t)
	assert.Equal(t, 2, code)
	assert.Equal(t, errOut, noArgs, "no arguments prints the same usage")
}

func TestMalayLabels(t *testing.T) {
	env(t, nil)
	code, out, _ := runBillcheck(t, "-lang", "ms", "-product", "TNB", "-account", "220012345678")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "Keputusan: PAPARKAN bil")
	assert.Contains(t, out, "Jumlah tertunggak     RM 120.50")
	assert.Contains(t, out, "Maklumat tambahan")
	assert.Contains(t, out, "Tariff: A (domestic) · Meter: M-0042 · kWh: 533", "an object reads as text, not JSON")
	assert.NotContains(t, out, "{")

	code, out, _ = runBillcheck(t, "-product", "DIGI", "-account", "0123456789")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "This biller does not offer bill details.", "a hide says why, in a sentence")
	assert.NotContains(t, out, "unavailable", "not in the metrics' words")

	code, out, _ = runBillcheck(t, "-lang", "ms", "-product", "SYABAS", "-account", "3000000001")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "Keputusan: SEMBUNYIKAN butiran bil")
	assert.Contains(t, out, "Biller tidak dapat dihubungi buat masa ini.")
}
