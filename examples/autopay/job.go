package main

// The period's run, top to bottom: ask about pending payments, read the
// wallet, present and decide, pay, wait for those still processing, read the
// wallet again. The files follow it: instructions.go, decide.go, pay.go,
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
)

// Why a run stopped before its work was done.
const (
	stopBlocked = "blocked" // IIMMPACT answers 403 to this IP
	stopWallet  = "wallet"  // the wallet cannot pay the rest
	stopWrite   = "write"   // the results could not be written
)

// job is one run of autopay over one period.
type job struct {
	client  *iimmpact.Client
	out     *jobfile.Results
	period  string
	prog    *progress.Progress
	workers int
	now     func() time.Time

	mu       sync.Mutex
	hist     history // the period's records, this run's included
	stopped  string  // a stop* reason, "" while the run goes on
	writeErr error
	paidSen  int64 // paid this run
	shortSen int64 // what the payments not made for the wallet need
	wallet   int64 // what the wallet can still pay, after the payments handed out
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

// runPeriod asks about the pending payments first, then presents the bills
// of the instructions left to do and pays them, then waits for the payments
// still being processed. It returns the wallet's balance after, when known.
func (j *job) runPeriod(ctx context.Context, ins []instruction, wait, grace time.Duration) iimmpact.Amount {
	calls, stopCalls := cli.Calls(ctx, grace)
	defer stopCalls()
	pending := j.askPending(ctx, calls, ins)
	var todo []instruction
	for _, in := range ins {
		r, known := j.hist.last[in.id]
		if _, more := j.hist.next(in.id); in.err == nil && more && (!known || r.Status != statusPending) {
			todo = append(todo, in)
		}
	}
	if len(todo) == 0 || j.stopReason() != "" || ctx.Err() != nil {
		j.await(calls, pending, wait)
		return j.walletAfter(calls)
	}
	bal, err := j.client.Balance(calls)
	switch {
	case err != nil:
		j.prog.Say("the wallet's balance could not be read: " + err.Error())
		if blocked(err) {
			j.stop(stopBlocked)
		}
		return iimmpact.Amount{}
	case !bal.CanPay:
		j.prog.Say("this API key may not make payments (the wallet is read-only)")
		j.stop(stopWallet)
		return bal.Amount
	}
	j.wallet = bal.Amount.Sen()
	plans := j.present(calls, todo)
	if ctx.Err() == nil && j.stopReason() != stopBlocked {
		pending = append(pending, j.payAll(ctx, calls, j.budget(plans))...)
	}
	j.await(calls, pending, wait)
	return j.walletAfter(calls)
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
