package ledger

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	_ "modernc.org/sqlite"             // the "sqlite" driver, pure Go

	"github.com/iimmpact-go/iimmpact"
)

// Ledger is the payments of a merchant, in a database every process shares.
// It is safe for concurrent use.
type Ledger struct {
	db    *sql.DB
	seal  cipher.AEAD // nil without a key: IC numbers and Ref-2 are not kept
	check []byte      // the key the fingerprints' HMAC of the IC number and Ref-2 is under; nil without a key
	now   func() time.Time
	// forUpdate locks a row read in a transaction on PostgreSQL; SQLite's
	// transactions lock the whole database as they begin.
	forUpdate string
}

// The states of a payment in the ledger.
const (
	StateSending    = "sending"    // the intent is recorded; the request may have left
	StateProcessing = "processing" // answered, not final: ask again
	StateUnknown    = "unknown"    // the outcome is unknown (ErrOutcomeUnknown): ask again
	StateRefused    = "refused"    // nothing was created: the same refid may be sent again
	StatePaid       = "paid"
	StateFailed     = "failed" // failed at the biller: another attempt needs a new refid
	StateRefunded   = "refunded"
)

// open reports the states in which a payment is still to be asked about.
func open(state string) bool {
	return state == StateSending || state == StateProcessing || state == StateUnknown
}

// Errors of the ledger.
var (
	// ErrConflict is the error of an intent under a refid the ledger knows
	// with another payment: the refid is not reused for another body.
	ErrConflict = errors.New("ledger: the refid is recorded with another payment")
	// ErrNotFound is the error of a refid the ledger does not know.
	ErrNotFound = errors.New("ledger: no payment with this refid")
	// ErrSealed is the error of Payment for a payment whose IC number or
	// Ref-2 the ledger did not keep (it has no key): it can be confirmed only
	// by its callback or by reconciliation.
	ErrSealed = errors.New("ledger: the payment's IC number or Ref-2 were not kept (no IIMMPACT_LEDGER_KEY): confirm it by callback or reconciliation")
	// ErrInvalidConfig is wrapped by the errors of a setting (the URL, the
	// key) that Open or KeyFromEnv refuse: fix the setting, for trying
	// again cannot help. Any other error of Open is the database's.
	ErrInvalidConfig = errors.New("ledger: invalid configuration")
)

// Option configures Open.
type Option func(*Ledger) error

// WithKey seals IC numbers and Ref-2 with AES-256-GCM under key (32 bytes).
func WithKey(key []byte) Option {
	return func(l *Ledger) error {
		if len(key) != 32 {
			return fmt.Errorf("%w: WithKey: the key must be 32 bytes, not %d", ErrInvalidConfig, len(key))
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return err
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte("ledger: fingerprints"))
		l.check = mac.Sum(nil)
		l.seal, err = cipher.NewGCM(block)
		return err
	}
}

// KeyFromEnv reads IIMMPACT_LEDGER_KEY (32 bytes in Base64); nil when it is
// not set.
func KeyFromEnv() ([]byte, error) {
	v := os.Getenv("IIMMPACT_LEDGER_KEY")
	if v == "" {
		return nil, nil
	}
	key, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%w: IIMMPACT_LEDGER_KEY must be 32 random bytes in Base64 (openssl rand -base64 32)", ErrInvalidConfig)
	}
	return key, nil
}

// maxConns bounds a process's connections to PostgreSQL: enough for its
// workers (each holds one only for a statement or a short transaction), few
// enough that a fleet of processes stays well within max_connections (100 by
// default).
const maxConns = 8

//go:embed migrations/*.sql
var migrations embed.FS

// Open connects to url, "sqlite:PATH" or "postgres://…", and applies the
// schema's migrations it has not applied yet.
func Open(ctx context.Context, url string, opts ...Option) (*Ledger, error) {
	driver, dsn, err := dataSource(url)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	switch driver {
	case "sqlite":
		db.SetMaxOpenConns(1) // one writer; the busy timeout orders the processes
	case "pgx":
		// Connections kept open for a process's workers: database/sql keeps
		// two idle by default, and PostgreSQL starts a process for every
		// connection, so a pool that drops them spends its time connecting.
		db.SetMaxOpenConns(maxConns)
		db.SetMaxIdleConns(maxConns)
		db.SetConnMaxIdleTime(time.Minute)
	}
	l := &Ledger{db: db, now: time.Now}
	if driver == "pgx" {
		l.forUpdate = " FOR UPDATE"
	}
	for _, o := range opts {
		if err = o(l); err != nil {
			db.Close()
			return nil, err
		}
	}
	if err = migrate(ctx, db, driver); err != nil {
		db.Close()
		return nil, err
	}
	return l, nil
}

// dataSource turns a ledger URL into a driver and its data source.
func dataSource(url string) (driver, dsn string, err error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return "pgx", url, nil
	case strings.HasPrefix(url, "sqlite:") && len(url) > len("sqlite:"):
		path := strings.TrimPrefix(url, "sqlite:")
		// Every transaction takes the write lock when it begins (immediate),
		// so two processes never both read, then both write.
		return "sqlite", "file:" + path + "?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)", nil
	}
	return "", "", fmt.Errorf("%w: %q is not sqlite:PATH or a postgres:// URL", ErrInvalidConfig, redactURL(url))
}

// redactURL drops a URL's password.
func redactURL(url string) string {
	if at := strings.LastIndex(url, "@"); at >= 0 {
		if scheme := strings.Index(url, "://"); scheme >= 0 && scheme < at {
			return url[:scheme+3] + "…@" + url[at+1:]
		}
	}
	return url
}

// migrate applies, in order and each once, the embedded migrations. Processes
// starting at once on a new database take turns: on PostgreSQL under an
// advisory lock (even CREATE TABLE IF NOT EXISTS races there), on SQLite
// under the write lock each transaction takes as it begins.
func migrate(ctx context.Context, db *sql.DB, driver string) error {
	conn, err := connect(ctx, db)
	if err != nil {
		return fmt.Errorf("ledger: migrations: %w", err)
	}
	defer conn.Close()
	if driver == "pgx" {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
			return fmt.Errorf("ledger: migrations: %w", err)
		}
		defer func() { // the session's end releases it too
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock)
		}()
	}
	// In a transaction: on SQLite it takes the write lock as it begins
	// (waiting for it), where a statement alone would read the schema first
	// and could find another process's write in the way (SQLITE_BUSY).
	tx, err := conn.BeginTx(ctx, nil)
	if err == nil {
		if _, err = tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY)`); err == nil {
			err = tx.Commit()
		} else {
			_ = tx.Rollback()
		}
	}
	if err != nil {
		return fmt.Errorf("ledger: migrations: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	slices.Sort(names)
	for _, name := range names {
		if err := apply(ctx, conn, name); err != nil {
			return fmt.Errorf("ledger: migration %s: %w", name, err)
		}
	}
	return nil
}

// connect takes a connection. SQLite may answer "database is locked" to a
// connection opening while another process switches a new database to WAL:
// that one step does not wait for the lock, so it is tried again, a few
// milliseconds apart, for up to the busy timeout.
func connect(ctx context.Context, db *sql.DB) (*sql.Conn, error) {
	deadline := time.Now().Add(10 * time.Second)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		conn, err := db.Conn(ctx)
		var coded interface{ Code() int }
		if err == nil || !errors.As(err, &coded) || coded.Code()&0xff != sqliteBusy || time.Now().After(deadline) {
			return conn, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// sqliteBusy is SQLITE_BUSY, the primary result code of "database is locked".
const sqliteBusy = 5

// migrationLock is the ledger's advisory lock key on PostgreSQL.
const migrationLock = 0x1ed6e2

// apply runs one migration in a transaction, unless it ran before.
func apply(ctx context.Context, conn *sql.Conn, name string) error {
	text, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var done int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = $1`, name).Scan(&done); err != nil || done > 0 {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name) VALUES ($1)`, name); err != nil {
		return err
	}
	// A migration is statements ended by ";", with "--" comments; no
	// string literal in them holds either.
	for _, stmt := range strings.Split(stripComments(string(text)), ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// Close closes the database.
func (l *Ledger) Close() error { return l.db.Close() }

// Entry is a payment as the ledger holds it: never its IC number or Ref-2.
type Entry struct {
	RefID, Product, Account, BillerCode string
	AmountSen                           int64
	State                               string
	Code                                int // the vendor's code of the last answer; -1 for none
	Created, Updated                    time.Time
	// Sealed reports that the IC number and Ref-2 are kept, sealed.
	Sealed bool
	// Serial, RequestID and VendorTime are the vendor's, from the answer
	// that left the payment in its state: what a receipt shows.
	Serial, RequestID string
	VendorTime        time.Time
	// Fresh reports, on Intent's entry only, that this call made the
	// payment sending (a new payment, or a refused one sent again), rather
	// than finding it recorded already.
	Fresh bool
}

// Open reports a payment still to be asked about.
func (e Entry) Open() bool { return open(e.State) }

// fingerprint identifies what a payment sends, trimmed as Pay sends it: the
// same refid with another fingerprint is another payment. The IC number and
// Ref-2 (and the subproduct and remarks) never enter it in clear, where the
// short IC number could be found again by trying them all: under a key they
// enter as an HMAC ("k1:"); without one, as a 16-bit check ("c1:"), enough
// to notice that one changed (all but 1 in 65,536 changes) and far too
// little to recover one.
func (l *Ledger) fingerprint(p iimmpact.Payment, keyed bool) string {
	p = p.Trimmed()
	amount, _ := iimmpact.ParseAmount(p.Amount)
	secret := strings.Join([]string{p.Ref2, p.ICNumber, p.SubproductCode, p.Remarks}, "\x00")
	form, check := "c1:", sha256.Sum256([]byte(secret))
	part := hex.EncodeToString(check[:2])
	if keyed {
		mac := hmac.New(sha256.New, l.check)
		mac.Write([]byte(secret))
		form, part = "k1:", hex.EncodeToString(mac.Sum(nil))
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{"ledger/2", p.RefID, strings.ToUpper(p.Product), p.Account, amount.String(),
		p.BillerCode, part}, "\x00")))
	return form + hex.EncodeToString(sum[:])
}

// same reports whether p is the payment whose fingerprint is known, in the
// form known was made in; ErrSealed when that needs the key the ledger was
// not given.
func (l *Ledger) same(p iimmpact.Payment, known string) (bool, error) {
	keyed := strings.HasPrefix(known, "k1:")
	if keyed && l.check == nil {
		return false, fmt.Errorf("%w: %s", ErrSealed, p.RefID)
	}
	return l.fingerprint(p, keyed) == known, nil
}

// secrets are what is sealed: never kept in clear.
type secrets struct {
	ICNumber       string `json:"ic,omitempty"`
	Ref2           string `json:"ref2,omitempty"`
	SubproductCode string `json:"sub,omitempty"`
	Remarks        string `json:"remarks,omitempty"`
}

// sealed seals p's secrets, bound to its refid; nil without a key.
func (l *Ledger) sealed(p iimmpact.Payment) ([]byte, error) {
	if l.seal == nil {
		return nil, nil
	}
	plain, _ := json.Marshal(secrets{p.ICNumber, p.Ref2, p.SubproductCode, p.Remarks})
	nonce := make([]byte, l.seal.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return l.seal.Seal(nonce, nonce, plain, []byte(p.RefID)), nil
}
