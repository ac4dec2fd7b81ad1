package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/examples/internal/signalfront"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

// The reminders job's input: valid, invalid, unavailable, a bad row, JomPAY
// with and without its Ref-2, a blank line.
const accounts = `Account, Product ,biller_code,ref2
1234567890,AKSB,,
0000000000,AKSB,,
0123456789,DIGI,,

8800123456,JOMPAY,5454,PJ-2025-001
8800123456,JOMPAY,5454,
1,TNB,,x
220012345678,TNB,,
`

// sandboxEnv points billcheck at a sandbox of the test's own, so the test can
// count what reached it.
func sandboxEnv(t *testing.T, opts ...iimmpacttest.Option) *iimmpacttest.Server {
	srv := iimmpacttest.Start(t, opts...)
	env(t, map[string]string{"IIMMPACT_API_KEY": srv.APIKey, "IIMMPACT_HMAC_SECRET": srv.HMACSecret, "IIMMPACT_BASE_URL": srv.URL})
	return srv
}

func writeFile(t *testing.T, name, text string) string {
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	return path
}

// results reads a results file, by input line.
func results(t *testing.T, path string) map[int]line {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	got := map[int]line{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l line
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), "every line is whole: %q", sc.Text())
		_, dup := got[l.Line]
		require.False(t, dup, "line %d recorded twice", l.Line)
		got[l.Line] = l
	}
	require.NoError(t, sc.Err())
	return got
}

func TestBatchMixedFile(t *testing.T) {
	srv := sandboxEnv(t)
	in, out := writeFile(t, "accounts.csv", accounts), filepath.Join(t.TempDir(), "results.jsonl")
	code, stdout, stderr := runBillcheck(t, "-batch", in, "-out", out, "-workers", "3")
	assert.Equal(t, exitErrors, code, "one row has an error: %s", stderr)
	assert.Empty(t, stdout)
	got := results(t, out)
	want := map[int]string{2: "show valid", 3: "block invalid_account", 4: "hide unavailable", 6: "show valid", 7: "block invalid_account", 8: "hide error", 9: "show valid"}
	require.Len(t, got, len(want))
	for n, w := range want {
		assert.Equal(t, w, string(got[n].Action)+" "+string(got[n].Reason), "line %d", n)
	}
	assert.Equal(t, int64(4594), *got[2].OutstandingSen)
	assert.Equal(t, "2025-06-13", got[2].DueDate)
	assert.Equal(t, "Ref-2 is required", got[7].Message)
	assert.Contains(t, got[8].Error, "ref2 is only used when product is JOMPAY")
	assert.Equal(t, "TNB", got[8].Query.Product, "the query as given")
	assert.Len(t, srv.Requests(), 6, "the invalid row was never sent")
	assert.Contains(t, stderr, "7 results in")
	assert.Contains(t, stderr, "block invalid_account 2; hide error 1; hide unavailable 1; show valid 3")
	assert.Contains(t, stderr, "1 errors")
}

func TestBatchDueWithinAWeek(t *testing.T) {
	srv := sandboxEnv(t, iimmpacttest.WithoutSamples())
	today := time.Now().In(iimmpact.Malaysia)
	for account, due := range map[string]time.Time{"1": today.AddDate(0, 0, 2), "2": today.AddDate(0, 0, 7), "3": today.AddDate(0, 0, 8), "4": today.AddDate(0, 0, -1)} {
		srv.Set("TNB", account, iimmpacttest.ValidBill(iimmpacttest.Data{"Outstanding": json.Number("10.25"), "DueDate": due.Format("02/01/2006")}))
	}
	in := writeFile(t, "a.csv", "product,account\nTNB,1\nTNB,2\nTNB,3\nTNB,4\n")
	code, stdout, stderr := runBillcheck(t, "-batch", in)
	assert.Equal(t, exitOK, code, stderr)
	assert.Equal(t, 4, strings.Count(stdout, "\n"), "without -out, the results go to standard output")
	assert.Contains(t, stderr, "2 accounts due within 7 days, owing RM 20.50 in all")
}

func TestBatchResumesAfterAKill(t *testing.T) {
	srv := sandboxEnv(t)
	in, out := writeFile(t, "accounts.csv", accounts), filepath.Join(t.TempDir(), "results.jsonl")
	_, _, _ = runBillcheck(t, "-batch", in, "-out", out)
	full := results(t, out)
	// A kill: the file keeps its first three lines and half of the fourth.
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(data), "\n")
	require.NoError(t, os.WriteFile(out, []byte(strings.Join(lines[:3], "")+lines[3][:len(lines[3])/2]), 0o644))
	srv.ResetRequests()

	code, _, stderr := runBillcheck(t, "-batch", in, "-out", out)
	assert.Contains(t, []int{exitOK, exitErrors}, code, "the status is this run's: %s", stderr)
	assert.Contains(t, stderr, "already has 3 results: resuming")
	got := results(t, out)
	assert.Len(t, got, len(full), "every row has one result, the torn line replaced")
	for n, l := range full {
		assert.Equal(t, l.Action, got[n].Action, "line %d", n)
	}
	assert.LessOrEqual(t, len(srv.Requests()), 4, "the rows already recorded were not sent again")

	srv.ResetRequests()
	code, _, stderr = runBillcheck(t, "-batch", in, "-out", out)
	assert.Equal(t, exitErrors, code, "nothing left to do; the file still has its one bad row")
	assert.Empty(t, srv.Requests())
	assert.Contains(t, stderr, "7 results in the results file", "the summary covers the whole file")
}

func TestBatchStopsOnABlock(t *testing.T) {
	srv := sandboxEnv(t, iimmpacttest.WithRateLimit(2, time.Minute, time.Hour))
	var csv strings.Builder
	csv.WriteString("product,account\n")
	for range 20 {
		csv.WriteString("AKSB,1234567890\n")
	}
	in, out := writeFile(t, "a.csv", csv.String()), filepath.Join(t.TempDir(), "results.jsonl")
	code, _, stderr := runBillcheck(t, "-batch", in, "-out", out, "-workers", "1")
	assert.Equal(t, exitBlocked, code)
	assert.Contains(t, stderr, "it looks blocked")
	assert.Contains(t, stderr, "run the same command again after")
	got := results(t, out)
	assert.Len(t, got, 5, "2 answered, 3 answered 403 (recorded as errors); the rest has no result")
	assert.Len(t, srv.Requests(), 5, "nothing sent once the IP looked blocked")
}

func TestBatchStopsOnASignal(t *testing.T) {
	srv := iimmpacttest.NewHandler()
	srv.Set("AKSB", "slow", iimmpacttest.ValidBill(iimmpacttest.Data{"BillerName": "Air Kelantan"}).After(100*time.Millisecond))
	arrived := countArrivals(t, srv)
	in, out := writeFile(t, "a.csv", rows("AKSB,slow", 50)), filepath.Join(t.TempDir(), "results.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		<-arrived // both workers' calls are in flight
		cancel()  // SIGINT
	}()
	var stdout, stderr strings.Builder
	code := run(ctx, []string{"-batch", in, "-out", out, "-workers", "2"}, &stdout, &stderr)
	assert.Equal(t, exitStopped, code, stderr.String())
	assert.Contains(t, stderr.String(), "run the same command again to resume")
	got := results(t, out)
	assert.NotEmpty(t, got, "the calls in flight finished and were recorded")
	assert.Less(t, len(got), 50)
	assert.Equal(t, len(got), len(srv.Requests()), "each call sent has its result")

	code, _, _ = runBillcheck(t, "-batch", in, "-out", out, "-workers", "8")
	assert.Equal(t, exitOK, code)
	assert.Len(t, results(t, out), 50, "the resume did the rest")
}

func TestBatchBadInput(t *testing.T) {
	env(t, nil)
	for text, msg := range map[string]string{
		"product,acount\nAKSB,1\n": `the header names column "acount"`,
		"product\nAKSB\n":          "the header has no account column",
		"":                         "reading the header row",
	} {
		code, _, stderr := runBillcheck(t, "-batch", writeFile(t, "a.csv", text))
		assert.Equal(t, exitUsage, code, text)
		assert.Contains(t, stderr, msg)
	}
	code, _, stderr := runBillcheck(t, "-batch", "/nonexistent.csv")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "no such file")
	for args, msg := range map[string]string{
		"-batch a.csv -product AKSB": "-batch reads the accounts from its file",
		"-out x.jsonl -product AKSB": "-out and -quota go with -batch",
		"-batch a.csv -quota 10":     "-quota must be N/DURATION",
		"-batch a.csv -workers 0":    "-workers must be between 1 and 64",
	} {
		code, _, stderr := runBillcheck(t, strings.Fields(args)...)
		assert.Equal(t, exitUsage, code, args)
		assert.Contains(t, stderr, msg)
	}
}

// A tight quota and many workers: every row gets its result and the run
// exits 0. Stopped halfway, the same command resumes to one result per row.
func TestBatchTightQuotaLosesNoRow(t *testing.T) {
	srv := iimmpacttest.NewHandler()
	arrived := countArrivals(t, srv)
	in, out := writeFile(t, "a.csv", rows("AKSB,1234567890", 12)), filepath.Join(t.TempDir(), "results.jsonl")

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for range 4 {
			<-arrived
		}
		cancel() // SIGTERM halfway
	}()
	var stdout, stderr strings.Builder
	code := run(ctx, []string{"-batch", in, "-out", out, "-quota", "2/300ms", "-workers", "2"}, &stdout, &stderr)
	assert.Equal(t, exitStopped, code, stderr.String())
	assert.Contains(t, stderr.String(), "stopping: no more rows are sent")
	assert.Regexp(t, `stopped: \d+ rows have no result`, stderr.String())
	first := len(results(t, out))
	assert.Less(t, first, 12)

	code, _, errOut := runBillcheck(t, "-batch", in, "-out", out, "-quota", "2/300ms", "-workers", "8")
	assert.Equal(t, exitOK, code, errOut)
	assert.Len(t, results(t, out), 12, "one result per row")
	assert.Contains(t, errOut, "12 results in the results file")
	info, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "results hold personal data")
}

// failingWriter fails every write after the first n.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errors.New("no space left on device")
	}
	w.n--
	return len(p), nil
}

func TestBatchWriteFailureIsNotSuccess(t *testing.T) {
	sandboxEnv(t)
	var csv strings.Builder
	csv.WriteString("product,account\n")
	for range 50 {
		csv.WriteString("AKSB,1234567890\n")
	}
	var stderr strings.Builder
	code := run(context.Background(), []string{"-batch", writeFile(t, "a.csv", csv.String()), "-workers", "2"}, &failingWriter{n: 5}, &stderr)
	assert.Equal(t, exitStopped, code, stderr.String())
	assert.Contains(t, stderr.String(), "writing the results failed: no space left on device")
	assert.Contains(t, stderr.String(), "5 results in this run")
	assert.NotContains(t, stderr.String(), "50 results")
}

func TestBatchReadsExcelCSV(t *testing.T) {
	sandboxEnv(t)
	in := writeFile(t, "excel.csv", "\ufeffProduct,Account\r\nAKSB,1234567890\r\nTNB,220012345678\r\n")
	code, stdout, stderr := runBillcheck(t, "-batch", in)
	assert.Equal(t, exitOK, code, stderr)
	assert.Equal(t, 2, strings.Count(stdout, `"action":"show"`))
}

func TestBatchRefusesAColumnNamedTwice(t *testing.T) {
	env(t, nil)
	code, _, stderr := runBillcheck(t, "-batch", writeFile(t, "a.csv", "product,account,Account\nAKSB,1,1234567890\n"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, `the header names column "account" twice`)
}

func TestBatchOversizedRowGetsItsOwnError(t *testing.T) {
	srv := sandboxEnv(t)
	in := writeFile(t, "a.csv", "product,account\nAKSB,"+strings.Repeat("9", 10<<20)+"\nAKSB,1234567890\nAKSB,\"broken\n")
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, _, stderr := runBillcheck(t, "-batch", in, "-out", out)
	assert.Equal(t, exitErrors, code, stderr)
	got := results(t, out)
	require.Len(t, got, 3, "every row has its line")
	assert.Contains(t, got[2].Error, "a field over 4096 bytes")
	assert.Equal(t, "show valid", string(got[3].Action)+" "+string(got[3].Reason))
	assert.Contains(t, got[4].Error, "not CSV")
	assert.Len(t, srv.Requests(), 1)
}

func TestBatchCountsOverdueBills(t *testing.T) {
	srv := sandboxEnv(t, iimmpacttest.WithoutSamples())
	today := time.Now().In(iimmpact.Malaysia)
	for account, due := range map[string]time.Time{"1": today.AddDate(0, 0, -30), "2": today.AddDate(-1, 0, 0), "3": today.AddDate(0, 0, 3)} {
		srv.Set("TNB", account, iimmpacttest.ValidBill(iimmpacttest.Data{"Outstanding": json.Number("10.25"), "DueDate": due.Format("02/01/2006")}))
	}
	code, _, stderr := runBillcheck(t, "-batch", writeFile(t, "a.csv", "product,account\nTNB,1\nTNB,2\nTNB,3\n"))
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "2 accounts overdue, owing RM 20.50; 1 accounts due within 7 days, owing RM 10.25")
}

func TestBatchMalayBlockTexts(t *testing.T) {
	sandboxEnv(t)
	code, stdout, _ := runBillcheck(t, "-batch", writeFile(t, "a.csv", "product,account\nAKSB,0000000000\n"), "-lang", "ms")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, `"message":"Nombor akaun tidak sah."`)
}

// countArrivals points billcheck at srv through a front server that reports
// each request as it arrives.
func countArrivals(t *testing.T, srv *iimmpacttest.Server) <-chan struct{} {
	arrived := make(chan struct{}, 100)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	env(t, map[string]string{"IIMMPACT_API_KEY": srv.APIKey, "IIMMPACT_HMAC_SECRET": srv.HMACSecret, "IIMMPACT_BASE_URL": front.URL})
	return arrived
}

// rows is a CSV with a product,account header and n copies of row.
func rows(row string, n int) string {
	return "product,account\n" + strings.Repeat(row+"\n", n)
}

// After a signal nothing new is sent: the rows waiting for a quota slot end
// at once, without the grace meant for calls in flight.
func TestBatchSendsNothingAfterASignal(t *testing.T) {
	f := signalfront.Start(t, 3)
	in, out := writeFile(t, "a.csv", rows("AKSB,1234567890", 20)), filepath.Join(t.TempDir(), "results.jsonl")
	var stdout, stderr strings.Builder
	code := run(f.Signalled, []string{"-batch", in, "-out", out, "-workers", "4", "-quota", "3/200ms"}, &stdout, &stderr)
	assert.Equal(t, exitStopped, code, stderr.String())
	assert.Zero(t, f.After(), "no request arrives after the signal")
	assert.Len(t, results(t, out), 3, "the three sent have their results")
}
