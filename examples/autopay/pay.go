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
		if apiErr.Code == codeWallet {
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
