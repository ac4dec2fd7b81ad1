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
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func noEnv(string) string { return "" }

func runBillcheck(getenv func(string) string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut, getenv)
	return code, out.String(), errOut.String()
}

func TestSandboxSamples(t *testing.T) {
	want := map[string]string{
		"1234567890":   "Decision: SHOW",
		"220012345678": "Decision: SHOW",
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
			code, out, errOut := runBillcheck(noEnv, args...)
			assert.Equal(t, 0, code, errOut)
			assert.Contains(t, out, want[s.Account])
			assert.Contains(t, errOut, "built-in sandbox")
		})
	}
}

func TestCardShowsOnlyReturnedFields(t *testing.T) {
	code, out, _ := runBillcheck(noEnv, "-product", "AKSB", "-account", "1234567890")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "Outstanding amount  RM 45.94")
	assert.NotContains(t, out, "Balance", "the API sent Balance blank")
	assert.NotContains(t, out, "E-bill", "the API sent E-Bill null")
}

func TestJSONOutput(t *testing.T) {
	code, out, _ := runBillcheck(noEnv, "-json", "-product", "JOMPAY", "-account", "8800123456", "-biller-code", "5454")
	require.Equal(t, 0, code)
	var got struct {
		Action     string           `json:"action"`
		CanProceed bool             `json:"can_proceed"`
		Message    string           `json:"message"`
		Fields     []iimmpact.Field `json:"fields"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, "block", got.Action)
	assert.False(t, got.CanProceed)
	assert.Equal(t, iimmpacttest.MsgRef2Required, got.Message)
	assert.NotNil(t, got.Fields)
	assert.Empty(t, got.Fields)

	code, out, _ = runBillcheck(noEnv, "-json", "-product", "AKSB", "-account", "1234567890")
	require.Equal(t, 0, code)
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, "show", got.Action)
	assert.Equal(t, iimmpact.Field{Key: "outstanding", Label: "Outstanding amount", Value: "RM 45.94"}, got.Fields[2])
}

func TestBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{}, "-account is required"},
		{[]string{"-account", "1"}, "-product is required"},
		{[]string{"-product", "JOMPAY", "-account", "1"}, "-biller-code is required when product is JOMPAY"},
		{[]string{"-product", "AKSB", "-account", "1", "-ref2", "x"}, "-ref2 is only used when product is JOMPAY"},
		{[]string{"-product", "JOMPAY", "-account", "1", "-biller-code", "1", "-amount", "1.234"}, "-amount must be a positive decimal"},
		{[]string{"-product", "AKSB", "-account", "1", "-timeout", "0s"}, "-timeout must be positive"},
		{[]string{"-product", "AKSB", "1234"}, `unexpected argument "1234"`},
		{[]string{"-nope"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		code, out, errOut := runBillcheck(noEnv, tt.args...)
		assert.Equal(t, 2, code, "%v", tt.args)
		assert.Empty(t, out)
		assert.Contains(t, errOut, tt.msg)
	}
}

func TestList(t *testing.T) {
	code, out, _ := runBillcheck(noEnv, "-list")
	assert.Equal(t, 0, code)
	for _, s := range iimmpacttest.Samples() {
		assert.Contains(t, out, s.Account)
	}
}

func TestRealAPIModeAndSDKError(t *testing.T) {
	srv := iimmpacttest.Start(t)
	env := map[string]string{
		iimmpact.EnvAPIKey:     srv.APIKey,
		iimmpact.EnvHMACSecret: srv.HMACSecret,
		iimmpact.EnvBaseURL:    srv.URL,
	}
	code, out, errOut := runBillcheck(func(k string) string { return env[k] }, "-product", "TNB", "-account", "220012345678")
	assert.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "Tenaga Nasional Berhad")
	assert.NotContains(t, errOut, "sandbox")
	assert.Len(t, srv.Requests(), 1, "the configured server was called")

	env[iimmpact.EnvHMACSecret] = "d3Jvbmctc2VjcmV0" // a valid secret the server does not know
	code, out, errOut = runBillcheck(func(k string) string { return env[k] }, "-json", "-product", "TNB", "-account", "220012345678")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "401")
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, "hide", got["action"], "an error fails open")
	assert.Equal(t, true, got["can_proceed"])
	assert.NotContains(t, out+errOut, "d3Jvbmctc2VjcmV0")
	assert.NotContains(t, out+errOut, srv.APIKey)
}
