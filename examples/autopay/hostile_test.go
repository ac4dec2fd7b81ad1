package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact/examples/internal/jobfile"
	"github.com/iimmpact-go/iimmpact/examples/internal/signalfront"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

// The tests of autopay as a hostile or careless operator meets it: files
// edited by hand, runs that overlap, signals while calls wait for the quota.

// editResults rewrites the results file's lines through edit.
func editResults(t *testing.T, path string, edit func(r map[string]any) map[string]any) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var out bytes.Buffer
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var r map[string]any
		require.NoError(t, json.Unmarshal(line, &r))
		if r = edit(r); r != nil {
			b, _ := json.Marshal(r)
			out.Write(append(b, '\n'))
		}
	}
	require.NoError(t, os.WriteFile(path, out.Bytes(), 0o600))
}

// topupRefIDs returns the refid and account of every payment request the
// sandbox received.
func topupRefIDs(t *testing.T, srv *iimmpacttest.Server) [][2]string {
	var out [][2]string
	for _, r := range srv.Requests() {
		if r.Path != "/v2/topup" {
			continue
		}
		var body struct{ RefID, Account string }
		require.NoError(t, json.Unmarshal(r.Body, &body))
		out = append(out, [2]string{body.RefID, body.Account})
	}
	return out
}

func TestOverlappingRunsAreRefused(t *testing.T) {
	srv := sandboxEnv(t)
	in := writeFile(t, header+"a,AKSB,1234567890,,,,100.00,\n")
	out := filepath.Join(t.TempDir(), "r.jsonl")
	held, _, err := jobfile.OpenResults(out, nil) // the run still going
	require.NoError(t, err)
	code, stderr := runAutopay(t, "-instructions", in, "-out", out)
	assert.Equal(t, exitAgain, code, stderr)
	assert.Contains(t, stderr, "another autopay run has it")
	assert.Empty(t, srv.Requests(), "nothing is sent")
	require.NoError(t, held.Close())

	code, stderr = runAutopay(t, "-instructions", in, "-out", out)
	assert.Equal(t, exitOK, code, stderr)
}

// Under a tight quota every payment waits for its slot: none is refused.
func TestPaymentsArePacedNotRefused(t *testing.T) {
	srv := sandboxEnv(t)
	var csv strings.Builder
	csv.WriteString(header)
	for i := range 8 {
		csv.WriteString("i" + string(rune('a'+i)) + ",DIGI,01234567" + string(rune('0'+i)) + "0,,,,50.00,5.00\n")
	}
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, stderr := runAutopay(t, "-instructions", writeFile(t, csv.String()), "-out", out, "-quota", "5/300ms", "-workers", "4")
	require.Equal(t, exitOK, code, stderr)
	last, _ := states(t, out)
	for id, r := range last {
		assert.Equal(t, statusPaid, r.Status, id)
	}
	assert.Equal(t, 8, srv.Payments())
}

// After the signal nothing new is sent: calls waiting for a quota slot end
// at once; only the requests already written finish.
func TestSignalSendsNothingNew(t *testing.T) {
	f := signalfront.Start(t, 3)
	var csv strings.Builder
	csv.WriteString(header)
	for i := range 6 {
		csv.WriteString("i" + string(rune('a'+i)) + ",AKSB,1234567890,,,,100.00,\n")
	}
	out := filepath.Join(t.TempDir(), "r.jsonl")
	var stdout, stderr bytes.Buffer
	code := run(f.Signalled, []string{"-instructions", writeFile(t, csv.String()), "-out", out, "-workers", "4", "-quota", "3/200ms", "-grace", "5s"},
		strings.NewReader(""), &stdout, &stderr)
	assert.Equal(t, exitAgain, code, stderr.String())
	assert.Zero(t, f.After(), "no request arrives after the signal")
	assert.Equal(t, 3, f.Arrivals())
	assert.Zero(t, f.Sandbox.Payments())
}

// A pending line whose refid was edited to another instruction's is never
// asked about under it: that instruction is held, the other paid under its
// own refid.
func TestAnEditedRefIDIsNeverSent(t *testing.T) {
	srv := sandboxEnv(t)
	srv.SetPaymentSteps(2)
	in := writeFile(t, header+"a,AKSB,1234567890,,,,100.00,\nb,DIGI,0123456789,,,,50.00,30.00\n")
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, _ := runAutopay(t, "-instructions", in, "-out", out, "-period", "2026-12", "-wait", "0")
	require.Equal(t, exitAgain, code)
	editResults(t, out, func(r map[string]any) map[string]any {
		if r["id"] == "a" && r["refid"] != nil {
			r["refid"] = "b-202612-1"
		}
		return r
	})
	srv.SetPaymentSteps(0)
	srv.ResetRequests()
	for range 2 {
		code, stderr := runAutopay(t, "-instructions", in, "-out", out, "-period", "2026-12", "-wait", "0")
		assert.Equal(t, exitAgain, code, stderr)
		assert.Contains(t, stderr, `instruction a is held`)
		assert.Contains(t, stderr, `not the instruction's own "a-202612-1"`)
	}
	for _, sent := range topupRefIDs(t, srv) {
		assert.Equal(t, [2]string{"b-202612-1", "0123456789"}, sent, "only b's own payment is asked about")
	}
	last, _ := states(t, out)
	assert.Equal(t, statusPaid, last["b"].Status)
	assert.Equal(t, 2, srv.Payments(), "no refid is made up")
}

// An instruction edited while its payment is pending is held: its new
// account, never presented, is never paid.
func TestAChangedInstructionIsHeldNotPaid(t *testing.T) {
	srv := sandboxEnv(t)
	srv.SetPaymentSteps(2)
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, _ := runAutopay(t, "-instructions", writeFile(t, header+"m,DIGI,0123456789,,,,50.00,10.00\n"), "-out", out, "-wait", "0")
	require.Equal(t, exitAgain, code)
	edited := writeFile(t, header+"m,DIGI,0123456788,,,,50.00,10.00\n")
	code, stderr := runAutopay(t, "-instructions", edited, "-out", out, "-wait", "0")
	assert.Equal(t, exitAgain, code, stderr)
	assert.Contains(t, stderr, "instruction m is held")
	assert.Contains(t, stderr, "no longer makes that payment")
	assert.Zero(t, srv.Charges("0123456788"), "the edited account is never paid")
	for _, sent := range topupRefIDs(t, srv) {
		assert.Equal(t, "0123456789", sent[1])
	}
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.NotContains(t, string(data), "0123456789", "the fingerprint holds no account in clear")
}

// A line autopay cannot trust is never a final state.
func TestALineItCannotReadIsNeverFinal(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(r map[string]any) map[string]any
		exit int
	}{
		{"an unknown status", func(r map[string]any) map[string]any { r["status"] = "queued"; return r }, exitAgain},
		{"no status", func(r map[string]any) map[string]any { delete(r, "status"); return r }, exitAgain},
		{"an attempt out of range", func(r map[string]any) map[string]any { r["attempt"] = 12; return r }, exitAgain},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := sandboxEnv(t)
			in := writeFile(t, header+"q,DIGI,0123456789,,,,50.00,10.00\n")
			out := filepath.Join(t.TempDir(), "r.jsonl")
			require.NoError(t, os.WriteFile(out, []byte(`{"id":"q","period":"2026-12","refid":"q-202612-1","attempt":1,"status":"pending","amount_sen":1000,"time":"x"}`+"\n"), 0o600))
			editResults(t, out, tt.edit)
			code, stderr := runAutopay(t, "-instructions", in, "-out", out, "-period", "2026-12")
			assert.Equal(t, tt.exit, code, stderr)
			assert.Contains(t, stderr, "instruction q is held")
			assert.Zero(t, srv.Payments(), "nothing is paid for it")
		})
	}
	srv := sandboxEnv(t)
	out := filepath.Join(t.TempDir(), "r.jsonl")
	require.NoError(t, os.WriteFile(out, []byte(`{"id":"ovx2","per{"id":"q","period":"2026-12","status":"paid","amount_sen":1000,"time":"x"}`+"\n"), 0o600))
	code, stderr := runAutopay(t, "-instructions", writeFile(t, header+"q,DIGI,0123456789,,,,50.00,10.00\n"), "-out", out, "-period", "2026-12")
	assert.Equal(t, exitUsage, code, stderr)
	assert.Contains(t, stderr, "line 1 is not a record autopay wrote")
	assert.Empty(t, srv.Requests())
}

// An instruction removed while its payment is pending is named, and the
// period is not done.
func TestARemovedInstructionWithAPendingPaymentIsNamed(t *testing.T) {
	srv := sandboxEnv(t)
	srv.SetPaymentSteps(2)
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, _ := runAutopay(t, "-instructions", writeFile(t, header+"gone,DIGI,0123456789,,,,50.00,10.00\nstay,AKSB,1234567890,,,,100.00,\n"), "-out", out, "-wait", "0")
	require.Equal(t, exitAgain, code)
	srv.SetPaymentSteps(0)
	code, stderr := runAutopay(t, "-instructions", writeFile(t, header+"stay,AKSB,1234567890,,,,100.00,\n"), "-out", out, "-wait", "0")
	assert.Equal(t, exitAgain, code, stderr)
	assert.Contains(t, stderr, "instruction gone is no longer in")
	assert.Contains(t, stderr, "gone-"+strings.ReplaceAll(periodOf(timeNow()), "-", "")+"-1")
}

// Nothing owed, a credit included, is nothing_due, fixed amount or not.
func TestACreditIsNothingDue(t *testing.T) {
	srv := sandboxEnv(t)
	srv.Set("SYABAS", "3000000002", iimmpacttest.ValidBill(iimmpacttest.Data{"BillerName": "Air Selangor", "Outstanding": json.Number("-12.50")}))
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, stderr := runAutopay(t, "-instructions", writeFile(t, header+"credit,SYABAS,3000000002,,,,50.00,30.00\n"), "-out", out)
	assert.Equal(t, exitOK, code, stderr)
	last, _ := states(t, out)
	assert.Equal(t, statusNothingDue, last["credit"].Status)
	assert.Contains(t, last["credit"].Reason, "credit of RM 12.50")
	assert.Zero(t, srv.Payments())
}

// Code 43 as a 200 Failed is the wallet: the run stops (exit 5) and the run
// after the top-up pays, under the next attempt's refid.
func TestAWalletFailureIsPaidAfterTheTopUp(t *testing.T) {
	srv := sandboxEnv(t)
	failed := `{"data":{"status":"Failed","statusCode":43,"refid":"w-202612-1","account":"0123456789","product":"DIGI","amount":10.00}}`
	srv.FailTimes("DIGI", "0123456789", 1, iimmpacttest.Unavailable()) // the bill presentment, as DIGI answers it
	srv.FailTimes("DIGI", "0123456789", 1, iimmpacttest.Raw(http.StatusOK, nil, failed))
	in := writeFile(t, header+"w,DIGI,0123456789,,,,50.00,10.00\n")
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, stderr := runAutopay(t, "-instructions", in, "-out", out, "-period", "2026-12")
	assert.Equal(t, exitWallet, code, stderr)
	code, stderr = runAutopay(t, "-instructions", in, "-out", out, "-period", "2026-12")
	assert.Equal(t, exitOK, code, stderr)
	last, _ := states(t, out)
	assert.Equal(t, statusPaid, last["w"].Status)
	assert.Equal(t, "w-202612-2", last["w"].RefID)
	assert.Equal(t, 1, srv.Charges("0123456789"))
}

// A block message that quotes the account is never written in clear.
func TestABlockMessageNeverWritesTheAccount(t *testing.T) {
	srv := sandboxEnv(t)
	srv.Set("AKSB", "1234567899", iimmpacttest.InvalidAccount("Invalid account no 1234567899 for AKSB"))
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, stderr := runAutopay(t, "-instructions", writeFile(t, header+"x,AKSB,1234567899,,,,100.00,\n"), "-out", out)
	assert.Equal(t, exitOK, code, stderr)
	last, _ := states(t, out)
	assert.Equal(t, statusInvalidAccount, last["x"].Status)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.NotContains(t, string(data), "1234567899")
	assert.NotContains(t, string(data), "234567")
}

// An IP blocked from the first request exits 4, not 3.
func TestBlockedFromTheFirstRequest(t *testing.T) {
	srv := sandboxEnv(t, iimmpacttest.WithRateLimit(1, timeHour, timeHour))
	_, _ = srv.Client.Balance(context.Background()) // the IP's one request
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, stderr := runAutopay(t, "-instructions", writeFile(t, header+"a,AKSB,1234567890,,,,100.00,\n"), "-out", out)
	assert.Equal(t, exitBlocked, code, stderr)
}
