package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/iimmpact-go/iimmpact/examples/internal/cli"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
	"github.com/iimmpact-go/iimmpact/ledger"
	"github.com/iimmpact-go/iimmpact/ledger/ledgertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sandboxEnv points autopay at a sandbox of the test's own, which outlives
// each run, so the test can count the charges.
func sandboxEnv(t *testing.T, opts ...iimmpacttest.Option) *iimmpacttest.Server {
	useLedger(t)
	srv := iimmpacttest.Start(t, opts...)
	t.Setenv("IIMMPACT_API_KEY", srv.APIKey)
	t.Setenv("IIMMPACT_HMAC_SECRET", srv.HMACSecret)
	t.Setenv("IIMMPACT_BASE_URL", srv.URL)
	return srv
}

func runAutopay(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return code, errOut.String()
}

func writeFile(t *testing.T, text string) string {
	path := filepath.Join(t.TempDir(), "instructions.csv")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	return path
}

// useLedger gives the test a ledger of its own: on the PostgreSQL that
// IIMMPACT_TEST_POSTGRES names (through DATABASE_URL, as a fleet sets it),
// or else the default, an SQLite file beside -out.
func useLedger(t *testing.T) {
	if url := os.Getenv("IIMMPACT_TEST_POSTGRES"); url != "" {
		t.Setenv("DATABASE_URL", ledgertest.Postgres(t, url))
	}
}

// states reads each instruction's state from the ledger autopay used with
// -out, for the period of the report's last line, and every line of the
// report in order.
func states(t *testing.T, out string) (map[string]record, []record) {
	t.Helper()
	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	var all []record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r record
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "every line is whole: %q", sc.Text())
		all = append(all, r)
	}
	require.NoError(t, sc.Err())
	period := periodOf(time.Now())
	if len(all) > 0 {
		period = all[len(all)-1].Period
	}
	return ledgerStates(t, ledgerURL("", out), period), all
}

// ledgerStates reads each instruction's state in period from the ledger.
func ledgerStates(t *testing.T, url, period string) map[string]record {
	t.Helper()
	l, err := ledger.Open(context.Background(), url)
	require.NoError(t, err)
	defer l.Close()
	items, err := l.Items(context.Background(), "autopay/"+period)
	require.NoError(t, err)
	return historyOf(items, period).last
}

const header = "id,product,account,biller_code,ref2,ic_number,max_amount,amount\n"

// everyRule is an instruction for each row of autopay's rule.
const everyRule = `water,AKSB,1234567890,,,,100.00,
over,TNB,220012345678,,,,100.00,
paidup,TNB,220000000000,,,,300.00,
tax,JOMPAY,8800123456,5454,PJ-2025-001,900101145678,400.00,
mobile,DIGI,0123456789,,,,50.00,30.00
nobill,SYABAS,3000000001,,,,150.00,
bad,AKSB,0000000000,,,,100.00,
`

func TestEveryRowOfTheRule(t *testing.T) {
	srv := sandboxEnv(t)
	in := writeFile(t, header+everyRule)
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, stderr := runAutopay(t, "-instructions", in, "-out", out, "-period", "2026-12")
	require.Equal(t, exitOK, code, stderr)
	last, _ := states(t, out)
	want := map[string]string{"water": "paid", "over": "over_limit", "paidup": "nothing_due", "tax": "paid", "mobile": "paid", "nobill": "no_bill", "bad": "invalid_account"}
	for id, status := range want {
		assert.Equal(t, status, last[id].Status, id)
	}
	assert.Equal(t, "water-202612-1", last["water"].RefID, "derived from the id, the period and the attempt")
	assert.Equal(t, int64(4594), last["water"].AmountSen)
	assert.Equal(t, int64(3000), last["mobile"].AmountSen, "the fixed amount, with no bill")
	assert.Equal(t, 1, srv.Charges("1234567890"))
	assert.Zero(t, srv.Charges("0000000000"), "never an invalid account")
	assert.Zero(t, srv.Charges("220012345678"), "never above the limit")
	assert.Contains(t, stderr, "paid 3;")
	assert.Contains(t, stderr, "paid RM 431.94 in all")
	assert.Contains(t, stderr, "wallet after RM 568.06")
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.NotContains(t, string(data), "900101145678", "no IC number in the results")
	assert.NotContains(t, string(data), "1234567890", "nor an account number")
	info, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	code, _ = runAutopay(t, "-instructions", in, "-out", out, "-period", "2026-12")
	assert.Equal(t, exitOK, code, "nothing left")
	assert.Equal(t, 1, srv.Charges("1234567890"), "a second run pays nothing again")
	code, _ = runAutopay(t, "-instructions", in, "-out", out, "-period", "2027-01")
	assert.Equal(t, exitOK, code)
	last, _ = states(t, out)
	assert.Equal(t, "nothing_due", last["water"].Status, "the bill paid in December owes nothing in January")
	assert.Equal(t, 1, srv.Charges("1234567890"))
	assert.Equal(t, "paid", last["mobile"].Status, "a fixed amount is paid again in the next period")
	assert.Equal(t, "mobile-202701-1", last["mobile"].RefID)
	assert.Equal(t, 2, srv.Charges("0123456789"))
}

func TestWalletStopsTheRun(t *testing.T) {
	srv := sandboxEnv(t)
	srv.SetBalance("50.00")
	in := writeFile(t, header+"a,AKSB,1234567890,,,,100.00,\nb,DIGI,0123456789,,,,50.00,30.00\nc,DIGI,0123456780,,,,50.00,5.00\n")
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, stderr := runAutopay(t, "-instructions", in, "-out", out)
	assert.Equal(t, exitWallet, code, stderr)
	assert.Contains(t, stderr, "the payments not made need RM 35.00 and it holds RM 4.06: top it up by at least RM 30.94", "in input order: the rest after the first it cannot cover")
	last, _ := states(t, out)
	assert.Equal(t, "paid", last["a"].Status)
	assert.Equal(t, "not_sent", last["b"].Status)
	assert.Equal(t, "not_sent", last["c"].Status)
	assert.Zero(t, srv.Charges("0123456789"))

	srv.SetBalance("100.00")
	code, stderr = runAutopay(t, "-instructions", in, "-out", out)
	assert.Equal(t, exitOK, code, stderr)
	last, _ = states(t, out)
	assert.Equal(t, "paid", last["b"].Status)
	assert.Equal(t, 1, srv.Charges("1234567890"), "the first is not paid again")
}

func TestInsufficientCreditMidRunStops(t *testing.T) {
	srv := sandboxEnv(t)
	in := writeFile(t, header+"short,DIGI,60123450043,,,,50.00,10.00\n")
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, stderr := runAutopay(t, "-instructions", in, "-out", out, "-workers", "1")
	assert.Equal(t, exitWallet, code, stderr)
	last, _ := states(t, out)
	assert.Equal(t, "not_sent", last["short"].Status, "a 400 code 43 created nothing")
	assert.Zero(t, srv.Charges("60123450043"))
}

func TestBlockedIPStopsAtOnce(t *testing.T) {
	srv := sandboxEnv(t, iimmpacttest.WithRateLimit(3, time.Minute, time.Hour))
	var csv strings.Builder
	csv.WriteString(header)
	for i := range 20 {
		csv.WriteString("i" + string(rune('a'+i)) + ",AKSB,1234567890,,,,100.00,\n")
	}
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, stderr := runAutopay(t, "-instructions", writeFile(t, csv.String()), "-out", out, "-workers", "1")
	assert.Equal(t, exitBlocked, code, stderr)
	assert.Contains(t, stderr, "run it again after the block")
	assert.LessOrEqual(t, len(srv.Requests()), 3+3, "it stops at once: the breaker's three 403s at most")
}

func TestPendingIsAskedFirstByTheNextRun(t *testing.T) {
	srv := sandboxEnv(t)
	srv.SetPaymentSteps(2)
	in := writeFile(t, header+"a,AKSB,1234567890,,,,100.00,\n")
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, stderr := runAutopay(t, "-instructions", in, "-out", out, "-wait", "0")
	assert.Equal(t, exitAgain, code, stderr)
	last, _ := states(t, out)
	assert.Equal(t, "pending", last["a"].Status)

	srv.ResetRequests()
	code, _ = runAutopay(t, "-instructions", in, "-out", out, "-wait", "0")
	assert.Equal(t, exitAgain, code, "still processing")
	reqs := srv.Requests()
	require.NotEmpty(t, reqs)
	assert.Equal(t, "/v2/topup", reqs[0].Path, "the pending payment is asked about before anything else")
	for _, r := range reqs {
		assert.NotEqual(t, "/v2/bill-presentment", r.Path, "no bill is presented for a pending payment")
	}
	code, _ = runAutopay(t, "-instructions", in, "-out", out, "-wait", "0")
	assert.Equal(t, exitOK, code)
	last, all := states(t, out)
	assert.Equal(t, "paid", last["a"].Status)
	for _, r := range all {
		if r.RefID != "" {
			assert.Equal(t, "a-"+strings.ReplaceAll(periodOf(time.Now()), "-", "")+"-1", r.RefID, "one refid throughout")
		}
	}
	assert.Equal(t, 1, srv.Charges("1234567890"))
}

func TestAFailureThatMayPassIsRetriedWithANewRefID(t *testing.T) {
	srv := sandboxEnv(t)
	in := writeFile(t, header+"down,DIGI,60123450047,,,,50.00,10.00\nbarred,DIGI,60123450052,,,,50.00,10.00\n")
	out := filepath.Join(t.TempDir(), "r.jsonl")
	var codes []int
	for range 4 {
		code, _ := runAutopay(t, "-instructions", in, "-out", out, "-period", "2026-12")
		codes = append(codes, code)
	}
	assert.Equal(t, []int{exitAgain, exitAgain, exitOK, exitOK}, codes, "47 may pass: three attempts, then final")
	_, all := states(t, out)
	var refids []string
	barred := 0
	for _, r := range all {
		switch {
		case r.ID == "down" && r.Status == "failed":
			refids = append(refids, r.RefID)
		case r.ID == "barred" && r.RefID != "" && r.Status != "pending":
			barred++
		}
	}
	assert.Equal(t, []string{"down-202612-1", "down-202612-2", "down-202612-3"}, refids)
	assert.Equal(t, 1, barred, "52, a barred account, is never retried")
	assert.Equal(t, 4, srv.Payments())
}

func TestBadRowsAreReportedAndTheRestRun(t *testing.T) {
	srv := sandboxEnv(t)
	in := writeFile(t, header+"ok,AKSB,1234567890,,,,100.00,\nok,AKSB,1234567890,,,,100.00,\nnomax,AKSB,1,,,,,\nj,JOMPAY,8800123456,5454,PJ-2025-001,,400.00,\n")
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, stderr := runAutopay(t, "-instructions", in, "-out", out)
	assert.Equal(t, exitUsage, code, stderr)
	assert.Contains(t, stderr, `id "ok" is the id of line 2 too`)
	assert.Contains(t, stderr, "max_amount is required")
	assert.Contains(t, stderr, "ic_number is required when product is JOMPAY")
	assert.Equal(t, 1, srv.Charges("1234567890"), "the good row paid, once")
}

func TestFlagsAndHelp(t *testing.T) {
	code, stderr := runAutopay(t, "-h")
	assert.Equal(t, exitOK, code)
	for _, want := range []string{"-instructions", "-out", "-period", "-workers", "-quota", "-wait", cli.ExitTable,
		"ID-YYYYMM-N", "IIMMPACT_API_KEY", "built-in sandbox"} {
		assert.Contains(t, stderr, want)
	}
	for args, msg := range map[string]string{
		"-instructions a.csv":                      "-out is required",
		"-out r.jsonl":                             "-instructions is required",
		"-instructions a.csv -out r -period 2026":  "-period must be YYYY-MM",
		"-instructions a.csv -out r -quota 10":     "-quota must be N/DURATION",
		"-instructions a.csv -out r -workers 0":    "-workers must be between 1 and 64",
		"-instructions /nonexistent.csv -out r.jl": "no such file",
	} {
		code, stderr := runAutopay(t, strings.Fields(args)...)
		assert.Equal(t, exitUsage, code, args)
		assert.Contains(t, stderr, msg, args)
	}
}

// A ledger setting to fix (the URL, the key) is a usage error; a database
// that does not answer is "run it again". Either way nothing is sent.
func TestALedgerSettingIsUsageAndADatabaseDownIsAgain(t *testing.T) {
	srv := sandboxEnv(t)
	in := writeFile(t, header+"a,AKSB,1234567890,,,,100.00,\n")
	out := filepath.Join(t.TempDir(), "r.jsonl")
	down := ledgertest.Down(t)
	for db, want := range map[string]int{"mysql://autopay@db/payments": exitUsage, down: exitAgain} {
		code, stderr := runAutopay(t, "-instructions", in, "-out", out, "-db", db)
		assert.Equal(t, want, code, db)
		assert.Contains(t, stderr, "autopay: the ledger:", db)
	}
	t.Setenv("IIMMPACT_LEDGER_KEY", "c2hvcnQ=")
	code, stderr := runAutopay(t, "-instructions", in, "-out", out)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "IIMMPACT_LEDGER_KEY must be 32 random bytes")
	assert.Empty(t, srv.Requests(), "nothing is sent without a ledger")
}

// SIGTERM while a payment is in flight: no more work is handed out, the
// payment gets -grace, and past it, its answer lost, it is recorded as
// pending; the next run asks about it first and records it paid, once.
func TestSignalRecordsAPaymentInFlightAsPending(t *testing.T) {
	srv := iimmpacttest.NewHandler()
	arrived := make(chan struct{})
	var first atomic.Bool
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, r) // the sandbox takes the payment
		if r.URL.Path == "/v2/topup" && first.CompareAndSwap(false, true) {
			close(arrived)
			<-r.Context().Done() // the answer never comes: the client gives up
			return
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(front.Close)
	useLedger(t)
	t.Setenv("IIMMPACT_API_KEY", srv.APIKey)
	t.Setenv("IIMMPACT_HMAC_SECRET", srv.HMACSecret)
	t.Setenv("IIMMPACT_BASE_URL", front.URL)
	in := writeFile(t, header+"a,AKSB,1234567890,,,,100.00,\nb,DIGI,0123456789,,,,50.00,30.00\n")
	out := filepath.Join(t.TempDir(), "r.jsonl")

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel() // SIGTERM, with the payment in flight
	}()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"-instructions", in, "-out", out, "-workers", "1", "-grace", "100ms", "-wait", "0"}, strings.NewReader(""), &stdout, &stderr)
	assert.Equal(t, exitAgain, code, stderr.String())
	assert.Contains(t, stderr.String(), "stopping: no more work is handed out")
	last, _ := states(t, out)
	paid := 0
	for _, r := range last {
		if r.Status == statusPending {
			paid++
		}
	}
	assert.Equal(t, 1, paid, "the payment in flight is pending: %v", last)

	code, errOut := runAutopay(t, "-instructions", in, "-out", out, "-workers", "1", "-wait", "0")
	assert.Equal(t, exitOK, code, errOut)
	last, _ = states(t, out)
	assert.Equal(t, statusPaid, last["a"].Status)
	assert.Equal(t, statusPaid, last["b"].Status)
	assert.Equal(t, 1, srv.Charges("1234567890"))
	assert.Equal(t, 1, srv.Charges("0123456789"))
}

var timeNow = time.Now

const timeHour = time.Hour
