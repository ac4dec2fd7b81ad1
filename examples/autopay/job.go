package main

// The period's run, top to bottom: claim a chunk of instructions, ask about
// their pending payments, read the wallet, present and decide, pay; then wait
// for those still processing, read the wallet again. The files follow it:
// shared.go (the ledger, claims, stops), instructions.go, decide.go, pay.go,
// record.go, report.go.

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/examples/internal/cli"
	"github.com/iimmpact-go/iimmpact/examples/internal/jobfile"
	"github.com/iimmpact-go/iimmpact/examples/internal/progress"
	"github.com/iimmpact-go/iimmpact/ledger"
)

// Why a run stopped before its work was done.
const (
	stopBlocked = "blocked" // IIMMPACT answers 403 to this IP
	stopWallet  = "wallet"  // the wallet cannot pay the rest
	stopWrite   = "write"   // the report could not be written
	stopLedger  = "ledger"  // the ledger failed: nothing is sent without it
)

// job is one process's run of autopay over one period, shared through the
// ledger with every other process of the period.
type job struct {
	client  *iimmpact.Client
	ledger  *ledger.Ledger
	run     string // the period's name in the ledger
	owner   string // this process, in the ledger's claims
	lease   time.Duration
	out     *jobfile.Results
	period  string
	prog    *progress.Progress
	workers int
	now     func() time.Time
	byID    map[string]instruction // the valid instructions

	mu        sync.Mutex
	hist      history   // the period's states, as this process knows them
	waiting   []string  // the ids another process held, to claim again
	waitSince time.Time // when the first was seen held
	stopped   string    // a stop* reason, "" while the run goes on
	writeErr  error
	ledgerErr error
	cancel    context.CancelFunc // ends the run: nothing new is sent
	paidSen   int64              // paid this run
	shortSen  int64              // what the payments not made for the wallet need
	wallet    int64              // what the wallet can still pay, after the payments handed out
	// walletShort: the wallet could not cover every payment; the run pays
	// what it covers, then ends as if the wallet had stopped it.
	walletShort bool
}

func (j *job) stop(why string) {
	j.mu.Lock()
	if j.stopped == "" {
		j.stopped = why
	}
	j.mu.Unlock()
}

func (j *job) stopReason() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.stopped
}

// hold keeps an instruction from paying for the rest of the run, and says why.
func (j *job) hold(id, why string) {
	j.mu.Lock()
	j.hist.held[id] = why
	j.mu.Unlock()
	j.prog.Say(fmt.Sprintf("instruction %s is held: %s", id, why))
}

func (j *job) short(sen int64) {
	j.mu.Lock()
	j.shortSen += sen
	j.mu.Unlock()
}

// chunkPerWorker sets how many instructions a process claims at a time:
// enough to keep its workers busy, few enough that the processes of a
// period share the work.
const chunkPerWorker = 1

// runPeriod claims the period's instructions a chunk at a time, in input
// order, skipping those another process holds. For each chunk it asks about
// the pending payments first, then presents the bills of the instructions
// left to do and pays them. Then it claims again, for up to one lease, what
// the others held (a dead process's work is taken over), and waits for the
// payments still being processed. It returns the wallet's balance after,
// when known.
func (j *job) runPeriod(ctx context.Context, ins []instruction, wait, grace time.Duration) iimmpact.Amount {
	ctx, j.cancel = context.WithCancel(ctx)
	defer j.cancel()
	calls, stopCalls := cli.Calls(ctx, grace)
	defer stopCalls()
	defer j.heartbeat()()
	defer j.releaseAll()
	queue := j.queue(ins)
	var pending []pendingPay
	for ctx.Err() == nil && j.stopReason() == "" {
		var chunk []string
		chunk, queue = j.claimNext(queue, j.workers*chunkPerWorker)
		if len(chunk) == 0 && len(queue) == 0 {
			if queue = j.waitForOthers(ctx); len(queue) == 0 {
				break
			}
			continue
		}
		pending = append(pending, j.askPending(ctx, calls, chunk)...)
		todo := j.todo(chunk)
		if len(todo) == 0 || ctx.Err() != nil || j.runStopped() != "" || !j.readWallet(calls) {
			continue
		}
		plans := j.present(calls, todo)
		if ctx.Err() == nil && j.stopReason() != stopBlocked {
			pending = append(pending, j.payAll(ctx, calls, j.budget(plans))...)
		}
		if j.walletShort { // what it covered is paid: now every process stops
			j.stopRun(stopWallet)
		}
	}
	j.await(calls, pending, wait)
	return j.walletAfter(calls)
}

// todo is the instructions of chunk that may make a new payment.
func (j *job) todo(chunk []string) []instruction {
	var out []instruction
	for _, id := range chunk {
		in, ok := j.byID[id]
		r, known := j.hist.last[id]
		if _, more := j.hist.next(id); ok && more && (!known || r.Status != statusPending) {
			out = append(out, in)
		}
	}
	return out
}

// readWallet reads the wallet's balance before a chunk's payments: what the
// other processes spent is gone from it.
func (j *job) readWallet(calls context.Context) bool {
	bal, err := j.client.Balance(calls)
	switch {
	case err != nil:
		j.prog.Say("the wallet's balance could not be read: " + err.Error())
		if blocked(err) {
			j.stopRun(stopBlocked)
		}
		return false
	case !bal.CanPay:
		j.prog.Say("this API key may not make payments (the wallet is read-only)")
		j.stopRun(stopWallet)
		return false
	}
	j.mu.Lock()
	j.wallet = bal.Amount.Sen()
	j.mu.Unlock()
	return true
}

// walletAfter reads the wallet's balance at the end of a run that paid or
// was stopped by the wallet; the zero Amount when it was not read.
func (j *job) walletAfter(calls context.Context) iimmpact.Amount {
	if j.paidSen == 0 && j.stopReason() != stopWallet && !j.walletShort {
		return iimmpact.Amount{}
	}
	after, err := j.client.Balance(calls)
	if err != nil {
		return iimmpact.Amount{}
	}
	return after.Amount
}
