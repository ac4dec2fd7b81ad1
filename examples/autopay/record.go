package main

// Recording: the results file's records, what they say of a period (the
// history), and the rules a record autopay wrote keeps.

import (
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"
)

// statuses are those autopay writes.
var statuses = []string{statusPaid, statusPending, statusFailed, statusInvalidAccount, statusOverLimit, statusNothingDue, statusNoBill, statusNotSent}

// The statuses of a record. The last record of an instruction in a period is
// its state.
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

// record is one line of the results file.
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
	Wallet bool `json:"wallet,omitempty"`
	// Fingerprint identifies the payment sent under RefID (its product,
	// account, extras and amount) without holding any of them in clear: a
	// pending payment is asked about only with the payment that matches it.
	Fingerprint string `json:"fingerprint,omitempty"`
	Time        string `json:"time"`
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

// history is what the results file says of one period: each instruction's
// last record, its highest attempt, and the instructions held because a line
// of theirs could not be trusted.
type history struct {
	last     map[string]record
	attempts map[string]int    // the highest attempt made, by id
	held     map[string]string // why, by id: never paid, never final
}

// readHistory reads the whole lines of the results file for period. A line
// that is not a record autopay writes is an error naming it: nothing can be
// known of the instruction it was about. A record of the period that breaks
// a rule (a status autopay does not write, an attempt out of range, a refid
// that is not the instruction's own) holds its instruction.
func readHistory(lines [][]byte, period string) (history, error) {
	h := history{last: map[string]record{}, attempts: map[string]int{}, held: map[string]string{}}
	for i, data := range lines {
		var r record
		if err := json.Unmarshal(data, &r); err != nil || r.ID == "" || r.Period == "" {
			return h, fmt.Errorf("line %d is not a record autopay wrote: fix or remove it (nothing is paid while it is there)", i+1)
		}
		if r.Period != period {
			continue
		}
		if why := r.broken(); why != "" {
			h.held[r.ID] = fmt.Sprintf("line %d %s", i+1, why)
		}
		h.last[r.ID] = r
		h.attempts[r.ID] = max(h.attempts[r.ID], r.Attempt)
	}
	return h, nil
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
	case r.Status == statusPending && r.RefID == "":
		return "is pending without a refid"
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
		return h.attempts[id] + 1, h.attempts[id] < maxRefIDs
	case last.Status == statusFailed && last.Retry:
		return h.attempts[id] + 1, h.attempts[id] < maxAttempts
	}
	return max(h.attempts[id], 1), !last.final()
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

// pendingOf yields the instructions whose last record is pending and not
// held, in input order.
func (h history) pendingOf(ins []instruction) iter.Seq[instruction] {
	return func(yield func(instruction) bool) {
		for _, in := range ins {
			if r, ok := h.last[in.id]; ok && r.Status == statusPending && in.err == nil && h.held[in.id] == "" && !yield(in) {
				return
			}
		}
	}
}

// orphans are the pending payments of the period whose instruction is no
// longer in the file: they cannot be asked about without the row (the file
// keeps no account), so they are named, and the period is not done.
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
