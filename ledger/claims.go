package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Claim takes item of run for owner until lease has passed, and reports
// whether owner holds it: it does when no one held it, when the last
// holder's lease has ended (its process died), or when owner held it already
// (a renewal). One conditional upsert, atomic on both engines: two processes
// claiming one item at once never both hold it. A new owner of an item must
// first ask about the payments the last one may have left in flight (the
// ledger's Pending, by refid).
//
// Claims are per item over a known list, so they need neither a transaction
// held open (FOR UPDATE SKIP LOCKED, PostgreSQL only) nor a job engine's
// queue and workers: a lease row each, the same on SQLite and PostgreSQL.
func (l *Ledger) Claim(ctx context.Context, run, item, owner string, lease time.Duration) (bool, error) {
	now := l.now()
	var holder string
	err := l.db.QueryRowContext(ctx, `INSERT INTO claims (run, item, owner, until_us) VALUES ($1, $2, $3, $4)
		ON CONFLICT (run, item) DO UPDATE SET owner = excluded.owner, until_us = excluded.until_us
		WHERE claims.until_us < $5 OR claims.owner = excluded.owner
		RETURNING owner`, run, item, owner, now.Add(lease).UnixMicro(), now.UnixMicro()).Scan(&holder)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil // another owner's lease runs
	case err != nil:
		return false, fmt.Errorf("ledger: claiming %s of %s: %w", item, run, err)
	}
	return holder == owner, nil
}

// Release gives item of run back, when owner holds it: the next claim takes
// it at once.
func (l *Ledger) Release(ctx context.Context, run, item, owner string) error {
	_, err := l.db.ExecContext(ctx, `DELETE FROM claims WHERE run = $1 AND item = $2 AND owner = $3`, run, item, owner)
	if err != nil {
		return fmt.Errorf("ledger: releasing %s of %s: %w", item, run, err)
	}
	return nil
}

// ReleaseAll gives back every claim owner holds in run: a process that ends,
// or one whose process is known to be dead, need not wait out its leases.
func (l *Ledger) ReleaseAll(ctx context.Context, run, owner string) error {
	if _, err := l.db.ExecContext(ctx, `DELETE FROM claims WHERE run = $1 AND owner = $2`, run, owner); err != nil {
		return fmt.Errorf("ledger: releasing the claims of %s: %w", run, err)
	}
	return nil
}

// Owners returns the owners of claims in run, those whose lease ended
// included, sorted.
func (l *Ledger) Owners(ctx context.Context, run string) ([]string, error) {
	return queryAll(ctx, l.db, func(r row) (string, error) {
		var o string
		err := r.Scan(&o)
		return o, err
	}, `SELECT DISTINCT owner FROM claims WHERE run = $1 ORDER BY owner`, run)
}

// Stop records why run stopped (such as "wallet" or "blocked"), for every
// process of the run; the first reason stays.
func (l *Ledger) Stop(ctx context.Context, run, why string) error {
	_, err := l.db.ExecContext(ctx, `INSERT INTO runs (run, stopped, at_us) VALUES ($1, $2, $3) ON CONFLICT (run) DO NOTHING`,
		run, why, l.now().UnixMicro())
	if err != nil {
		return fmt.Errorf("ledger: stopping %s: %w", run, err)
	}
	return nil
}

// Stopped returns why run stopped and when, "" while it goes on.
func (l *Ledger) Stopped(ctx context.Context, run string) (why string, at time.Time, err error) {
	var us int64
	err = l.db.QueryRowContext(ctx, `SELECT stopped, at_us FROM runs WHERE run = $1`, run).Scan(&why, &us)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", time.Time{}, nil
	case err != nil:
		return "", time.Time{}, fmt.Errorf("ledger: %w", err)
	}
	return why, time.UnixMicro(us), nil
}

// Resume forgets run's stop when it was recorded before before: a process
// started after the stop (after the top-up, after the block) pays on, while
// one that was running when it was recorded still sees it.
func (l *Ledger) Resume(ctx context.Context, run string, before time.Time) error {
	if _, err := l.db.ExecContext(ctx, `DELETE FROM runs WHERE run = $1 AND at_us < $2`, run, before.UnixMicro()); err != nil {
		return fmt.Errorf("ledger: resuming %s: %w", run, err)
	}
	return nil
}

// Renew extends every claim owner holds in run to lease from now, and says
// how many it holds: a process renews well within its lease, so its items
// are not taken over while it works.
func (l *Ledger) Renew(ctx context.Context, run, owner string, lease time.Duration) (int, error) {
	res, err := l.db.ExecContext(ctx, `UPDATE claims SET until_us = $1 WHERE run = $2 AND owner = $3`,
		l.now().Add(lease).UnixMicro(), run, owner)
	if err != nil {
		return 0, fmt.Errorf("ledger: renewing the claims of %s: %w", run, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
