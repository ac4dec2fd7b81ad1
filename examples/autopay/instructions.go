package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"regexp"
	"slices"
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
	return refIDOf(in.id, period, attempt)
}

func refIDOf(id, period string, attempt int) string {
	return fmt.Sprintf("%s-%s-%d", id, strings.ReplaceAll(period, "-", ""), attempt)
}

// fingerprint identifies a payment by everything the API is sent: a pending
// line's payment is asked about only when the instruction still makes the
// same one. It is a SHA-256, not encryption: it keeps the account out of the
// file in clear, but an account number is short enough to be guessed from it
// by someone who holds the file, which is why the file is its owner's only.
func fingerprint(p iimmpact.Payment) string {
	a, _ := iimmpact.ParseAmount(p.Amount)
	sum := sha256.Sum256([]byte(strings.Join([]string{"autopay/1", p.RefID, strings.ToUpper(p.Product), p.Account,
		p.BillerCode, p.Ref2, p.ICNumber, a.String()}, "\x00")))
	return hex.EncodeToString(sum[:16])
}

// payment is the instruction's payment of amount sen with refid.
func (in instruction) payment(refid string, amount int64) iimmpact.Payment {
	q := in.query
	return iimmpact.Payment{RefID: refid, Product: q.Product, Account: q.Account, Amount: ringgit(amount),
		BillerCode: q.BillerCode, Ref2: q.Ref2, ICNumber: in.ic}
}

func ringgit(sen int64) string { return fmt.Sprintf("%d.%02d", sen/100, sen%100) }

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

// periodOf is this month in Malaysia, as YYYY-MM.
func periodOf(now time.Time) string {
	return now.In(time.FixedZone("GMT+8", 8*60*60)).Format("2006-01")
}

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

// scrub removes from text, a reason written to the results file, the
// instruction's account, Ref-2 and IC number and any run of six digits or
// more: the API's block messages may quote the account.
func (in instruction) scrub(text string) string {
	for _, v := range []string{in.query.Account, in.query.Ref2, in.ic} {
		if v = strings.TrimSpace(v); len(v) >= 4 {
			text = strings.ReplaceAll(text, v, "[removed]")
		}
	}
	return longDigits.ReplaceAllString(text, "[removed]")
}

var longDigits = regexp.MustCompile(`[0-9]{6,}`)
