package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/examples/internal/cli"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"

	_ "modernc.org/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func runReconcile(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stderr.String()
}

// readLines reads reconcile's report, by refid ("wallet" for the wallet's
// line, "vendor:TRXID" for a vendor's row we do not have).
func readLines(t *testing.T, path string) map[string]line {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	out := map[string]line{}
	for _, b := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var l line
		require.NoError(t, json.Unmarshal(b, &l))
		switch {
		case l.Result == resultWallet:
			out["wallet"] = l
		case l.RefID == "":
			out["vendor:"+l.TrxID] = l
		default:
			out[l.RefID] = l
		}
	}
	return out
}

// autopay builds the real autopay, to make the month's payments.
func autopay(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "autopay")
	out, err := exec.Command("go", "build", "-o", bin, "../autopay").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// A month of autopay runs over the sandbox, with what reconciliation exists
// for: a payment left pending whose callback was lost, one whose answer was
// lost (unknown), a void the biller approved later, a payment made outside
// the tool, a record edited to another amount. reconcile names each, exits 1,
// and after -apply a second reconcile and an autopay run agree with the
// vendor. Then the same books with rows that carry no refid: matched by
// product, account, amount and time.
func TestAMonthOfAutopayReconciled(t *testing.T) {
	for _, refids := range []bool{true, false} {
		t.Run(map[bool]string{true: "rows with refids", false: "rows without refids"}[refids], func(t *testing.T) {
			var opts []iimmpacttest.Option
			if !refids {
				opts = append(opts, iimmpacttest.WithoutHistoryRefIDs())
			}
			srv := iimmpacttest.NewServer(opts...)
			t.Cleanup(srv.Close)
			var losing atomic.Bool // every answer about f is lost while set
			losing.Store(true)
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := readAll(r)
				r.Body = io.NopCloser(bytes.NewReader(body))
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, r) // the sandbox acts first
				if r.URL.Path == "/v2/topup" && strings.Contains(string(body), "0123456716") && losing.Load() {
					if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
						conn.Close() // the answer is lost: unknown
					}
					return
				}
				w.WriteHeader(rec.Code)
				_, _ = w.Write(rec.Body.Bytes())
			}))
			t.Cleanup(front.Close)
			env := []string{"PATH=" + os.Getenv("PATH"), "IIMMPACT_API_KEY=" + srv.APIKey, "IIMMPACT_HMAC_SECRET=" + srv.HMACSecret, "IIMMPACT_BASE_URL=" + front.URL}
			for _, kv := range env[1:] {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			dir := t.TempDir()
			db := "sqlite:" + filepath.Join(dir, "ledger.db")
			bin := autopay(t)
			pay := func(instructions string, args ...string) int {
				in := filepath.Join(dir, "in.csv")
				require.NoError(t, os.WriteFile(in, []byte("id,product,account,biller_code,ref2,ic_number,max_amount,amount\n"+instructions), 0o600))
				cmd := exec.Command(bin, append([]string{"-instructions", in, "-out", filepath.Join(dir, "r.jsonl"), "-db", db, "-period", "2026-12", "-wait", "0"}, args...)...)
				cmd.Env = env
				out, err := cmd.CombinedOutput()
				var exit *exec.ExitError
				if errors.As(err, &exit) {
					return exit.ExitCode()
				}
				require.NoError(t, err, "%s", out)
				return 0
			}
			month := "a,DIGI,0123456711,,,,50.00,5.00\nc,DIGI,0123456713,,,,50.00,7.00\nd,DIGI,0123456714,,,,50.00,8.00\nf,DIGI,0123456716,,,,50.00,10.00\n"
			assert.Equal(t, cli.ExitAgain, pay(month), "f's answer was lost: pending")
			srv.SetPaymentSteps(2)
			assert.Equal(t, cli.ExitAgain, pay(month+"b,DIGI,0123456712,,,,50.00,6.00\n"), "b is accepted, not final; f still unknown")
			srv.SetPaymentSteps(0)
			losing.Store(false)
			srv.Complete("b-202612-1") // final at the vendor; its callback lost (none is set)
			srv.Complete("f-202612-1")
			v, err := srv.Client.Void(context.Background(), iimmpact.VoidRequest{RefID: "a-202612-1", RefundType: 1, Reason: "paid twice elsewhere"})
			require.NoError(t, err)
			require.True(t, v.Accepted) // approved at once: a Refund (53)
			outside := srv.PayOutside("", "DIGI", "0123456799", "9.00")
			edit(t, filepath.Join(dir, "ledger.db"), `UPDATE payments SET amount_sen = 7100 WHERE refid = 'c-202612-1'`)

			out := filepath.Join(dir, "reconcile.jsonl")
			today := time.Now().In(iimmpact.Malaysia).Format(time.DateOnly)
			code, stderr := runReconcile(t, "-db", db, "-from", today, "-out", out, "-csv", filepath.Join(dir, "reconcile.csv"))
			assert.Equal(t, exitDiffers, code, stderr)
			lines := readLines(t, out)
			t.Logf("%s", stderr)
			assert.Equal(t, resultVendorOnly, lines["vendor:"+outside].Result)
			assert.Equal(t, resultResolved, lines["b-202612-1"].Result, "pending here, its callback lost; paid there")
			assert.Equal(t, resultResolved, lines["f-202612-1"].Result, "its answer lost here; paid there")
			assert.Equal(t, resultMatched, lines["d-202612-1"].Result)
			want := map[bool]string{true: "refid", false: "fallback"}[refids]
			assert.Equal(t, want, lines["d-202612-1"].MatchedBy)
			assert.Equal(t, resultStatusDiffers, lines["a-202612-1"].Result, "paid here, refunded there")
			if refids {
				assert.Equal(t, resultAmountDiffers, lines["c-202612-1"].Result)
			} else { // another amount is another payment to the fallback
				assert.Equal(t, resultMissingAtVendor, lines["c-202612-1"].Result)
			}
			assert.False(t, lines["wallet"].difference(), "the wallet moved as the payments say: %s", lines["wallet"].Reason)

			code, stderr = runReconcile(t, "-db", db, "-from", today, "-out", out, "-apply")
			assert.Equal(t, exitDiffers, code, stderr)
			code, stderr = runReconcile(t, "-db", db, "-from", today, "-out", out)
			assert.Equal(t, exitDiffers, code, "the edited amount and the outside payment remain: %s", stderr)
			lines = readLines(t, out)
			for _, id := range []string{"a-202612-1", "b-202612-1", "f-202612-1", "d-202612-1"} {
				assert.Equal(t, resultMatched, lines[id].Result, "%s agrees after -apply", id)
			}
			srv.ResetRequests()
			assert.Equal(t, cli.ExitOK, pay(month+"b,DIGI,0123456712,,,,50.00,6.00\n"), "autopay agrees: nothing is pending")
			for _, r := range srv.Requests() {
				assert.NotEqual(t, "/v2/topup", r.Path, "nothing is asked about or paid again")
			}
		})
	}
}

func readAll(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	var b bytes.Buffer
	_, err := b.ReadFrom(r.Body)
	return b.Bytes(), err
}

// edit runs query on the ledger's SQLite file, as an operator would.
func edit(t *testing.T, path, query string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(query)
	require.NoError(t, err)
}
