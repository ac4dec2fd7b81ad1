package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
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

// write appends r as the instruction's new state. A failed write stops the
// run: a payment is never sent that the file could not record first.
func (j *job) write(r record) error {
	r.Period, r.Time = j.period, j.now().UTC().Format(time.RFC3339)
	data, _ := json.Marshal(r)
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.writeErr != nil {
		return j.writeErr
	}
	err := j.out.Append(data)
	if err == nil && r.Status == statusPending && r.Reason == reasonSending {
		err = j.out.Sync() // the intent must survive a kill before the payment is sent
	}
	if err != nil {
		j.writeErr, j.stopped = err, stopWrite
		return err
	}
	j.hist.last[r.ID] = r
	j.hist.attempts[r.ID] = max(j.hist.attempts[r.ID], r.Attempt)
	if r.Status == statusPaid {
		j.paidSen += r.AmountSen
	}
	if r.final() || r.Status == statusFailed {
		j.prog.Row()
	}
	return nil
}

// reasonSending marks the record written just before a payment is sent.
const reasonSending = "sending"

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

// each runs fn for every item, with at most workers at once, until ctx ends.
func each[T any](ctx context.Context, workers int, items []T, fn func(T)) {
	sem := make(chan struct{}, max(workers, 1))
	var wg sync.WaitGroup
	for _, it := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(it)
		}()
	}
	wg.Wait()
}

// askPending asks again about every payment the file leaves pending, before
// any other payment or bill: with the instruction's own refid for the
// attempt, and only when the instruction still makes the payment that was
// sent (its fingerprint). A changed instruction is held, never paid blindly.
func (j *job) askPending(ctx, calls context.Context, ins []instruction) []pendingPay {
	var pend []pendingPay
	for in := range j.hist.pendingOf(ins) {
		r := j.hist.last[in.id]
		p := pendingPay{in: in, refid: in.refID(j.period, r.Attempt), attempt: r.Attempt, amount: r.AmountSen, mayExist: true}
		if r.Fingerprint == "" || fingerprint(p.payment()) != r.Fingerprint {
			j.hold(in.id, fmt.Sprintf("its payment %s is pending, and the instruction no longer makes that payment (its product, account, extras or the amount changed since it was sent): not asked, not paid; restore the row as it was to ask about it", p.refid))
			continue
		}
		pend = append(pend, p)
	}
	return j.stillPending(ctx, pend, func(p pendingPay) bool {
		return j.stopReason() == "" && j.settle(p, j.pay(calls, p)) == statusPending
	})
}

// stillPending runs fn on each payment, with at most workers at once, and
// returns those fn reports still pending.
func (j *job) stillPending(ctx context.Context, pays []pendingPay, fn func(pendingPay) bool) []pendingPay {
	var still []pendingPay
	var mu sync.Mutex
	each(ctx, j.workers, pays, func(p pendingPay) {
		if fn(p) {
			mu.Lock()
			still = append(still, p)
			mu.Unlock()
		}
	})
	return still
}

// pendingPay is a payment whose refid and amount are fixed.
type pendingPay struct {
	in      instruction
	refid   string
	attempt int
	amount  int64
	// mayExist: an earlier run or ask made it, or may have. Then an error
	// proves only that this ask created nothing, not that it does not exist.
	mayExist bool
}

// answer is what Pay said of one payment.
type answer struct {
	tx  *iimmpact.Transaction
	err error
}

// payment is what p sends.
func (p pendingPay) payment() iimmpact.Payment { return p.in.payment(p.refid, p.amount) }

func (j *job) pay(ctx context.Context, p pendingPay) answer {
	tx, err := j.client.Pay(ctx, p.payment())
	return answer{tx, err}
}

// hold keeps an instruction from paying for the rest of the run, and says why.
func (j *job) hold(id, why string) {
	j.mu.Lock()
	j.hist.held[id] = why
	j.mu.Unlock()
	j.prog.Say(fmt.Sprintf("instruction %s is held: %s", id, why))
}

// settle records what a payment came to and returns the status recorded.
func (j *job) settle(p pendingPay, a answer) string {
	r := record{ID: p.in.id, RefID: p.refid, Attempt: p.attempt, AmountSen: p.amount}
	var apiErr *iimmpact.APIError
	switch {
	case a.err == nil:
		code := a.tx.Code
		r.Code, r.RequestID = &code, a.tx.RequestID
		switch a.tx.Status {
		case iimmpact.TransactionSucceeded:
			r.Status = statusPaid
		case iimmpact.TransactionFailed, iimmpact.TransactionRefunded:
			r.Status, r.Reason = statusFailed, "the API answered "+string(a.tx.Status)
			r.Retry = retryable(code) && p.attempt < maxAttempts
			if code == codeWallet { // the wallet, never the bill: the next attempt pays after a top-up
				r.Retry, r.Wallet = p.attempt < maxRefIDs, true
				j.stop(stopWallet)
				j.short(p.amount)
			}
		default:
			r.Status, r.Reason = statusPending, "the API answered "+string(a.tx.Status)
		}
	case errors.Is(a.err, iimmpact.ErrOutcomeUnknown), p.mayExist:
		r.Status, r.Reason, r.Fingerprint = statusPending, a.err.Error(), fingerprint(p.payment())
		if blocked(a.err) {
			j.stop(stopBlocked)
		}
	case errors.As(a.err, &apiErr) && apiErr.StatusCode == http.StatusBadRequest:
		r.Status, r.Reason, r.RequestID = statusFailed, a.err.Error(), apiErr.RequestID
		if apiErr.Code == strconv.Itoa(codeWallet) {
			r.Status = statusNotSent // nothing was created: the same refid after a top-up
			j.stop(stopWallet)
			j.short(p.amount)
		}
	default: // nothing was created: the quota, the breaker, a 401, 403 or 429, a stop
		r.Status, r.Reason = statusNotSent, a.err.Error()
		if blocked(a.err) {
			j.stop(stopBlocked)
		}
	}
	if r.Status == statusPending {
		r.Fingerprint = fingerprint(p.payment())
	}
	_ = j.write(r)
	return r.Status
}

// codeWallet is the vendor's code for insufficient wallet credit.
const codeWallet = 43

// blocked reports an error that says IIMMPACT answers 403 to this IP: the
// breaker's, or a 403 itself (the first request of a run may meet the block).
func blocked(err error) bool {
	var apiErr *iimmpact.APIError
	return errors.Is(err, iimmpact.ErrBlocked) || (errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden)
}

func (j *job) short(sen int64) {
	j.mu.Lock()
	j.shortSen += sen
	j.mu.Unlock()
}

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

// payAll writes what needs no payment, then makes the payments: each one's
// intent is written (and synced) before it is sent.
func (j *job) payAll(ctx, calls context.Context, plans []plan) []pendingPay {
	var payments []pendingPay
	for _, p := range plans {
		if p.rec != nil {
			_ = j.write(*p.rec)
			continue
		}
		payments = append(payments, pendingPay{in: p.in, refid: p.in.refID(j.period, p.attempt), attempt: p.attempt, amount: p.amount})
	}
	return j.stillPending(ctx, payments, func(p pendingPay) bool {
		if why := j.stopReason(); why != "" {
			if why == stopWallet {
				j.short(p.amount)
			}
			_ = j.write(record{ID: p.in.id, Status: statusNotSent, AmountSen: p.amount, Attempt: p.attempt, Reason: "the run stopped: " + why})
			return false
		}
		intent := record{ID: p.in.id, RefID: p.refid, Attempt: p.attempt, Status: statusPending, AmountSen: p.amount, Reason: reasonSending,
			Fingerprint: fingerprint(p.payment())}
		if j.write(intent) != nil {
			return false // the intent could not be recorded: nothing is sent
		}
		return j.settle(p, j.pay(calls, p)) == statusPending
	})
}

// await asks about the payments still pending, at the vendor's cadence,
// until they are final or wait has passed.
func (j *job) await(ctx context.Context, pend []pendingPay, wait time.Duration) {
	if len(pend) == 0 || wait <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	j.prog.Say(fmt.Sprintf("waiting up to %s for %d payments still being processed", wait, len(pend)))
	each(ctx, len(pend), pend, func(p pendingPay) {
		tx, err := j.client.PayUntilFinal(ctx, p.payment())
		if errors.Is(err, iimmpact.ErrOutcomeUnknown) {
			return // nothing final yet: it stays pending
		}
		p.mayExist = true // it was sent before this wait
		j.settle(p, answer{tx, err})
	})
}

// summary says what the period's records hold, and what to do next.
func (j *job) summary(w io.Writer, ins []instruction, walletAfter iimmpact.Amount) {
	counts := map[string]int{}
	var paid, pending int64
	for _, in := range ins {
		r, ok := j.hist.last[in.id]
		switch {
		case in.err != nil:
			counts["invalid_row"]++
			continue
		case !ok:
			counts[statusNotSent]++
			continue
		}
		counts[r.Status]++
		switch r.Status {
		case statusPaid:
			paid += r.AmountSen
		case statusPending:
			pending += r.AmountSen
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Fprintf(w, "autopay: period %s, %d instructions:", j.period, len(ins))
	for _, k := range keys {
		fmt.Fprintf(w, " %s %d;", k, counts[k])
	}
	fmt.Fprintf(w, " paid %s in all (%s this run), %s pending", cli.Ringgit(paid), cli.Ringgit(j.paidSen), cli.Ringgit(pending))
	if walletAfter.State() == iimmpact.Returned {
		fmt.Fprintf(w, "; wallet after %s", cli.Ringgit(walletAfter.Sen()))
	}
	fmt.Fprintln(w)
}
