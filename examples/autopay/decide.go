package main

// Deciding: each instruction's bill, presented in a paced batch, decided by
// the rule of a standing instruction, and the wallet handed out in input
// order.

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/examples/internal/cli"
)

// plan is what one instruction's bill decides: a record to write, or a
// payment of amount to make.
type plan struct {
	in      instruction
	rec     *record
	amount  int64
	attempt int
}

// present asks for the bills of the instructions left to do, in a paced
// batch, and decides each.
func (j *job) present(calls context.Context, todo []instruction) []plan {
	plans := make([]plan, len(todo))
	queries := func(yield func(iimmpact.Query) bool) {
		for _, in := range todo {
			if !yield(in.query) {
				return
			}
		}
	}
	for i, r := range j.client.BillPresentments(calls, queries, j.workers) {
		attempt, _ := j.hist.next(todo[i].id)
		plans[i] = decide(todo[i], r.Bill, r.Err, attempt)
		if blocked(r.Err) {
			j.stop(stopBlocked)
		}
	}
	return plans
}

// decide is the rule of a standing instruction: never pay an invalid
// account; pay what a bill says is owed up to the instruction's limit; pay a
// fixed amount when there is no bill to present.
func decide(in instruction, bill *iimmpact.Bill, err error, attempt int) plan {
	p := plan{in: in, attempt: attempt}
	status, reason, amount := rule(in, bill, err)
	if status == "" {
		p.amount = amount
		return p
	}
	p.rec = &record{ID: in.id, Status: status, Reason: reason, AmountSen: amount, Attempt: attempt}
	if bill != nil {
		p.rec.RequestID = bill.RequestID
	}
	return p
}

// rule returns the status to record, with its reason and amount, or "" and
// the amount to pay.
func rule(in instruction, bill *iimmpact.Bill, err error) (status, reason string, amount int64) {
	d := bill.Decision()
	switch {
	case d.Action == iimmpact.ActionBlock:
		return statusInvalidAccount, in.scrub(d.Message), 0
	case errors.Is(err, iimmpact.ErrNotSent), blocked(err), errors.Is(err, context.Canceled):
		return statusNotSent, err.Error(), 0
	case d.Action == iimmpact.ActionShow && bill.Data.Outstanding.State() == iimmpact.Returned:
		return billRule(in, bill.Data.Outstanding.Sen())
	case in.fixedSen > in.maxSen:
		return statusOverLimit, fmt.Sprintf("the fixed amount %s is above the limit of %s", cli.Ringgit(in.fixedSen), cli.Ringgit(in.maxSen)), in.fixedSen
	case in.fixedSen > 0:
		return "", "", in.fixedSen
	case err != nil:
		return statusNotSent, err.Error(), 0 // no bill for now: the next run asks again
	}
	return statusNoBill, string(d.Reason), 0
}

// billRule is the rule for a bill that says what is owed: nothing owed (0,
// or a credit below 0) is nothing due, a fixed amount or not.
func billRule(in instruction, owed int64) (status, reason string, amount int64) {
	switch {
	case owed < 0:
		return statusNothingDue, "the bill shows a credit of " + cli.Ringgit(-owed), 0
	case owed == 0:
		return statusNothingDue, "", 0
	case owed > in.maxSen:
		return statusOverLimit, fmt.Sprintf("the bill is %s, above the limit of %s: review it", cli.Ringgit(owed), cli.Ringgit(in.maxSen)), owed
	}
	return "", "", owed
}

// budget hands out the wallet to the payments in input order: a payment the
// wallet left cannot cover is not sent, nor is any after it.
func (j *job) budget(plans []plan) []plan {
	out := slices.Clone(plans)
	short := false
	for i, p := range out {
		if p.rec != nil {
			continue
		}
		if short || p.amount > j.wallet {
			short = true
			j.shortSen += p.amount
			out[i].rec = &record{ID: p.in.id, Status: statusNotSent, AmountSen: p.amount, Attempt: p.attempt, Reason: "the wallet cannot pay it"}
			continue
		}
		j.wallet -= p.amount
	}
	j.walletShort = j.walletShort || short
	return out
}
