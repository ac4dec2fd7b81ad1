package main

// Reporting: the JSON Lines and the CSV, written afresh; the summary; -apply.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/examples/internal/cli"
	"github.com/iimmpact-go/iimmpact/examples/internal/setup"
)

// writeReport writes the lines to -out (and -csv), each file whole or not
// at all: written beside it, synced, then renamed over it.
func writeReport(o options, stdout io.Writer, lines []line) error {
	var js bytes.Buffer
	for _, l := range lines {
		b, _ := json.Marshal(l)
		js.Write(append(b, '\n'))
	}
	if o.out == "-" {
		if _, err := stdout.Write(js.Bytes()); err != nil {
			return err
		}
	} else if err := writeWhole(o.out, js.Bytes()); err != nil {
		return err
	}
	if o.csv == "" {
		return nil
	}
	var cs bytes.Buffer
	w := csv.NewWriter(&cs)
	_ = w.Write([]string{"refid", "trxid", "result", "matched_by", "our_status", "vendor_status", "our_amount", "vendor_amount", "reason"})
	for _, l := range lines {
		_ = w.Write([]string{l.RefID, l.TrxID, l.Result, l.MatchedBy, l.OurStatus, l.VendorStatus,
			iimmpact.AmountFromSen(l.OurAmountSen).String(), iimmpact.AmountFromSen(l.VendorAmountSen).String(), l.Reason})
	}
	w.Flush()
	return writeWhole(o.csv, cs.Bytes())
}

// writeWhole replaces name with data: a reader sees the old file or the new
// one, never a part.
func writeWhole(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o600)
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

// summary counts the lines by result, with their amounts.
func summary(w io.Writer, o options, lines []line) {
	counts := map[string]int{}
	amounts := map[string]int64{}
	for _, l := range lines {
		counts[l.Result]++
		amounts[l.Result] += max(l.OurAmountSen, l.VendorAmountSen)
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Fprintf(w, "reconcile: %s to %s:", o.from.Format("2006-01-02"), o.to.Format("2006-01-02"))
	for _, k := range keys {
		fmt.Fprintf(w, " %s %d (%s);", k, counts[k], cli.Ringgit(amounts[k]))
	}
	fmt.Fprintln(w)
}

// isCSV reports records that are a CSV, not autopay's report.
func isCSV(name string) bool {
	data, err := os.ReadFile(name)
	return err == nil && !bytes.HasPrefix(bytes.TrimSpace(data), []byte("{"))
}

// applicable are the lines -apply writes back: the vendor's final state of
// a payment we have.
func applicable(lines []line) []line {
	var out []line
	for _, l := range lines {
		if (l.Result == resultResolved || l.Result == resultStatusDiffers) && l.row != nil && l.row.Status.Final() {
			out = append(out, l)
		}
	}
	return out
}

// apply writes the vendor's final state into the ledger or the CSV.
func apply(ctx context.Context, o options, lines []line, w io.Writer) error {
	todo := applicable(lines)
	if o.db != "" {
		l, err := setup.Ledger(ctx, o.db, nil)
		if err != nil {
			return err
		}
		defer l.Close()
		for _, a := range todo {
			tx := &iimmpact.Transaction{RefID: a.RefID, Status: a.row.Status, Code: a.row.Code, SerialNumber: a.row.SerialNumber}
			e, err := l.Answer(ctx, a.RefID, tx, nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "reconcile: -apply: %s is %s in the ledger (the vendor: %s)\n", a.RefID, e.State, a.row.Status)
		}
		return nil
	}
	return applyCSV(o.records, todo, w)
}

// applyCSV rewrites the CSV's status column for the payments in todo.
func applyCSV(name string, todo []line, w io.Writer) error {
	data, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff")))).ReadAll()
	if err != nil || len(rows) == 0 {
		return errors.New("the CSV could not be read again")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	final := map[string]string{}
	for _, a := range todo {
		final[a.RefID] = map[iimmpact.TransactionStatus]string{iimmpact.TransactionSucceeded: ourPaid, iimmpact.TransactionFailed: ourFailed,
			iimmpact.TransactionRefunded: ourRefunded}[a.row.Status]
	}
	n := 0
	for _, r := range rows[1:] {
		if s, ok := final[strings.TrimSpace(r[col["refid"]])]; ok && s != "" {
			r[col["status"]] = s
			n++
		}
	}
	var out bytes.Buffer
	cw := csv.NewWriter(&out)
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	fmt.Fprintf(w, "reconcile: -apply: %s statuses written into %s\n", strconv.Itoa(n), name)
	return writeWhole(name, out.Bytes())
}
