package ledger

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/iimmpact-go/iimmpact"
)

// Intent records p before it is sent, committed when it returns: a payment
// is never sent without its intent recorded. The same payment again (a
// re-run, another pod) returns its entry as it stands; another payment under
// a known refid is ErrConflict. A refid the API refused (nothing was created
// under it) may be sent again, with this body or another: it is open again
// (sending) until it is answered. p must be valid (Payment.Validate).
func (l *Ledger) Intent(ctx context.Context, p iimmpact.Payment) (Entry, error) {
	p = p.Trimmed() // as Pay sends it
	if err := p.Validate(); err != nil {
		return Entry{}, err
	}
	sealed, err := l.sealed(p)
	if err != nil {
		return Entry{}, err
	}
	amount, _ := iimmpact.ParseAmount(p.Amount)
	now := l.now().UnixMicro()
	fp := l.fingerprint(p, l.check != nil)
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return Entry{}, fmt.Errorf("ledger: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO payments (refid, fingerprint, product, account, biller_code, amount_sen, sealed, state, code, created_us, updated_us)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, -1, $9, $9) ON CONFLICT (refid) DO NOTHING`,
		p.RefID, fp, strings.ToUpper(p.Product), p.Account, p.BillerCode,
		amount.Sen(), sealed, StateSending, now)
	if err != nil {
		return Entry{}, fmt.Errorf("ledger: recording the intent of %s: %w", p.RefID, err)
	}
	fresh := false
	if n, _ := res.RowsAffected(); n == 1 {
		if err := addEvent(ctx, tx, p.RefID, "intent", "intent", StateSending, -1, "", now); err != nil {
			return Entry{}, err
		}
		fresh = true
	} else if fresh, err = l.intentAgain(ctx, tx, p, fp, sealed, now); err != nil {
		return Entry{}, err
	}
	if err := tx.Commit(); err != nil {
		return Entry{}, fmt.Errorf("ledger: committing the intent of %s: %w", p.RefID, err)
	}
	if fresh { // what was just written
		at := time.UnixMicro(now)
		return Entry{RefID: p.RefID, Product: strings.ToUpper(p.Product), Account: p.Account, BillerCode: p.BillerCode, AmountSen: amount.Sen(),
			State: StateSending, Code: -1, Created: at, Updated: at, Sealed: sealed != nil, Fresh: true}, nil
	}
	return l.Get(ctx, p.RefID)
}

// intentAgain records the intent of p under a refid the ledger knows: a
// refid the API refused (nothing was created under it) is sent again, as this
// payment, open again until it is answered, in one conditional update so two
// processes never both take it; any other is the same payment, or
// ErrConflict.
func (l *Ledger) intentAgain(ctx context.Context, tx *sql.Tx, p iimmpact.Payment, fp string, sealed []byte, now int64) (fresh bool, err error) {
	amount, _ := iimmpact.ParseAmount(p.Amount)
	res, err := tx.ExecContext(ctx, `UPDATE payments SET fingerprint = $1, product = $2, account = $3, biller_code = $4, amount_sen = $5,
		sealed = $6, state = $7, code = -1, updated_us = $8 WHERE refid = $9 AND state = $10`,
		fp, strings.ToUpper(p.Product), p.Account, p.BillerCode, amount.Sen(), sealed, StateSending, now, p.RefID, StateRefused)
	if err != nil {
		return false, fmt.Errorf("ledger: recording the intent of %s: %w", p.RefID, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, addEvent(ctx, tx, p.RefID, "intent", "intent:"+strconv.FormatInt(now, 10), StateSending, -1, "sent again after a refusal", now)
	}
	var known string
	if err := tx.QueryRowContext(ctx, `SELECT fingerprint FROM payments WHERE refid = $1`, p.RefID).Scan(&known); err != nil {
		return false, fmt.Errorf("ledger: %w", err)
	}
	if same, err := l.same(p, known); err != nil || !same {
		return false, cmp.Or(err, fmt.Errorf("%w: %s", ErrConflict, p.RefID))
	}
	return false, nil
}

// Answer records what Pay said of refid's payment, and returns its state. A
// final state is never undone by a later answer (a refund may follow a
// payment); an error that proves only that this ask created nothing leaves
// an open payment open.
// The answer's serial number, request id and time are kept with the state
// it leaves, for the receipt.
func (l *Ledger) Answer(ctx context.Context, refid string, t *iimmpact.Transaction, err error) (Entry, error) {
	state, code, detail := answerState(t, err)
	return l.move(ctx, refid, "answer", state, code, detail, t)
}

// Doubt records, before a process asks about refid's payment without
// having recorded its intent (a callback, a page's refresh, a pod that took
// over), that the payment may be sent by that ask: sending becomes unknown,
// so a Refuse by the intent's own caller, racing with it, cannot say it was
// never sent.
func (l *Ledger) Doubt(ctx context.Context, refid string) (Entry, error) {
	now := l.now().UnixMicro()
	if _, err := l.db.ExecContext(ctx, `UPDATE payments SET state = $1, updated_us = $2 WHERE refid = $3 AND state = $4`,
		StateUnknown, now, refid, StateSending); err != nil {
		return Entry{}, fmt.Errorf("ledger: %w", err)
	}
	return l.Get(ctx, refid)
}

// Refuse records that refid's payment was never sent, for why (the quota
// refused it, the IP is blocked, the request was stopped): it moves from
// sending to refused, created nothing, and may be sent again. Only the caller
// whose Intent made it sending (Entry.Fresh) and whose one request did not
// leave may say so: a payment left sending by another process may have been
// sent.
func (l *Ledger) Refuse(ctx context.Context, refid, why string) (Entry, error) {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return Entry{}, fmt.Errorf("ledger: %w", err)
	}
	defer tx.Rollback()
	now := l.now().UnixMicro()
	res, err := tx.ExecContext(ctx, `UPDATE payments SET state = $1, code = -1, updated_us = $2 WHERE refid = $3 AND state = $4`,
		StateRefused, now, refid, StateSending)
	if err != nil {
		return Entry{}, fmt.Errorf("ledger: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		if err := addEvent(ctx, tx, refid, "refuse", "refuse:"+strconv.FormatInt(now, 10), StateRefused, -1, "not sent: "+why, now); err != nil {
			return Entry{}, err
		}
	}
	if err := tx.Commit(); err != nil {
		return Entry{}, fmt.Errorf("ledger: %w", err)
	}
	return l.Get(ctx, refid)
}

// answerState is the state an answer moves a payment to, when it moves it:
// "" leaves it as it is.
func answerState(t *iimmpact.Transaction, err error) (state string, code int, detail string) {
	var apiErr *iimmpact.APIError
	switch {
	case err == nil:
		return transactionState(t.Status), t.Code, string(t.Status)
	case errors.Is(err, iimmpact.ErrOutcomeUnknown):
		return StateUnknown, -1, "outcome unknown"
	case errors.As(err, &apiErr) && apiErr.StatusCode == 400:
		return StateRefused, apiErr.Code, "refused: HTTP 400"
	}
	return "", -1, "not sent or not answered: " + kindOf(err)
}

func transactionState(s iimmpact.TransactionStatus) string {
	switch s {
	case iimmpact.TransactionSucceeded:
		return StatePaid
	case iimmpact.TransactionFailed:
		return StateFailed
	case iimmpact.TransactionRefunded:
		return StateRefunded
	}
	return StateProcessing
}

// kindOf names an error without its text, which may quote the payer.
func kindOf(err error) string {
	switch {
	case errors.Is(err, iimmpact.ErrQuotaExceeded):
		return "quota"
	case errors.Is(err, iimmpact.ErrBlocked):
		return "blocked"
	case errors.Is(err, iimmpact.ErrNotSent):
		return "not sent"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "context"
	}
	return "error"
}

// Callback records the vendor's callback as a row of its payment's history,
// once however often it is delivered, and returns the payment's entry. A
// callback is a hint: it moves nothing; ask with Pay to confirm it. A
// callback for a refid the ledger does not know is ErrNotFound.
func (l *Ledger) Callback(ctx context.Context, cb *iimmpact.Callback) (Entry, error) {
	sum := sha256.Sum256(cb.Raw())
	if len(cb.Raw()) == 0 {
		sum = sha256.Sum256([]byte(string(cb.Status) + "\x00" + strconv.Itoa(cb.Code)))
	}
	e, err := l.Get(ctx, cb.RefID)
	if err != nil {
		return Entry{}, err
	}
	err = addEvent(ctx, l.db, cb.RefID, "callback", hex.EncodeToString(sum[:16]), string(cb.Status), cb.Code, "from "+cb.From.String(), l.now().UnixMicro())
	return e, err
}

// move records an event and moves the payment to state unless its state is
// final (or state is ""), in one transaction.
func (l *Ledger) move(ctx context.Context, refid, kind, state string, code int, detail string, t *iimmpact.Transaction) (Entry, error) {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return Entry{}, fmt.Errorf("ledger: %w", err)
	}
	defer tx.Rollback()
	// The row is locked as it is read (SQLite's transactions lock the
	// database as they begin), so two answers at once never both move it
	// from what they read.
	var e Entry
	e, err = scanEntry(tx.QueryRowContext(ctx, `SELECT `+entryColumns+` FROM payments WHERE refid = $1`+l.forUpdate, refid))
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, fmt.Errorf("%w: %s", ErrNotFound, refid)
	} else if err != nil {
		return Entry{}, fmt.Errorf("ledger: %w", err)
	}
	current := e.State
	now := l.now().UnixMicro()
	if next := transition(current, state); next != current {
		e.State, e.Code, e.Updated = next, code, time.UnixMicro(now)
		if t != nil { // the answer that moved it: what its receipt shows
			e.Serial, e.RequestID, e.VendorTime = t.SerialNumber, t.RequestID, t.Time
		}
		var vendor int64
		if !e.VendorTime.IsZero() {
			vendor = e.VendorTime.UnixMicro()
		}
		if _, err := tx.ExecContext(ctx, `UPDATE payments SET state = $1, code = $2, updated_us = $3, serial = $4, request_id = $5, vendor_us = $6 WHERE refid = $7`,
			next, code, now, e.Serial, e.RequestID, vendor, refid); err != nil {
			return Entry{}, fmt.Errorf("ledger: %w", err)
		}
	}
	shown := state
	if shown == "" {
		shown = current
	}
	dedup := kind + ":" + shown + ":" + strconv.Itoa(code) + ":" + detail
	if err := addEvent(ctx, tx, refid, kind, dedup, shown, code, detail, now); err != nil {
		return Entry{}, err
	}
	if err := tx.Commit(); err != nil {
		return Entry{}, fmt.Errorf("ledger: %w", err)
	}
	return e, nil
}

// transition is the state after an answer of state: a final state stays
// (but a paid payment may be refunded); "" changes nothing; a refusal of an
// ask leaves a payment that may exist open.
func transition(current, state string) string {
	switch {
	case state == "":
		return current
	case current == StatePaid && state == StateRefunded:
		return state
	case current == StatePaid, current == StateFailed, current == StateRefunded:
		return current
	case state == StateRefused && (current == StateProcessing || current == StateUnknown):
		return current // this ask created nothing; the payment may exist
	}
	return state
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func addEvent(ctx context.Context, db execer, refid, kind, dedup, state string, code int, detail string, at int64) error {
	_, err := db.ExecContext(ctx, `INSERT INTO events (refid, kind, dedup, state, code, detail, at_us) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (refid, kind, dedup) DO NOTHING`, refid, kind, dedup, state, code, detail, at)
	if err != nil {
		return fmt.Errorf("ledger: recording the %s of %s: %w", kind, refid, err)
	}
	return nil
}

const entryColumns = `refid, product, account, biller_code, amount_sen, state, code, created_us, updated_us, sealed IS NOT NULL, serial, request_id, vendor_us`

func scanEntry(r row) (Entry, error) {
	var e Entry
	var created, updated, vendor int64
	err := r.Scan(&e.RefID, &e.Product, &e.Account, &e.BillerCode, &e.AmountSen, &e.State, &e.Code, &created, &updated, &e.Sealed,
		&e.Serial, &e.RequestID, &vendor)
	e.Created, e.Updated = time.UnixMicro(created), time.UnixMicro(updated)
	if vendor != 0 {
		e.VendorTime = time.UnixMicro(vendor)
	}
	return e, err
}

// Get returns refid's entry, or ErrNotFound.
func (l *Ledger) Get(ctx context.Context, refid string) (Entry, error) {
	e, err := scanEntry(l.db.QueryRowContext(ctx, `SELECT `+entryColumns+` FROM payments WHERE refid = $1`, refid))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Entry{}, fmt.Errorf("%w: %s", ErrNotFound, refid)
	case err != nil:
		return Entry{}, fmt.Errorf("ledger: %w", err)
	}
	return e, nil
}

// Pending returns the payments still to be asked about (sending, processing
// or unknown), oldest first.
func (l *Ledger) Pending(ctx context.Context) ([]Entry, error) {
	return l.entries(ctx, `SELECT `+entryColumns+` FROM payments WHERE state IN ($1, $2, $3) ORDER BY created_us, refid`,
		StateSending, StateProcessing, StateUnknown)
}

// Between returns the payments whose intent was recorded from from (inclusive)
// to to (exclusive), oldest first: what reconciliation matches against the
// vendor's history of those days.
func (l *Ledger) Between(ctx context.Context, from, to time.Time) ([]Entry, error) {
	return l.entries(ctx, `SELECT `+entryColumns+` FROM payments WHERE created_us >= $1 AND created_us < $2 ORDER BY created_us, refid`,
		from.UnixMicro(), to.UnixMicro())
}

// entries runs a query of entryColumns and reads its rows.
func (l *Ledger) entries(ctx context.Context, query string, args ...any) ([]Entry, error) {
	return queryAll(ctx, l.db, scanEntry, query, args...)
}

// row is what a scan reads: a *sql.Row or *sql.Rows.
type row interface{ Scan(...any) error }

// queryAll runs query and reads every row with scan.
func queryAll[T any](ctx context.Context, db *sql.DB, scan func(row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return out, nil
}

// Event is one row of a payment's history.
type Event struct {
	Kind, State string
	Code        int
	Detail      string
	At          time.Time
}

// History returns refid's events, oldest first.
func (l *Ledger) History(ctx context.Context, refid string) ([]Event, error) {
	return queryAll(ctx, l.db, func(r row) (Event, error) {
		var e Event
		var at int64
		err := r.Scan(&e.Kind, &e.State, &e.Code, &e.Detail, &at)
		e.At = time.UnixMicro(at)
		return e, err
	}, `SELECT kind, state, code, detail, at_us FROM events WHERE refid = $1 ORDER BY at_us, kind`, refid)
}

// Payment rebuilds the Payment recorded under refid, to ask about it again
// with exactly what was sent. A payment whose IC number or Ref-2 the ledger
// could not keep (no key, or another key) is ErrSealed.
func (l *Ledger) Payment(ctx context.Context, refid string) (iimmpact.Payment, error) {
	var p iimmpact.Payment
	var amount int64
	var sealed []byte
	var fp string
	err := l.db.QueryRowContext(ctx, `SELECT refid, product, account, biller_code, amount_sen, sealed, fingerprint FROM payments WHERE refid = $1`, refid).
		Scan(&p.RefID, &p.Product, &p.Account, &p.BillerCode, &amount, &sealed, &fp)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return p, fmt.Errorf("%w: %s", ErrNotFound, refid)
	case err != nil:
		return p, fmt.Errorf("ledger: %w", err)
	}
	p.Amount = iimmpact.AmountFromSen(amount).String()
	if sealed != nil && l.seal != nil {
		if s, err := l.open(refid, sealed); err == nil {
			p.ICNumber, p.Ref2, p.SubproductCode, p.Remarks = s.ICNumber, s.Ref2, s.SubproductCode, s.Remarks
		}
	}
	if same, _ := l.same(p, fp); !same {
		return iimmpact.Payment{RefID: refid}, fmt.Errorf("%w: %s", ErrSealed, refid)
	}
	return p, nil
}

func (l *Ledger) open(refid string, sealed []byte) (secrets, error) {
	var s secrets
	n := l.seal.NonceSize()
	if len(sealed) < n {
		return s, errors.New("ledger: sealed data too short")
	}
	plain, err := l.seal.Open(nil, sealed[:n], sealed[n:], []byte(refid))
	if err == nil {
		err = json.Unmarshal(plain, &s)
	}
	return s, err
}
