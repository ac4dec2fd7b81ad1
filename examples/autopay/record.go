package main

// Recording: each instruction's state in the ledger (the truth, shared by
// every process of the period), what it says of a period (the history), the
// rules a state keeps, and the report of what this process did (-out).

import (
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/iimmpact-go/iimmpact/ledger"
)

// statuses are those autopay writes.
var statuses = []string{statusPaid, statusPending, statusFailed, statusInvalidAccount, statusOverLimit, statusNothingDue, statusNoBill, statusNotSent}

// The statuses of an instruction in a period.
const (
	statusPaid           = "paid"
	statusPending        = "pending"
	statusFailed         = "failed"
	statusInvalidAccount = "invalid_account"
	statusOverLimit      = "over_limit"
	statusNothingDue     = "nothing_due"
	statusNoBill         = "no_bill"
	statusNotSent        = "not_sent"
)

// record is an instruction's state in a period, and a line of the report.
type record struct {
	ID        string `json:"id"`
	Period    string `json:"period"`
	RefID     string `json:"refid,omitempty"`
	Attempt   int    `json:"attempt,omitempty"`
	Status    string `json:"status"`
	AmountSen int64  `json:"amount_sen"`
	Code      *int   `json:"code,omitempty"` // the vendor's code, for a payment that was answered
	Reason    string `json:"reason,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// Retry marks a failure another attempt, with a new refid, may follow
	// (the vendor's 47 service unavailable and 55 provider timeout, and 43,
	// the wallet, after a top-up).
	Retry bool `json:"retry,omitempty"`
	// Wallet marks a failure for insufficient wallet credit (code 43): it is
	// never the bill's, and is not counted against maxAttempts.
	Wallet bool   `json:"wallet,omitempty"`
	Time   string `json:"time"`
}

// recordOf is what the ledger says of an instruction: its item, and for an
// item that made a payment, that payment's state, which is the truth of it.
func recordOf(it ledger.Item) record {
	r := record{ID: it.ID, RefID: it.RefID, Attempt: it.Attempt, Status: it.State, AmountSen: it.AmountSen, Reason: it.Detail}
	if it.RefID == "" {
		return r
	}
	if it.Code >= 0 {
		code := it.Code
		r.Code = &code
	}
	switch it.Payment {
	case "":
		r.Status = statusNotSent // its intent was never committed, so it was never sent
	case ledger.StateSending, ledger.StateProcessing, ledger.StateUnknown:
		r.Status = statusPending
	case ledger.StatePaid:
		r.Status = statusPaid
	case ledger.StateRefused: // nothing was created
		r.Status = statusFailed
		if it.Code == codeWallet { // the same refid after a top-up
			r.Status, r.Wallet = statusNotSent, true
		}
	default: // failed or refunded
		r.Status = statusFailed
		r.Retry = retryable(it.Code) && r.Attempt < maxAttempts
		if it.Code == codeWallet { // the wallet, never the bill: the next attempt pays after a top-up
			r.Retry, r.Wallet = r.Attempt < maxRefIDs, true
		}
	}
	return r
}

// final reports a state the period keeps: a failure that may be retried, a
// pending payment and one not sent are not.
func (r record) final() bool {
	switch r.Status {
	case statusPending, statusNotSent:
		return false
	case statusFailed:
		return !r.Retry
	}
	return true
}

// history is what the ledger says of one period: each instruction's state,
// and the instructions this process holds (never paid, never final).
type history struct {
	last map[string]record
	held map[string]string // why, by id
}

// historyOf reads the period's items. An item that breaks a rule of the
// states autopay writes (a status it does not write, an attempt out of range,
// a refid that is not the instruction's own) holds its instruction: nothing
// can be trusted of it.
func historyOf(items map[string]ledger.Item, period string) history {
	h := history{last: map[string]record{}, held: map[string]string{}}
	for id, it := range items {
		r := recordOf(it)
		r.Period = period
		if !slices.Contains(statuses, it.State) {
			h.held[id] = fmt.Sprintf("the ledger's item has status %q, not one autopay writes", it.State)
		} else if why := r.broken(); why != "" {
			h.held[id] = "the ledger's item " + why
		}
		h.last[id] = r
	}
	return h
}

// broken says which rule of the records r breaks; "" when none.
func (r record) broken() string {
	switch {
	case !slices.Contains(statuses, r.Status):
		return fmt.Sprintf("has status %q, not one autopay writes", r.Status)
	case r.Attempt < 0 || r.Attempt > maxRefIDs:
		return fmt.Sprintf("has attempt %d, not 1 to %d", r.Attempt, maxRefIDs)
	case r.AmountSen < 0:
		return "has a negative amount"
	case r.RefID != "" && r.RefID != refIDOf(r.ID, r.Period, r.Attempt):
		return fmt.Sprintf("has refid %q, not the instruction's own %q", r.RefID, refIDOf(r.ID, r.Period, r.Attempt))
	}
	return ""
}

// next is the attempt an instruction's next new payment makes, and whether it
// may make one at all: only after a failure the vendor says may pass, and at
// most maxAttempts a period.
func (h history) next(id string) (int, bool) {
	last, ok := h.last[id]
	switch {
	case h.held[id] != "":
		return 0, false
	case !ok:
		return 1, true
	case last.Status == statusFailed && last.Wallet:
		return last.Attempt + 1, last.Attempt < maxRefIDs
	case last.Status == statusFailed && last.Retry:
		return last.Attempt + 1, last.Attempt < maxAttempts
	}
	return max(last.Attempt, 1), !last.final()
}

// maxAttempts bounds an instruction's payments (refids) that failed at the
// biller in one period; maxRefIDs bounds them all, failures for the wallet
// (code 43) included, so a refid's attempt is one digit.
const (
	maxAttempts = 3
	maxRefIDs   = 9
)

// retryable reports the vendor's failure codes that say the biller or the
// provider could not do it now.
func retryable(code int) bool { return code == 47 || code == 55 }

// orphans are the pending payments of the period whose instruction is no
// longer in the file: they are asked about with what the ledger says was
// sent, and the period is not done until they are final.
func (h history) orphans(ins []instruction) []record {
	known := map[string]bool{}
	for _, in := range ins {
		known[in.id] = true
	}
	var out []record
	for id, r := range h.last {
		if !known[id] && r.Status == statusPending {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b record) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// pendingIn yields the ids of chunk whose state is pending and not held.
func (h history) pendingIn(chunk []string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, id := range chunk {
			if r, ok := h.last[id]; ok && r.Status == statusPending && h.held[id] == "" && !yield(id) {
				return
			}
		}
	}
}

// write records r as the instruction's new state: in the ledger first,
// which is the truth and refuses a process that no longer holds the
// instruction, then as a line of the report. A report that could not be
// written stops the run.
func (j *job) write(r record) error {
	r.Period, r.Time = j.period, j.now().UTC().Format(time.RFC3339)
	ctx, cancel := dbContext()
	err := j.ledger.Mark(ctx, j.run, j.owner, ledger.Item{ID: r.ID, State: r.Status, RefID: r.RefID, Attempt: r.Attempt, AmountSen: r.AmountSen, Detail: r.Reason})
	cancel()
	switch {
	case errors.Is(err, ledger.ErrNotHeld):
		j.hold(r.ID, "another process took it over: this one's lease ended (-lease)")
		return err
	case err != nil:
		j.ledgerFailed(err)
		return err
	}
	data, _ := json.Marshal(r)
	j.mu.Lock()
	defer j.mu.Unlock()
	j.hist.last[r.ID] = r
	if r.Status == statusPaid {
		j.paidSen += r.AmountSen
	}
	if r.final() || r.Status == statusFailed {
		j.prog.Row()
	}
	if j.writeErr == nil {
		if err := j.out.Append(data); err != nil {
			j.writeErr = err
			if j.stopped == "" {
				j.stopped = stopWrite
			}
		}
	}
	return nil
}

// reasonSending marks the state written just before a payment's intent.
const reasonSending = "sending"
