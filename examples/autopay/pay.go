package main

// Paying: the pending payments asked about first, then the new ones, each
// intent recorded before it is sent, and the answers settled.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/ledger"
)

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

// askPending asks again about every payment of chunk the ledger says is
// pending, before any other payment or bill, with exactly what was sent (the
// ledger's record of it), under its own refid: the API then answers with it
// instead of paying again, whichever process sent it.
func (j *job) askPending(ctx, calls context.Context, chunk []string) []pendingPay {
	var pend []pendingPay
	for id := range j.hist.pendingIn(chunk) {
		r := j.hist.last[id]
		if p, ok := j.sent(id, r); ok {
			pend = append(pend, p)
		}
	}
	return j.stillPending(ctx, pend, func(p pendingPay) bool {
		return j.stopReason() == "" && j.settle(p, j.pay(calls, p)) == statusPending
	})
}

// sent is the payment r says is pending, as the ledger recorded it. Without
// the ledger's key it cannot rebuild one with an IC number or Ref-2: then the
// instruction's payment is asked with, when it is the same payment (the
// ledger compares them); otherwise the instruction is held.
func (j *job) sent(id string, r record) (pendingPay, bool) {
	p := pendingPay{id: id, refid: r.RefID, attempt: r.Attempt, amount: r.AmountSen, in: j.byID[id]}
	ctx, cancel := dbContext()
	defer cancel()
	pay, err := j.ledger.Payment(ctx, r.RefID)
	if errors.Is(err, ledger.ErrSealed) && p.in.id != "" {
		pay = p.in.payment(r.RefID, r.AmountSen)
		_, err = j.ledger.Intent(ctx, pay) // the same payment returns it as it stands
	}
	switch {
	case errors.Is(err, ledger.ErrSealed), errors.Is(err, ledger.ErrConflict):
		j.hold(id, fmt.Sprintf("its payment %s is pending, and it was sent with an IC number or Ref-2 the ledger could not keep (no IIMMPACT_LEDGER_KEY), so it cannot be asked about again unless the instruction's row is as it was: not asked, not paid", r.RefID))
		return p, false
	case err != nil:
		j.ledgerFailed(err)
		return p, false
	}
	p.payment = pay
	return p, true
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

// pendingPay is a payment whose refid, amount and body are fixed.
type pendingPay struct {
	id      string
	refid   string
	attempt int
	amount  int64
	payment iimmpact.Payment
	in      instruction // its instruction; the zero one for an orphan
}

// answer is what Pay said of one payment.
type answer struct {
	tx  *iimmpact.Transaction
	err error
}

func (j *job) pay(ctx context.Context, p pendingPay) answer {
	tx, err := j.client.Pay(ctx, p.payment)
	return answer{tx, err}
}

// settle records what Pay said of a payment in the ledger, which decides
// its state (a late or refused answer never undoes a payment that may
// exist), then the instruction's state, and returns it.
func (j *job) settle(p pendingPay, a answer) string {
	ctx, cancel := dbContext()
	e, err := j.ledger.Answer(ctx, p.refid, a.tx, a.err)
	cancel()
	if err != nil {
		j.ledgerFailed(err)
		return statusPending // the ledger still says it may be in flight: the next run asks
	}
	r := recordOf(ledger.Item{ID: p.id, RefID: p.refid, Attempt: p.attempt, AmountSen: e.AmountSen, Payment: e.State, Code: e.Code})
	var apiErr *iimmpact.APIError
	switch {
	case a.err == nil:
		r.RequestID = a.tx.RequestID
		if r.Status != statusPaid {
			r.Reason = "the API answered " + string(a.tx.Status)
		}
	case errors.As(a.err, &apiErr):
		r.RequestID, r.Reason = apiErr.RequestID, p.in.scrub(a.err.Error())
	default:
		r.Reason = p.in.scrub(a.err.Error())
	}
	if r.Wallet {
		j.stopRun(stopWallet)
		j.short(p.amount)
	}
	if blocked(a.err) {
		j.stopRun(stopBlocked)
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

// payAll writes what needs no payment, then makes the payments: each one's
// state and intent are committed to the ledger before it is sent, and none is
// sent once the run stopped, here or in another process.
func (j *job) payAll(ctx, calls context.Context, plans []plan) []pendingPay {
	var payments []pendingPay
	for _, p := range plans {
		if p.rec != nil {
			_ = j.write(*p.rec)
			continue
		}
		refid := p.in.refID(j.period, p.attempt)
		payments = append(payments, pendingPay{id: p.in.id, in: p.in, refid: refid, attempt: p.attempt, amount: p.amount, payment: p.in.payment(refid, p.amount)})
	}
	return j.stillPending(ctx, payments, func(p pendingPay) bool {
		if why := j.runStopped(); why != "" {
			if why == stopWallet {
				j.short(p.amount)
			}
			_ = j.write(record{ID: p.id, Status: statusNotSent, AmountSen: p.amount, Attempt: p.attempt, Reason: "the run stopped: " + why})
			return false
		}
		if j.write(record{ID: p.id, RefID: p.refid, Attempt: p.attempt, Status: statusPending, AmountSen: p.amount, Reason: reasonSending}) != nil {
			return false // not ours any more, or the ledger failed: nothing is sent
		}
		dctx, cancel := dbContext()
		_, err := j.ledger.Intent(dctx, p.payment)
		cancel()
		switch {
		case errors.Is(err, ledger.ErrConflict):
			j.hold(p.id, fmt.Sprintf("the ledger holds its refid %s with another payment: not paid; see that payment's state", p.refid))
			return false
		case err != nil:
			j.ledgerFailed(err)
			return false // the intent is not committed: nothing is sent
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
		tx, err := j.client.PayUntilFinal(ctx, p.payment)
		if errors.Is(err, iimmpact.ErrOutcomeUnknown) {
			return // nothing final yet: it stays pending
		}
		j.settle(p, answer{tx, err})
	})
}
