package main

// The run: the client (or the built-in sandbox), the history matched row by
// row as it streams, the statement summed, and what is left of ours.

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/examples/internal/cli"
	"github.com/iimmpact-go/iimmpact/examples/internal/progress"
	"github.com/iimmpact-go/iimmpact/examples/internal/setup"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

// job is one run of reconcile.
type job struct {
	client  *iimmpact.Client
	sandbox *iimmpacttest.Server
	prog    *progress.Progress
	stderr  io.Writer
	from    time.Time // the first day
	to      time.Time // the last day
}

// newJob makes the client: the real API, or the built-in sandbox. Every call
// waits for its quota slot: a long history is paced, never refused.
func newJob(ctx context.Context, o options, stderr io.Writer) (*job, int) {
	prog := progress.New(stderr, "reconcile", 0, time.Now)
	client, sandbox, err := setup.Client(iimmpact.WithTimeout(o.timeout), iimmpact.WithObserver(prog), iimmpact.WithQuotaWait(24*time.Hour))
	if err != nil {
		fmt.Fprintf(stderr, "reconcile: %v\n%s\n", err, setup.Hint)
		return nil, exitUsage
	}
	if sandbox != nil {
		fmt.Fprintln(stderr, "reconcile: no IIMMPACT_ variables are set: using the built-in sandbox, new this run: it is given the records' paid and failed payments first")
	}
	return &job{client: client, sandbox: sandbox, prog: prog, stderr: stderr, from: o.from, to: o.to}, exitOK
}

func (j *job) close() {
	if j.sandbox != nil {
		j.sandbox.Close()
	}
}

// seed makes the records' paid and failed payments in the built-in
// sandbox, so a first run has books to match: a paid one is entered in its
// books as made (any product, JomPAY's too, whose IC number the records may
// not hold), a failed one is sent, and fails as the sandbox's test accounts
// do. Records without a product or account (autopay's report) cannot be
// made.
func (j *job) seed(ctx context.Context, recs []*record) {
	made := 0
	for _, r := range recs {
		amount := iimmpact.AmountFromSen(r.amountSen).String()
		switch {
		case r.product == "" || r.account == "":
		case r.status == ourPaid:
			j.sandbox.PayOutside(r.refid, r.product, r.account, amount)
			made++
		case r.status == ourFailed:
			if _, err := j.sandbox.Client.Pay(ctx, iimmpact.Payment{RefID: r.refid, Product: r.product, Account: r.account, Amount: amount}); err == nil {
				made++
			}
		}
	}
	fmt.Fprintf(j.stderr, "reconcile: the sandbox made %d of the records' payments\n", made)
}

// reconcile matches the history of the range against recs as it streams,
// then sums the statement, then lists what is left of ours.
func (j *job) reconcile(ctx context.Context, recs []*record) ([]line, error) {
	m := newMatcher(recs)
	var lines []line
	var cost int64 // what the history's payments took from the wallet
	j.prog.Start()
	defer j.prog.Stop()
	for row, err := range j.client.Transactions(ctx, iimmpact.HistoryQuery{From: j.from, To: j.to}) {
		if err != nil {
			return nil, err
		}
		lines = append(lines, m.match(row))
		if row.Status == iimmpact.TransactionSucceeded || !row.Status.Final() {
			cost += row.Amount.Sen()
		}
		j.prog.Row()
	}
	wallet, err := j.wallet(ctx, cost)
	if err != nil {
		return nil, err
	}
	lines = append(lines, m.unmatched(recs)...)
	return append(lines, wallet), nil
}

// wallet compares the statement's payments and refunds over the range with
// what the history's payments cost: money moved that no payment explains is
// a difference. Deposits and the like are named in the reason.
func (j *job) wallet(ctx context.Context, cost int64) (line, error) {
	var moved, other int64
	for l, err := range j.client.Statement(ctx, iimmpact.StatementQuery{From: j.from, To: j.to}) {
		if err != nil {
			return line{}, err
		}
		switch l.Type {
		case "debit", "refund":
			moved += l.Amount.Sen()
		default:
			other += l.Amount.Sen()
		}
	}
	w := line{Result: resultWallet, OurAmountSen: -cost, VendorAmountSen: moved,
		Reason: fmt.Sprintf("the history's payments cost %s; the statement's payments and refunds moved %s; its other movements %s",
			cli.Ringgit(cost), cli.Ringgit(moved), cli.Ringgit(other))}
	return w, nil
}
