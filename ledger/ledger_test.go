package ledger

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/ledger/ledgertest"
)

// backends are the ledgers a test runs on: SQLite in a temporary file, and
// the PostgreSQL of IIMMPACT_TEST_POSTGRES (a URL; .ci/run starts one), in a
// schema of the test's own.
func backends(t testing.TB, opts ...Option) map[string]func(t testing.TB) *Ledger {
	out := map[string]func(t testing.TB) *Ledger{}
	for name, url := range ledgertest.Backends(t) {
		out[name] = func(t testing.TB) *Ledger {
			l, err := Open(context.Background(), url(t), opts...)
			require.NoError(t, err)
			t.Cleanup(func() { l.Close() })
			return l
		}
	}
	return out
}

func openSQLite(t testing.TB, path string, opts ...Option) *Ledger {
	l, err := Open(context.Background(), "sqlite:"+path, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

var tnb = iimmpact.Payment{RefID: "co-tnb-1", Product: "TNB", Account: "220012345678", Amount: "45.94"}

var jompay = iimmpact.Payment{RefID: "co-jp-1", Product: "JOMPAY", Account: "8800123456", Amount: "100.00",
	BillerCode: "5454", Ref2: "PJ-2025-001", ICNumber: "900101145678"}

// unknown is an error that matches iimmpact.ErrOutcomeUnknown.
type unknown struct{}

func (unknown) Error() string        { return "the payment may have been made" }
func (unknown) Is(target error) bool { return target == iimmpact.ErrOutcomeUnknown }

// callback is the vendor's callback of a successful payment of refid, as
// the SDK's handler reads it.
func callback(t *testing.T, refid string) *iimmpact.Callback {
	var got *iimmpact.Callback
	h := iimmpact.NewCallbackHandler(func(_ context.Context, cb *iimmpact.Callback) { got = cb })
	body := `{"data":{"statusCode":20,"status":"Succesful","refid":"` + refid + `","amount":45.94}}`
	serveCallback(h, body)
	require.NotNil(t, got)
	return got
}

func TestSecretsAreSealedOrNotKept(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	for name, open := range backends(t, WithKey(key)) {
		t.Run(name, func(t *testing.T) {
			l := open(t)
			ctx := context.Background()
			e, err := l.Intent(ctx, jompay)
			require.NoError(t, err)
			assert.True(t, e.Sealed)
			p, err := l.Payment(ctx, jompay.RefID)
			require.NoError(t, err)
			assert.Equal(t, jompay.ICNumber, p.ICNumber, "rebuilt to ask again with what was sent")
			assert.Equal(t, jompay.Ref2, p.Ref2)
			assert.Equal(t, "100.00", p.Amount)
			assert.NotContains(t, dump(t, l), jompay.ICNumber, "never in clear at rest")
			assert.NotContains(t, dump(t, l), jompay.Ref2)
			assert.False(t, icFoundAgain(t, l, jompay, true), "nor found again by trying every IC number against the fingerprint")
			edited := jompay
			edited.ICNumber = "900101145679"
			_, err = l.Intent(ctx, edited)
			assert.ErrorIs(t, err, ErrConflict, "another IC number is another payment")
		})
	}
	for name, open := range backends(t) {
		t.Run(name+"/no key", func(t *testing.T) {
			l := open(t)
			ctx := context.Background()
			e, err := l.Intent(ctx, jompay)
			require.NoError(t, err)
			assert.False(t, e.Sealed)
			_, err = l.Payment(ctx, jompay.RefID)
			assert.ErrorIs(t, err, ErrSealed, "confirmed only by callback or reconciliation")
			assert.NotContains(t, dump(t, l), jompay.ICNumber)
			assert.False(t, icFoundAgain(t, l, jompay, false), "the fingerprint's 16-bit check leaves about 4 of 300,000 for one")
			edited := jompay
			edited.ICNumber = "900101145679"
			_, err = l.Intent(ctx, edited)
			assert.ErrorIs(t, err, ErrConflict, "a changed IC number is still noticed")
			_, err = l.Intent(ctx, tnb)
			require.NoError(t, err)
			p, err := l.Payment(ctx, tnb.RefID)
			require.NoError(t, err, "a payment without secrets is rebuilt without a key")
			assert.Equal(t, tnb.Account, p.Account)
		})
	}
}

// icFoundAgain tries, as someone holding the database but not the key
// would, 300,000 IC numbers (the payer's birth date and place known, the
// last six digits tried, the true one among them) against the stored
// fingerprint: it reports whether exactly one matches.
func icFoundAgain(t *testing.T, l *Ledger, p iimmpact.Payment, keyed bool) bool {
	var stored string
	require.NoError(t, l.db.QueryRow(`SELECT fingerprint FROM payments WHERE refid = $1`, p.RefID).Scan(&stored))
	attacker := &Ledger{check: make([]byte, 32)}
	matches := 0
	for n := range 300_000 {
		guess := p
		guess.ICNumber = fmt.Sprintf("900101%06d", n)
		if attacker.fingerprint(guess, keyed) == stored {
			matches++
		}
	}
	return matches == 1
}

// dump is every value of every row of the ledger's tables, as text.
func dump(t *testing.T, l *Ledger) string {
	var b strings.Builder
	for _, table := range []string{"payments", "events"} {
		rows, err := l.db.Query(`SELECT * FROM ` + table)
		require.NoError(t, err)
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			for _, v := range vals {
				switch v := v.(type) {
				case []byte:
					b.Write(v)
				case string:
					b.WriteString(v)
				}
				b.WriteByte(' ')
			}
		}
		rows.Close()
	}
	return b.String()
}

func TestOpenTwiceMigratesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.db")
	a := openSQLite(t, path)
	_, err := a.Intent(context.Background(), tnb)
	require.NoError(t, err)
	b := openSQLite(t, path)
	e, err := b.Get(context.Background(), tnb.RefID)
	require.NoError(t, err)
	assert.Equal(t, StateSending, e.State)
}

// A setting Open refuses (the URL, the key) is ErrInvalidConfig, to fix; a
// database that does not answer is not, so a tool says "run it again". No
// error shows the URL's password.
func TestOpenTellsASettingFromTheDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.db")
	for _, bad := range []string{"mysql://u:hunter2@x/y", "sqlite:", "postgres", "POSTGRES://x"} {
		_, err := Open(context.Background(), bad)
		assert.ErrorIs(t, err, ErrInvalidConfig, bad)
		assert.NotContains(t, fmt.Sprint(err), "hunter2")
	}
	_, err := Open(context.Background(), "sqlite:"+path, WithKey([]byte("short")))
	assert.ErrorIs(t, err, ErrInvalidConfig)
	t.Setenv("IIMMPACT_LEDGER_KEY", "c2hvcnQ=")
	_, err = KeyFromEnv()
	assert.ErrorIs(t, err, ErrInvalidConfig)

	_, err = Open(context.Background(), ledgertest.Down(t))
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrInvalidConfig)
	assert.NotContains(t, err.Error(), "hunter2")
	assert.NotContains(t, redactURL("postgres://u:hunter2@h/x"), "hunter2")
}

// Processes started at once on a new database (three autopay workers, two
// pods) migrate it once between them, and every one opens it.
func TestProcessesOpeningANewDatabaseAtOnce(t *testing.T) {
	for name, url := range ledgertest.Backends(t) {
		t.Run(name, func(t *testing.T) {
			u := url(t)
			var wg sync.WaitGroup
			errs := make([]error, 6)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					l, err := Open(context.Background(), u)
					if err == nil {
						_, err = l.Intent(context.Background(), iimmpact.Payment{RefID: fmt.Sprintf("co-open-%d", i), Product: "TNB", Account: "220012345678", Amount: "1.00"})
						l.Close()
					}
					errs[i] = err
				}()
			}
			wg.Wait()
			for i, err := range errs {
				assert.NoError(t, err, "process %d", i)
			}
		})
	}
}
