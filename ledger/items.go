package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Item is one item's state in its run (an instruction of autopay in a
// period), in the words of the tool that runs it.
type Item struct {
	ID        string
	State     string // the tool's own word, such as "nothing_due"
	RefID     string // the payment the item made; "" for none
	Attempt   int
	AmountSen int64
	Detail    string // redacted by the tool: never an account, IC number or Ref-2
	Updated   time.Time
	// Payment is the state of the payment under RefID as the ledger holds
	// it, the truth about it; "" when the ledger has none (its intent was
	// never committed, so it was never sent). Code is its last answer's
	// vendor code, -1 for none.
	Payment string
	Code    int
}

// ErrNotHeld is the error of Mark by an owner that does not hold the item's
// claim (its lease ended and another process took it over).
var ErrNotHeld = errors.New("ledger: the item's claim is not held by this owner")

// Mark records it as its item's state in run, replacing the last, when owner
// holds the item's claim: a process whose lease ended never overwrites what
// the new owner wrote.
func (l *Ledger) Mark(ctx context.Context, run, owner string, it Item) error {
	res, err := l.db.ExecContext(ctx, `INSERT INTO items (run, id, state, refid, attempt, amount_sen, detail, updated_us)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE EXISTS (SELECT 1 FROM claims WHERE run = $1 AND item = $2 AND owner = $9)
		ON CONFLICT (run, id) DO UPDATE SET state = excluded.state, refid = excluded.refid, attempt = excluded.attempt,
			amount_sen = excluded.amount_sen, detail = excluded.detail, updated_us = excluded.updated_us`,
		run, it.ID, it.State, it.RefID, it.Attempt, it.AmountSen, it.Detail, l.now().UnixMicro(), owner)
	if err != nil {
		return fmt.Errorf("ledger: marking %s of %s: %w", it.ID, run, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s of %s", ErrNotHeld, it.ID, run)
	}
	return nil
}

const itemQuery = `SELECT i.id, i.state, i.refid, i.attempt, i.amount_sen, i.detail, i.updated_us, COALESCE(p.state, ''), COALESCE(p.code, -1)
	FROM items i LEFT JOIN payments p ON p.refid = i.refid WHERE i.run = $1`

func scanItem(r row) (Item, error) {
	var it Item
	var updated int64
	err := r.Scan(&it.ID, &it.State, &it.RefID, &it.Attempt, &it.AmountSen, &it.Detail, &updated, &it.Payment, &it.Code)
	it.Updated = time.UnixMicro(updated)
	return it, err
}

// Items returns the state of every item of run, by id, each with its
// payment's state.
func (l *Ledger) Items(ctx context.Context, run string) (map[string]Item, error) {
	items, err := queryAll(ctx, l.db, scanItem, itemQuery, run)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Item, len(items))
	for _, it := range items {
		out[it.ID] = it
	}
	return out, nil
}

// ItemOf returns one item of run; ok is false when nothing was recorded of it.
func (l *Ledger) ItemOf(ctx context.Context, run, id string) (it Item, ok bool, err error) {
	it, err = scanItem(l.db.QueryRowContext(ctx, itemQuery+` AND i.id = $2`, run, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Item{}, false, nil
	case err != nil:
		return Item{}, false, fmt.Errorf("ledger: %w", err)
	}
	return it, true, nil
}
