package main

// Reading: the standing instructions, each checked field by field with the
// SDK's validators, and the payment each makes (its refid).

import (
	"errors"
	"fmt"
	"io"
	"regexp"
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

var columns = []string{"id", "product", "account", "biller_code", "ref2", "ic_number", "max_amount", "amount"}

// readInstructions reads the file: a header naming its columns in any order,
// then an instruction a row. A row that breaks a rule is an instruction with
// err, never paid. The rules are the SDK's, field by field: the refids an id
// makes in period, the amounts, the IC number, the product's extras, the
// query.
func readInstructions(in io.Reader, period string) ([]instruction, error) {
	rows, err := jobfile.ReadCSV(in, columns, []string{"id", "product", "account", "max_amount"})
	if err != nil {
		return nil, err
	}
	var out []instruction
	seen := map[string]int{}
	for r := range rows {
		in := instruction{line: r.Line, err: r.Err}
		if r.Err == nil {
			in = parseInstruction(r, period)
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

func parseInstruction(r jobfile.Row, period string) instruction {
	f := r.Fields
	in := instruction{line: r.Line, id: strings.TrimSpace(f["id"]), ic: strings.TrimSpace(f["ic_number"]),
		query: iimmpact.Query{Product: f["product"], Account: f["account"], BillerCode: f["biller_code"], Ref2: f["ref2"]}}
	in.maxSen, in.err = sen("max_amount", f["max_amount"])
	if in.err == nil && strings.TrimSpace(f["amount"]) != "" {
		in.fixedSen, in.err = sen("amount", f["amount"])
	}
	if in.err == nil && in.id == "" {
		in.err = errors.New("id is required")
	}
	for _, check := range []func() error{
		func() error { return idError(in.id, iimmpact.ValidateRefID(in.refID(period, maxRefIDs))) },
		func() error {
			return iimmpact.ValidateExtras(in.query.Product, iimmpact.Extras{BillerCode: in.query.BillerCode, Ref2: in.query.Ref2, ICNumber: in.ic})
		},
		func() error { return whenSet(in.ic, iimmpact.ValidateICNumber) },
		in.query.Validate,
	} {
		if in.err == nil {
			in.err = check()
		}
	}
	return in
}

// idError words a refid's rule for the id it is made from.
func idError(id string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("id %q makes refids (ID-YYYYMM-N) the SDK refuses: %w", id, err)
}

func whenSet(v string, check func(string) error) error {
	if v == "" {
		return nil
	}
	return check(v)
}

// sen reads an amount column, a positive amount in ringgit such as "45.94",
// as sen.
func sen(column, s string) (int64, error) {
	if err := iimmpact.ValidateAmount(s); err != nil {
		var pe *iimmpact.PaymentError
		errors.As(err, &pe)
		return 0, fmt.Errorf("%s %s", column, pe.Rule)
	}
	a, _ := iimmpact.ParseAmount(s)
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

// payment is the instruction's payment of amount sen with refid.
func (in instruction) payment(refid string, amount int64) iimmpact.Payment {
	q := in.query
	return iimmpact.Payment{RefID: refid, Product: q.Product, Account: q.Account, Amount: iimmpact.AmountFromSen(amount).String(),
		BillerCode: q.BillerCode, Ref2: q.Ref2, ICNumber: in.ic}
}

// periodOf is this month in Malaysia, as YYYY-MM.
func periodOf(now time.Time) string {
	return now.In(iimmpact.Malaysia).Format("2006-01")
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
