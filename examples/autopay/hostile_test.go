package main

import (
	"bytes"
	"context"
	"database/sql"
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

// The tests of autopay as a hostile or careless operator meets it: files and
// rows edited by hand, runs that overlap, signals while calls wait for the
// quota.

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

// The report is never read back: a report edited by hand, to another
// instruction's refid or into lines that are not records at all, changes
// nothing; the ledger says what is pending, and each payment is asked about
// under its own refid.
func TestTheReportIsNeverRead(t *testing.T) {
	srv := sandboxEnv(t)
	srv.SetPaymentSteps(2)
	in := writeFile(t, header+"a,AKSB,1234567890,,,,100.00,\nb,DIGI,0123456789,,,,50.00,30.00\n")
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, _ := runAutopay(t, "-instructions", in, "-out", out, "-period", "2026-12", "-wait", "0")
	require.Equal(t, exitAgain, code)
	editResults(t, out, func(r map[string]any) map[string]any {
		if r["id"] == "a" {
			r["refid"], r["status"] = "b-202612-1", "paid"
		}
		return r
	})
	f, err := os.OpenFile(out, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("{\"id\":\"ovx2\",\"per{\"id\"\nnot json at all\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	srv.ResetRequests()
	code, stderr := runUntilDone(t, "-instructions", in, "-out", out, "-period", "2026-12", "-wait", "0")
	assert.Equal(t, exitOK, code, stderr)
	for _, sent := range topupRefIDs(t, srv) {
		assert.Contains(t, [][2]string{{"a-202612-1", "1234567890"}, {"b-202612-1", "0123456789"}}, sent,
			"each pending payment asked about under its own refid, with its own account")
	}
	last := ledgerStates(t, ledgerURL("", out), "2026-12")
	assert.Equal(t, statusPaid, last["a"].Status)
	assert.Equal(t, statusPaid, last["b"].Status)
	assert.Equal(t, 2, srv.Payments(), "no refid is made up")
	assert.Equal(t, 1, srv.Charges("1234567890"))
}

// An instruction edited while its payment is pending: the payment is asked
// about as it was sent (the ledger's record of it), and the edited account,
// never presented, is never paid.
func TestAChangedInstructionIsAskedAboutAsItWasSent(t *testing.T) {
	srv := sandboxEnv(t)
	srv.SetPaymentSteps(2)
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, _ := runAutopay(t, "-instructions", writeFile(t, header+"m,DIGI,0123456789,,,,50.00,10.00\n"), "-out", out, "-wait", "0")
	require.Equal(t, exitAgain, code)
	edited := writeFile(t, header+"m,DIGI,0123456788,,,,50.00,20.00\n")
	code, stderr := runUntilDone(t, "-instructions", edited, "-out", out, "-wait", "0")
	assert.Equal(t, exitOK, code, stderr)
	assert.Zero(t, srv.Charges("0123456788"), "the edited account is never paid")
	assert.Equal(t, 1, srv.Charges("0123456789"))
	for _, sent := range topupRefIDs(t, srv) {
		assert.Equal(t, "0123456789", sent[1])
	}
	last, _ := states(t, out)
	assert.Equal(t, statusPaid, last["m"].Status)
	assert.Equal(t, int64(1000), last["m"].AmountSen, "what was sent, not what the row says now")
}

// A JomPAY payment pending in a ledger without IIMMPACT_LEDGER_KEY cannot be
// rebuilt (its IC number and Ref-2 were not kept): it is asked about only
// while its row still makes that payment, and held otherwise. With the key,
// the ledger keeps them sealed, never in clear, and asks with them.
func TestAPendingJomPAYNeedsTheKeyOrItsRow(t *testing.T) {
	row := "tax,JOMPAY,8800123456,5454,PJ-2025-001,900101145678,400.00,\n"
	edited := "tax,JOMPAY,8800123456,5454,PJ-2025-001,900101145679,400.00,\n"
	for _, keyed := range []bool{false, true} {
		t.Run(map[bool]string{false: "no key", true: "key"}[keyed], func(t *testing.T) {
			if keyed {
				t.Setenv("IIMMPACT_LEDGER_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
			}
			srv := sandboxEnv(t)
			srv.SetPaymentSteps(2)
			out := filepath.Join(t.TempDir(), "r.jsonl")
			code, _ := runAutopay(t, "-instructions", writeFile(t, header+row), "-out", out, "-period", "2026-12", "-wait", "0")
			require.Equal(t, exitAgain, code)
			srv.ResetRequests()
			code, stderr := runUntilDone(t, "-instructions", writeFile(t, header+edited), "-out", out, "-period", "2026-12", "-wait", "0")
			if !keyed {
				assert.Equal(t, exitAgain, code, stderr)
				assert.Contains(t, stderr, "instruction tax is held")
				assert.Contains(t, stderr, "IIMMPACT_LEDGER_KEY")
				assert.Empty(t, topupRefIDs(t, srv), "not asked with another IC number")
				code, stderr = runUntilDone(t, "-instructions", writeFile(t, header+row), "-out", out, "-period", "2026-12", "-wait", "0")
			}
			assert.Equal(t, exitOK, code, stderr)
			assert.Equal(t, 1, srv.Charges("8800123456"))
			if url := ledgerURL("", out); strings.HasPrefix(url, "sqlite:") {
				data, err := os.ReadFile(strings.TrimPrefix(url, "sqlite:"))
				require.NoError(t, err)
				assert.NotContains(t, string(data), "900101145678", "no IC number in clear in the ledger")
				assert.NotContains(t, string(data), "PJ-2025-001", "nor Ref-2")
			}
		})
	}
}

// A ledger item autopay cannot trust (edited in the database by hand) is
// never a final state, and nothing is paid for it.
func TestAnItemItCannotTrustIsNeverFinal(t *testing.T) {
	for name, edit := range map[string]string{
		"an unknown status":       `UPDATE items SET state = 'queued'`,
		"an attempt out of range": `UPDATE items SET attempt = 12`,
		"another's refid":         `UPDATE items SET refid = 'other-202612-1'`,
	} {
		t.Run(name, func(t *testing.T) {
			srv := sandboxEnv(t)
			srv.SetPaymentSteps(2)
			in := writeFile(t, header+"q,DIGI,0123456789,,,,50.00,10.00\n")
			out := filepath.Join(t.TempDir(), "r.jsonl")
			code, _ := runAutopay(t, "-instructions", in, "-out", out, "-period", "2026-12", "-wait", "0")
			require.Equal(t, exitAgain, code)
			execLedger(t, ledgerURL("", out), edit)
			srv.ResetRequests()
			code, stderr := runAutopay(t, "-instructions", in, "-out", out, "-period", "2026-12")
			assert.Equal(t, exitAgain, code, stderr)
			assert.Contains(t, stderr, "instruction q is held")
			assert.Empty(t, topupRefIDs(t, srv), "nothing is sent for it")
		})
	}
}

// runUntilDone runs autopay up to four times, while it exits 3: the
// sandbox's payments pending in steps become final.
func runUntilDone(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var all strings.Builder
	for range 4 {
		code, stderr := runAutopay(t, args...)
		all.WriteString(stderr)
		if code != exitAgain {
			return code, all.String()
		}
	}
	return exitAgain, all.String()
}

// execLedger runs query on the ledger's database, as an operator would.
func execLedger(t *testing.T, url, query string) {
	t.Helper()
	driver, dsn := "pgx", url
	if path, ok := strings.CutPrefix(url, "sqlite:"); ok {
		driver, dsn = "sqlite", path
	}
	db, err := sql.Open(driver, dsn)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(query)
	require.NoError(t, err)
}

// An instruction removed while its payment is pending is named, and its
// payment asked about as it was sent: the period ends when it is final.
func TestARemovedInstructionWithAPendingPaymentIsAskedAbout(t *testing.T) {
	srv := sandboxEnv(t)
	srv.SetPaymentSteps(2)
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, _ := runAutopay(t, "-instructions", writeFile(t, header+"gone,DIGI,0123456789,,,,50.00,10.00\nstay,AKSB,1234567890,,,,100.00,\n"), "-out", out, "-wait", "0")
	require.Equal(t, exitAgain, code)
	code, stderr := runUntilDone(t, "-instructions", writeFile(t, header+"stay,AKSB,1234567890,,,,100.00,\n"), "-out", out, "-wait", "0")
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "instruction gone is no longer in")
	assert.Contains(t, stderr, "gone-"+strings.ReplaceAll(periodOf(timeNow()), "-", "")+"-1")
	last, _ := states(t, out)
	assert.Equal(t, statusPaid, last["gone"].Status)
	assert.Equal(t, 1, srv.Charges("0123456789"))
	assert.Equal(t, 1, srv.Charges("1234567890"))
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
