package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"time"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/examples/internal/jobfile"
)

// instruction is one standing instruction: pay this bill every period, up to
// maxSen without review.
type instruction struct {
	line  int // in the instructions file
	id    string
	query iimmpact.Query
	ic    string
	// maxSen is the most it may pay without review; fixedSen a fixed amount
	// for a biller with no bill to present (0: none).
	maxSen, fixedSen int64
	err              error // why the row is no instruction
}

// maxIDLen keeps a refid (ID-YYYYMM-N) within the SDK's 36 characters.
const maxIDLen = 36 - len("-202612-1")

var columns = []string{"id", "product", "account", "biller_code", "ref2", "ic_number", "max_amount", "amount"}

// readInstructions reads the file: a header naming its columns in any order,
// then an instruction a row. A row that breaks a rule is an instruction with
// err, never paid.
func readInstructions(in io.Reader) ([]instruction, error) {
	rows, err := jobfile.ReadCSV(in, columns, []string{"id", "product", "account", "max_amount"})
	if err != nil {
		return nil, err
	}
	var out []instruction
	seen := map[string]int{}
	for r := range rows {
		in := instruction{line: r.Line, err: r.Err}
		if r.Err == nil {
			in = parseInstruction(r)
		}
		if first, dup := seen[in.id]; dup && in.id != "" && in.err == nil {
			in.err = fmt.Errorf("id %q is the id of line %d too", in.id, first)
		} else if in.id != "" {
			seen[in.id] = in.line
		}
		out = append(out, in)
	}
	return out, nil
}

func parseInstruction(r jobfile.Row) instruction {
	f := r.Fields
	in := instruction{line: r.Line, id: strings.TrimSpace(f["id"]), ic: strings.TrimSpace(f["ic_number"]),
		query: iimmpact.Query{Product: f["product"], Account: f["account"], BillerCode: f["biller_code"], Ref2: f["ref2"]}}
	max, maxErr := sen(f["max_amount"])
	in.maxSen = max
	if strings.TrimSpace(f["amount"]) != "" {
		in.fixedSen, in.err = sen(f["amount"])
		if in.err != nil {
			in.err = fmt.Errorf("amount %w", in.err)
		}
	}
	probe := in.payment("0", 100) // the SDK's rules, with an amount that passes them
	switch perr := probe.Validate(); {
	case in.err != nil:
	case !validID(in.id):
		in.err = fmt.Errorf("id must be 1 to %d letters, digits, \"-\" or \"_\"", maxIDLen)
	case maxErr != nil:
		in.err = fmt.Errorf("max_amount %w", maxErr)
	case perr != nil:
		in.err = perr
	default:
		in.err = in.query.Validate()
	}
	return in
}

func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// sen reads a positive amount in ringgit, such as "45.94", as sen.
func sen(s string) (int64, error) {
	a, err := iimmpact.ParseAmount(s)
	switch {
	case strings.TrimSpace(s) == "":
		return 0, errors.New("is required")
	case err != nil || a.Sen() <= 0:
		return 0, fmt.Errorf("must be a positive amount such as 45.94, not %q", s)
	}
	return a.Sen(), nil
}

// refID is the refid of an instruction's attempt in a period: derived, never
// drawn at random, so a re-run after any crash sends the same one and the API
// answers with that payment instead of paying again.
func (in instruction) refID(period string, attempt int) string {
	return fmt.Sprintf("%s-%s-%d", in.id, strings.ReplaceAll(period, "-", ""), attempt)
}

// payment is the instruction's payment of amount sen with refid.
func (in instruction) payment(refid string, amount int64) iimmpact.Payment {
	q := in.query
	return iimmpact.Payment{RefID: refid, Product: q.Product, Account: q.Account, Amount: ringgit(amount),
		BillerCode: q.BillerCode, Ref2: q.Ref2, ICNumber: in.ic}
}

func ringgit(sen int64) string { return fmt.Sprintf("%d.%02d", sen/100, sen%100) }

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
	// (the vendor's 47 service unavailable and 55 provider timeout).
	Retry bool   `json:"retry,omitempty"`
	Time  string `json:"time"`
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
// last record, and its failed attempts.
type history struct {
	last     map[string]record
	attempts map[string]int // the highest attempt made, by id
}

// readHistory reads the whole lines of the results file for period.
func readHistory(lines [][]byte, period string) history {
	h := history{last: map[string]record{}, attempts: map[string]int{}}
	for _, data := range lines {
		var r record
		if json.Unmarshal(data, &r) != nil || r.Period != period || r.ID == "" {
			continue
		}
		h.last[r.ID] = r
		h.attempts[r.ID] = max(h.attempts[r.ID], r.Attempt)
	}
	return h
}

// next is the attempt an instruction's next new payment makes, and whether it
// may make one at all: only after a failure the vendor says may pass, and at
// most maxAttempts a period.
func (h history) next(id string) (int, bool) {
	last, ok := h.last[id]
	switch {
	case !ok:
		return 1, true
	case last.Status == statusFailed && last.Retry:
		return h.attempts[id] + 1, h.attempts[id] < maxAttempts
	}
	return max(h.attempts[id], 1), !last.final()
}

// maxAttempts bounds an instruction's payments (refids) in one period.
const maxAttempts = 3

// retryable reports the vendor's failure codes that say the biller or the
// provider could not do it now.
func retryable(code int) bool { return code == 47 || code == 55 }

// periodOf is this month in Malaysia, as YYYY-MM.
func periodOf(now time.Time) string {
	return now.In(time.FixedZone("GMT+8", 8*60*60)).Format("2006-01")
}

// pendingOf yields the instructions whose last record is pending, in input
// order.
func (h history) pendingOf(ins []instruction) iter.Seq[instruction] {
	return func(yield func(instruction) bool) {
		for _, in := range ins {
			if r, ok := h.last[in.id]; ok && r.Status == statusPending && in.err == nil && !yield(in) {
				return
			}
		}
	}
}
