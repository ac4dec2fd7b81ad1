package main

import (
	"context"
	"fmt"
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
	"github.com/iimmpact-go/iimmpact/examples/internal/cli"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
	"github.com/iimmpact-go/iimmpact/ledger/ledgertest"
)

func sandboxEnv(t *testing.T, opts ...iimmpacttest.Option) *iimmpacttest.Server {
	srv := iimmpacttest.Start(t, opts...)
	t.Setenv("IIMMPACT_API_KEY", srv.APIKey)
	t.Setenv("IIMMPACT_HMAC_SECRET", srv.HMACSecret)
	t.Setenv("IIMMPACT_BASE_URL", srv.URL)
	return srv
}

func writeFile(t *testing.T, name, text string) string {
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	return path
}

// A CSV of records: matched by refid, or by product, account, amount and
// time when the vendor's rows have none (never two of ours to one of
// theirs); -apply writes the vendor's final state into its status column.
func TestACSVOfRecords(t *testing.T) {
	srv := sandboxEnv(t, iimmpacttest.WithoutHistoryRefIDs())
	ctx := context.Background()
	for i, account := range []string{"0123456701", "0123456701", "0123456702"} {
		_, err := srv.Client.Pay(ctx, iimmpact.Payment{RefID: fmt.Sprintf("shop-%d", i), Product: "DIGI", Account: account, Amount: "5.00"})
		require.NoError(t, err)
	}
	now := time.Now().In(iimmpact.Malaysia).Format(time.DateTime)
	recs := writeFile(t, "recs.csv", "\ufeffrefid,product,account,amount,status,time\r\n"+
		"shop-0,DIGI,0123456701,5.00,paid,"+now+"\r\n"+
		"shop-1,DIGI,0123456701,5.00,pending,"+now+"\r\n"+
		"shop-2,DIGI,0123456702,5.00,paid,\r\n"+
		"shop-9,DIGI,0123456709,5.00,paid,\r\n")
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, stderr := runReconcile(t, "-records", recs, "-from", "today", "-out", out, "-apply")
	assert.Equal(t, exitDiffers, code, stderr)
	lines := readLines(t, out)
	assert.Equal(t, "fallback", lines["shop-0"].MatchedBy)
	assert.Equal(t, "fallback", lines["shop-1"].MatchedBy, "the second row of the same account and amount goes to the other record")
	results := []string{lines["shop-0"].Result, lines["shop-1"].Result}
	assert.ElementsMatch(t, []string{resultMatched, resultResolved}, results, "one each: never two of ours to one of theirs")
	assert.Equal(t, resultMatched, lines["shop-2"].Result, "a row without a time counts as inside the range")
	assert.Equal(t, resultMissingAtVendor, lines["shop-9"].Result)
	data, err := os.ReadFile(recs)
	require.NoError(t, err)
	assert.Equal(t, 0, strings.Count(string(data), "pending"), "-apply wrote the vendor's final state: %s", data)

	code, stderr = runReconcile(t, "-records", recs, "-from", "today", "-out", out)
	assert.Equal(t, exitDiffers, code, stderr)
	assert.NotContains(t, fmt.Sprint(readLines(t, out)), resultResolved)
}

// Bad input is named by its line; autopay's report cannot take -apply.
func TestBadInputIsNamed(t *testing.T) {
	sandboxEnv(t)
	out := filepath.Join(t.TempDir(), "r.jsonl")
	for text, want := range map[string]string{
		"refid,product,account,amount,status\nx,DIGI,1,5.00,paid\nx,DIGI,1,5.00,paid\n": `line 3: refid "x" is on line 2 too`,
		"refid,product,account,amount,status\nx,DIGI,1,five,paid\n":                     `line 2: amount "five" must be a positive decimal`,
		"refid,product,account,amount,status\nx,DIGI,1,RM 5.00,paid\n":                  `line 2: amount "RM 5.00" must be a plain decimal`,
		"refid,product,account,amount,status\n,DIGI,1,5.00,paid\n":                      `line 2: refid is required`,
		"refid,product,account,amount,status\nx\u200b1,DIGI,1,5.00,paid\n":              `line 2: refid "x\u200b1" must be 1 to 36`,
		"refid,product,account,amount,status\nx,DIGI,1,5.00,done\n":                     `line 2: status "done" is not paid`,
		"refid,product,account,amount\n":                                                "no status column",
		"{\"refid\":\"a-1\",\"status\":\"paid\"\n":                                      "line 1 is not a line of autopay's report",
	} {
		code, stderr := runReconcile(t, "-records", writeFile(t, "r", text), "-out", out)
		assert.Equal(t, exitUsage, code, text)
		assert.Contains(t, stderr, want, text)
	}
	report := writeFile(t, "report.jsonl", `{"id":"a","period":"2026-12","refid":"a-202612-1","status":"paid","amount_sen":500,"time":"2026-12-07T10:00:00Z"}`+"\n")
	code, stderr := runReconcile(t, "-records", report, "-out", out, "-apply")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "autopay's report is not its state")

	code, stderr = runReconcile(t, "-h")
	assert.Equal(t, exitOK, code)
	for _, want := range []string{"-records", "-db", "-out", "-csv", "-from", "-to", "-apply", cli.ExitTable, "matched_by"} {
		assert.Contains(t, stderr, want)
	}
	for args, msg := range map[string]string{
		"-out r":                             "one of -records and -db",
		"-records a -db b -out r":            "one of -records and -db",
		"-records a":                         "-out is required",
		"-records a -out r -from 2026-13-01": "must be days",
		"-records a -out r -from today -to 2000-01-01": "must not be before",
		"-records a -out r -from today -to 2999-01-01": "must not be after today",
	} {
		code, stderr := runReconcile(t, strings.Fields(args)...)
		assert.Equal(t, exitUsage, code, args)
		assert.Contains(t, stderr, msg, args)
	}
}

// A ledger that is not there, or a URL to fix, is a usage error (2), never an
// empty ledger made on the spot, which would call every payment at IIMMPACT
// one made outside; a database that does not answer is "run it again" (3).
func TestALedgerSettingIsUsageAndADatabaseDownIsAgain(t *testing.T) {
	sandboxEnv(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "r.jsonl")
	down := ledgertest.Down(t)
	missing := filepath.Join(dir, "autopay-ledgr.db")
	for db, want := range map[string]struct {
		code int
		says string
	}{
		"sqlite:" + missing:  {exitUsage, "no ledger at " + missing},
		"mysql://finance@db": {exitUsage, "is not sqlite:PATH or a postgres:// URL"},
		down:                 {exitAgain, "reconcile: ledger:"},
	} {
		code, stderr := runReconcile(t, "-db", db, "-from", "today", "-out", out)
		assert.Equal(t, want.code, code, db)
		assert.Contains(t, stderr, want.says, db)
	}
	assert.NoFileExists(t, missing)
	assert.NoFileExists(t, out)
}

// A history the SDK cannot read, or that never ends, leaves the run
// incomplete (3) and writes nothing; a 403 is 4.
func TestIncompleteAndBlocked(t *testing.T) {
	for name, tt := range map[string]struct {
		status int
		body   string
		exit   int
	}{
		"malformed": {200, `{"data":{"trxid":1}}`, exitAgain},
		"blocked":   {403, `{"message":"Forbidden"}`, exitBlocked},
	} {
		t.Run(name, func(t *testing.T) {
			srv := iimmpacttest.NewHandler()
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			t.Cleanup(front.Close)
			t.Setenv("IIMMPACT_API_KEY", srv.APIKey)
			t.Setenv("IIMMPACT_HMAC_SECRET", srv.HMACSecret)
			t.Setenv("IIMMPACT_BASE_URL", front.URL)
			out := filepath.Join(t.TempDir(), "r.jsonl")
			code, stderr := runReconcile(t, "-records", writeFile(t, "r.csv", "refid,product,account,amount,status\nx,DIGI,1,5.00,paid\n"), "-out", out, "-timeout", "2s")
			assert.Equal(t, tt.exit, code, stderr)
			_, err := os.Stat(out)
			assert.True(t, os.IsNotExist(err), "nothing written")
		})
	}
}
