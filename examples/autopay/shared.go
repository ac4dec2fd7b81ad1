package main

// Sharing the period with the other processes of autopay, through the
// ledger: each instruction claimed by one process at a time, with a lease
// renewed while it works and taken over after it died; a stop (the wallet,
// the block) seen by one process is every process's; nothing is sent that
// the ledger did not commit first.

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/iimmpact-go/iimmpact/ledger"
)

// ledgerTimeout bounds every call to the ledger: a database that went away
// stops the run within it, and the process exits within a minute.
const ledgerTimeout = 10 * time.Second

// beatEvery bounds how often a process renews its claims: at least three
// times a lease, and at least every 15 s, so a database that went away is
// noticed by the renewals even when nothing else calls it.
func beatEvery(lease time.Duration) time.Duration { return min(lease/3, 15*time.Second) }

// dbContext is the context of one call to the ledger. It is not the run's:
// what was sent is recorded even after a signal.
func dbContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), ledgerTimeout)
}

// ledgerURL is -db, or DATABASE_URL, or the SQLite file beside -out.
func ledgerURL(db, out string) string {
	switch {
	case db != "":
		return db
	case os.Getenv("DATABASE_URL") != "":
		return os.Getenv("DATABASE_URL")
	}
	return "sqlite:" + filepath.Join(filepath.Dir(out), defaultLedger)
}

// defaultLedger is the name of the SQLite ledger beside -out.
const defaultLedger = "autopay-ledger.db"

// ownerName names this process in the claims: its host, its PID, and random
// letters, so a restarted process with a reused PID is another owner.
func ownerName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), rand.Text()[:8])
}

// ledgerFailed stops the run when the ledger fails: no payment is sent
// without its intent committed, so nothing new is sent at all; the requests
// already written finish.
func (j *job) ledgerFailed(err error) {
	j.mu.Lock()
	if j.ledgerErr == nil {
		j.ledgerErr = err
	}
	j.mu.Unlock()
	j.stop(stopLedger)
	if j.cancel != nil {
		j.cancel()
	}
}

// stopRun stops this process and, through the ledger, every process of the
// period.
func (j *job) stopRun(why string) {
	j.stop(why)
	ctx, cancel := dbContext()
	defer cancel()
	if err := j.ledger.Stop(ctx, j.run, why); err != nil {
		j.ledgerFailed(err)
	}
}

// runStopped says why the run stopped, here or in another process; "" while
// it goes on.
func (j *job) runStopped() string {
	if why := j.stopReason(); why != "" {
		return why
	}
	ctx, cancel := dbContext()
	defer cancel()
	why, _, err := j.ledger.Stopped(ctx, j.run)
	switch {
	case err != nil:
		j.ledgerFailed(err)
		return stopLedger
	case why != "":
		j.prog.Say("another process of the period stopped it: " + why)
		j.stop(why)
	}
	return why
}

// heartbeat renews the process's claims until the returned function is
// called; a renewal that fails stops the run.
func (j *job) heartbeat() func() {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(beatEvery(j.lease))
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			ctx, cancel := dbContext()
			_, err := j.ledger.Renew(ctx, j.run, j.owner, j.lease)
			cancel()
			if err != nil {
				j.ledgerFailed(err)
				return
			}
		}
	}()
	return func() { close(done); <-finished }
}

// releaseAll gives back every claim of the process: the next process takes
// them at once, not after the lease.
func (j *job) releaseAll() {
	ctx, cancel := dbContext()
	defer cancel()
	_ = j.ledger.ReleaseAll(ctx, j.run, j.owner) // on failure the leases end by themselves
}

// freeDead releases the claims of the processes of this host that are no
// longer running (a kill -9, an OOM): a process started after one died on
// the same machine takes its work over at once. Those of other machines end
// with their lease.
func (j *job) freeDead() {
	ctx, cancel := dbContext()
	defer cancel()
	owners, err := j.ledger.Owners(ctx, j.run)
	if err != nil {
		j.ledgerFailed(err)
		return
	}
	for _, o := range owners {
		if o != j.owner && deadHere(o) {
			if err := j.ledger.ReleaseAll(ctx, j.run, o); err != nil {
				j.ledgerFailed(err)
				return
			}
		}
	}
}

// othersEvery is how often a process whose own work is done looks again at
// the instructions others hold: a read of the ledger, not a request.
const othersEvery = time.Second

// deadHere reports an owner (ownerName) of this host whose process is gone.
func deadHere(owner string) bool {
	host, _ := os.Hostname()
	h, rest, ok := strings.Cut(owner, "/")
	pid, _, _ := strings.Cut(rest, "/")
	n, err := strconv.Atoi(pid)
	if !ok || h != host || err != nil || n <= 0 {
		return false
	}
	p, err := os.FindProcess(n)
	return err != nil || p.Signal(syscall.Signal(0)) != nil
}

// waitForOthers waits a moment (othersEvery), then returns the instructions
// another process held, to claim again, while one lease has not passed since
// the first was seen held: those the other finished meanwhile drop out; a
// process that died loses its claims by then; one alive keeps renewing them,
// and this one ends, leaving them to it.
func (j *job) waitForOthers(ctx context.Context) []string {
	if len(j.waiting) == 0 {
		return nil
	}
	if j.waitSince.IsZero() {
		j.waitSince = j.now()
	}
	if j.now().Sub(j.waitSince) > j.lease+beatEvery(j.lease) {
		return nil
	}
	t := time.NewTimer(min(othersEvery, beatEvery(j.lease)))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil
	case <-t.C:
	}
	j.freeDead()
	queue := j.waiting
	j.waiting = nil
	return queue
}

// queue is the ids to claim, in input order: the valid instructions, then
// the pending payments whose instruction is no longer in the file.
func (j *job) queue(ins []instruction) []string {
	var ids []string
	for _, in := range ins {
		if in.err == nil {
			ids = append(ids, in.id)
		}
	}
	for _, r := range j.hist.orphans(ins) {
		ids = append(ids, r.ID)
	}
	return ids
}

// claimNext claims up to n ids of queue that are not final and that no
// other process holds, and returns them with what is left of queue. Each one
// claimed is read again: another process may have finished it since.
func (j *job) claimNext(queue []string, n int) (chunk, rest []string) {
	for len(queue) > 0 && len(chunk) < n && j.stopReason() == "" {
		id := queue[0]
		queue = queue[1:]
		if r, ok := j.hist.last[id]; ok && r.final() {
			continue
		}
		ctx, cancel := dbContext()
		held, err := j.ledger.Claim(ctx, j.run, id, j.owner, j.lease)
		var it ledger.Item
		known := false
		if err == nil && held {
			it, known, err = j.ledger.ItemOf(ctx, j.run, id)
		}
		cancel()
		switch {
		case err != nil:
			j.ledgerFailed(err)
			return chunk, nil
		case !held:
			j.heldElsewhere(id)
			continue
		}
		if known {
			j.learn(it)
		}
		if r, ok := j.hist.last[id]; !ok || !r.final() {
			chunk = append(chunk, id)
		}
	}
	return chunk, queue
}

// heldElsewhere notes an instruction another process holds, unless the
// ledger says it is final.
func (j *job) heldElsewhere(id string) {
	ctx, cancel := dbContext()
	it, known, err := j.ledger.ItemOf(ctx, j.run, id)
	cancel()
	switch {
	case err != nil:
		j.ledgerFailed(err)
		return
	case known:
		j.learn(it)
	}
	if r, ok := j.hist.last[id]; !ok || !r.final() {
		j.waiting = append(j.waiting, id)
	}
}

// learn takes what the ledger says of an item as the instruction's state.
func (j *job) learn(it ledger.Item) {
	h := historyOf(map[string]ledger.Item{it.ID: it}, j.period)
	j.mu.Lock()
	defer j.mu.Unlock()
	j.hist.last[it.ID] = h.last[it.ID]
	if why := h.held[it.ID]; why != "" {
		j.hist.held[it.ID] = why
	}
}
