package main

// Reading the merchant's records: autopay's report, a CSV for finance, or the
// payment ledger. Each becomes records of one shape, keyed by refid.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/examples/internal/jobfile"
	"github.com/iimmpact-go/iimmpact/examples/internal/setup"
	"github.com/iimmpact-go/iimmpact/ledger"
)

// Our statuses, as autopay writes them; refused is a payment the API
// refused (nothing was created).
const (
	ourPaid     = "paid"
	ourPending  = "pending"
	ourFailed   = "failed"
	ourRefunded = "refunded"
	ourRefused  = "refused"
)

// record is one payment as the merchant has it.
type record struct {
	line      int // in the records file; 0 for the ledger
	refid     string
	product   string // "" when the records do not say (autopay's report)
	account   string
	amountSen int64
	status    string
	at        time.Time // the zero Time when the records do not say: inside the range
	matched   bool
}

// readRecords reads the merchant's records from the file (autopay's JSON
// Lines, or a CSV with a header) or the ledger, keeping those in [from, to).
func readRecords(ctx context.Context, o options, stdin io.Reader, from, to time.Time) ([]*record, error) {
	if o.db != "" {
		if path, ok := strings.CutPrefix(o.db, "sqlite:"); ok {
			if _, err := os.Stat(path); err != nil {
				// Opening it would make an empty ledger: every payment at
				// IIMMPACT would then read as made outside.
				return nil, fmt.Errorf("%w: no ledger at %s (autopay and the checkout make it beside their files)", ledger.ErrInvalidConfig, path)
			}
		}
		l, err := setup.Ledger(ctx, o.db, nil)
		if err != nil {
			return nil, err
		}
		defer l.Close()
		return ledgerRecords(ctx, l, from, to)
	}
	in, _, err := jobfile.Open(o.records, stdin)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	br := bufio.NewReader(in)
	first, _ := br.Peek(1)
	var recs []*record
	if len(first) == 1 && first[0] == '{' {
		recs, err = reportRecords(br)
	} else {
		recs, err = csvRecords(br)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.records, err)
	}
	var out []*record
	for _, r := range recs {
		if r.at.IsZero() || (!r.at.Before(from) && r.at.Before(to)) {
			out = append(out, r)
		}
	}
	return out, nil
}

// ledgerRecords are the ledger's payments recorded in [from, to).
func ledgerRecords(ctx context.Context, l *ledger.Ledger, from, to time.Time) ([]*record, error) {
	entries, err := l.Between(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]*record, 0, len(entries))
	for _, e := range entries {
		out = append(out, &record{refid: e.RefID, product: e.Product, account: e.Account, amountSen: e.AmountSen, status: ledgerStatus(e.State), at: e.Created})
	}
	return out, nil
}

// ledgerStatus is our word for a ledger state.
func ledgerStatus(state string) string {
	switch state {
	case ledger.StatePaid:
		return ourPaid
	case ledger.StateFailed:
		return ourFailed
	case ledger.StateRefunded:
		return ourRefunded
	case ledger.StateRefused:
		return ourRefused
	}
	return ourPending
}

// reportRecords reads autopay's report: the last line of each refid is its
// state. It holds no product or account, so a vendor row without a refid
// cannot be matched to it.
func reportRecords(in io.Reader) ([]*record, error) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	byRefID := map[string]*record{}
	var order []*record
	for n := 1; sc.Scan(); n++ {
		var line struct {
			RefID     string `json:"refid"`
			Status    string `json:"status"`
			AmountSen int64  `json:"amount_sen"`
			Time      string `json:"time"`
		}
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return nil, fmt.Errorf("line %d is not a line of autopay's report", n)
		}
		status := map[string]string{"paid": ourPaid, "pending": ourPending, "failed": ourFailed, "not_sent": ourRefused}[line.Status]
		if line.RefID == "" || status == "" {
			continue // no payment: a bill decided, nothing sent
		}
		at, _ := time.Parse(time.RFC3339, line.Time)
		r := byRefID[line.RefID]
		if r == nil {
			r = &record{line: n, refid: line.RefID}
			byRefID[line.RefID] = r
			order = append(order, r)
		}
		r.status, r.amountSen, r.at = status, line.AmountSen, at
	}
	return order, sc.Err()
}

var csvColumns = []string{"refid", "product", "account", "amount", "status", "time"}

// csvRecords reads a CSV with the header refid,product,account,amount,status
// and an optional time. A row that breaks a rule is an error naming its line.
func csvRecords(in io.Reader) ([]*record, error) {
	rows, err := jobfile.ReadCSV(in, csvColumns, csvColumns[:5])
	if err != nil {
		return nil, err
	}
	var out []*record
	seen := map[string]int{}
	for row := range rows {
		r, err := csvRecord(row)
		if err == nil && seen[r.refid] != 0 {
			err = fmt.Errorf("refid %q is on line %d too", r.refid, seen[r.refid])
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", row.Line, err)
		}
		seen[r.refid] = row.Line
		out = append(out, r)
	}
	return out, nil
}

func csvRecord(row jobfile.Row) (*record, error) {
	if row.Err != nil {
		return nil, row.Err
	}
	f := row.Fields
	r := &record{line: row.Line, refid: strings.TrimSpace(f["refid"]), product: strings.ToUpper(strings.TrimSpace(f["product"])),
		account: strings.TrimSpace(f["account"]), status: strings.ToLower(strings.TrimSpace(f["status"]))}
	amount := strings.TrimSpace(f["amount"])
	if err := ruleOf(r.refid, iimmpact.ValidateRefID(r.refid)); err != nil {
		return nil, err
	}
	if err := ruleOf(amount, iimmpact.ValidateAmount(amount)); err != nil {
		return nil, err
	}
	if r.status != ourPaid && r.status != ourPending && r.status != ourFailed && r.status != ourRefunded {
		return nil, fmt.Errorf("status %q is not paid, pending, failed or refunded", f["status"])
	}
	a, _ := iimmpact.ParseAmount(amount)
	r.amountSen = a.Sen()
	if t := strings.TrimSpace(f["time"]); t != "" {
		var err error
		if r.at, err = parseTime(t); err != nil {
			return nil, fmt.Errorf("time %q is not 2006-01-02T15:04:05+08:00 or 2006-01-02 15:04:05 (Malaysia)", t)
		}
	}
	return r, nil
}

// ruleOf names the column, its value and the SDK's rule it breaks: the
// same rules a payment is checked by, never a copy of them.
func ruleOf(value string, err error) error {
	var pe *iimmpact.PaymentError
	if !errors.As(err, &pe) {
		return err
	}
	if value == "" {
		return fmt.Errorf("%s %s", pe.Field, pe.Rule)
	}
	return fmt.Errorf("%s %q %s", pe.Field, value, pe.Rule)
}

// parseTime reads RFC 3339, or a date and time in Malaysia.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.ParseInLocation(time.DateTime, s, iimmpact.Malaysia)
}
