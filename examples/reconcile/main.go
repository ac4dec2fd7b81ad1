// Command reconcile is the vendor's step 7: it matches the merchant's records
// of every payment (autopay's report, a CSV, or the payment ledger) against
// IIMMPACT's transaction history and wallet statement, and lists each
// difference.
//
//	go -C examples run ./reconcile -db sqlite:autopay-ledger.db -out reconcile.jsonl
//
// With IIMMPACT_API_KEY and IIMMPACT_HMAC_SECRET set it reads the real API;
// with none of the IIMMPACT_ variables set it runs on the built-in sandbox.
// reconcile -h documents every flag and exit status.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/examples/internal/cli"
	"github.com/iimmpact-go/iimmpact/examples/internal/setup"
)

func main() {
	cli.Main(func(ctx context.Context) int { return run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr) })
}

// The exit statuses: the examples' one table (cli.ExitTable).
const (
	exitOK      = cli.ExitOK       // every payment matched
	exitDiffers = cli.ExitFindings // differences found, each listed
	exitUsage   = cli.ExitUsage    // bad flags or input
	exitAgain   = cli.ExitAgain    // incomplete: the API stopped answering, or the history did not end
	exitBlocked = cli.ExitBlocked  // IIMMPACT answers 403 to this IP
)

const usage = `usage: reconcile (-records FILE | -db URL) -out FILE [flags]

Matches the merchant's records of every payment over a range of days against
IIMMPACT's transaction history and wallet statement (the vendor's step 7),
and writes one line for each payment:
  matched            the same payment, the same status and amount
  resolved           pending or unknown here, final there
  status_differs     such as paid here, refunded there (a void approved)
  amount_differs     the amounts differ
  missing_at_vendor  paid, pending or failed here; the vendor has no such payment
  vendor_only        the vendor has it; the records do not
and a line for the wallet (result "wallet"): the statement's payments and
refunds over the range against the history's payments.

Flags:
`

const moreUsage = `
Records:
  -records FILE   autopay's report (JSON Lines), or a CSV with the header
                  refid,product,account,amount,status and an optional time:
                  amounts in ringgit such as 45.90, statuses paid, pending,
                  failed or refunded, times RFC 3339 or "2006-01-02 15:04:05" in Malaysia
                  (a row without a time counts as inside the range)
  -db URL         the payment ledger (sqlite:PATH or postgres://...)
  A payment is matched by refid; a vendor row without one is matched by
  product, account, amount and time (matched_by "fallback"), never two of
  ours to one of theirs: autopay's report holds no product or account, so
  that needs the CSV or the ledger. A payment refused here (nothing
  created) and absent there agrees: matched.

Output:
  -out FILE (JSON Lines, written afresh each run; - for standard output):
  refid, trxid, result, matched_by, our_status, vendor_status,
  our_amount_sen, vendor_amount_sen, reason. -csv FILE writes the same for
  finance. A summary with counts and ringgit totals goes to standard error.

-apply:
  Writes the vendor's final state into the records for resolved and
  status_differs payments: the ledger (autopay then stops asking about
  them; a final state there is never undone but by a refund), or the CSV's
  status column. autopay's report is not its state: use -db. reconcile
  itself never pays, voids or disputes.

On the built-in sandbox (no IIMMPACT_ variable set), which is new each run
and knows none of your payments, reconcile first makes the records' paid
and failed payments in it, so there are books to match.

What the exit statuses mean for reconcile: 0, every payment matched; 1,
differences found, each listed; 2, a bad flag or input (naming the line);
3, incomplete (the API stopped answering, or a history that repeats or never
ends): run it again; 4, IIMMPACT answers 403 to this IP.

Examples:
  reconcile -db postgres://finance@db.internal/payments -out 2026-12-06.jsonl
  reconcile -records payments.csv -from 2026-12-01 -to 2026-12-06 -out dec.jsonl -csv dec.csv
`

// options are what the command line asked for.
type options struct {
	records, db, out, csv string
	from, to              time.Time
	apply                 bool
	timeout               time.Duration
}

func parseArgs(args []string, stderr io.Writer, now time.Time) (options, int, bool) {
	var o options
	yesterday := now.In(iimmpact.Malaysia).AddDate(0, 0, -1).Format(time.DateOnly)
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	fs.StringVar(&o.records, "records", "", "the merchant's records: autopay's report or a CSV `file`")
	fs.StringVar(&o.db, "db", "", "the payment ledger's `URL`, instead of -records")
	fs.StringVar(&o.out, "out", "", "the report `file`, JSON Lines, written afresh (required)")
	fs.StringVar(&o.csv, "csv", "", "the report again as a CSV `file`, for finance")
	from := fs.String("from", yesterday, "the first day, `YYYY-MM-DD` in Malaysia, or today or yesterday")
	to := fs.String("to", "", "the last day, YYYY-MM-DD in Malaysia, or today (default -from; today at most)")
	fs.BoolVar(&o.apply, "apply", false, "write the vendor's final state into the records for resolved and status_differs payments")
	fs.DurationVar(&o.timeout, "timeout", iimmpact.DefaultTimeout, "give up on one request after this long")
	if code, ok := cli.Parse(fs, args, stderr, usage, moreUsage); !ok {
		return o, code, false
	}
	today, _ := time.ParseInLocation(time.DateOnly, now.In(iimmpact.Malaysia).Format(time.DateOnly), iimmpact.Malaysia)
	var ferr, terr error
	o.from, ferr = dayOf(*from, today)
	o.to = o.from
	if *to != "" {
		o.to, terr = dayOf(*to, today)
	}
	msg := ""
	switch {
	case fs.NArg() > 0:
		msg = fmt.Sprintf("unexpected argument %q", fs.Arg(0))
	case (o.records == "") == (o.db == ""):
		msg = "give the records with one of -records and -db"
	case o.out == "":
		msg = "-out is required"
	case ferr != nil || terr != nil:
		msg = "-from and -to must be days, YYYY-MM-DD"
	case o.to.Before(o.from):
		msg = "-to must not be before -from"
	case o.to.After(today):
		msg = "-to must not be after today (" + today.Format(time.DateOnly) + ")"
	case o.timeout <= 0:
		msg = "-timeout must be positive"
	}
	if msg != "" {
		fmt.Fprintln(stderr, "reconcile: "+msg)
		return o, exitUsage, false
	}
	return o, exitOK, true
}

// dayOf reads a day: YYYY-MM-DD in Malaysia, "today" or "yesterday".
func dayOf(s string, today time.Time) (time.Time, error) {
	switch s {
	case "today":
		return today, nil
	case "yesterday":
		return today.AddDate(0, 0, -1), nil
	}
	return time.ParseInLocation(time.DateOnly, s, iimmpact.Malaysia)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, code, ok := parseArgs(args, stderr, time.Now())
	if !ok {
		return code
	}
	recs, code := load(ctx, o, stdin, stderr)
	if code != exitOK {
		return code
	}
	j, code := newJob(ctx, o, stderr)
	if j == nil {
		return code
	}
	defer j.close()
	if j.sandbox != nil {
		j.seed(ctx, recs)
	}
	lines, err := j.reconcile(ctx, recs)
	if err != nil {
		return j.incomplete(err)
	}
	if err := writeReport(o, stdout, lines); err != nil {
		fmt.Fprintln(stderr, "reconcile:", err)
		return exitAgain
	}
	summary(stderr, o, lines)
	if o.apply {
		if err := apply(ctx, o, lines, stderr); err != nil {
			fmt.Fprintln(stderr, "reconcile: -apply:", err)
			return exitAgain
		}
	}
	for _, l := range lines {
		if l.difference() {
			return exitDiffers
		}
	}
	return exitOK
}

// load reads the records of the run's days and checks that -apply could
// write them back; a status other than exitOK ends the run.
func load(ctx context.Context, o options, stdin io.Reader, stderr io.Writer) ([]*record, int) {
	recs, err := readRecords(ctx, o, stdin, o.from, o.to.AddDate(0, 0, 1))
	switch {
	case err != nil && o.db != "":
		fmt.Fprintln(stderr, "reconcile:", err) // "ledger: ..."
		return nil, setup.LedgerExit(err)
	case err != nil: // a file's name and line
		fmt.Fprintln(stderr, "reconcile:", err)
		return nil, exitUsage
	case o.apply && o.records != "" && !isCSV(o.records):
		fmt.Fprintln(stderr, "reconcile: -apply writes into the ledger (-db) or a CSV: autopay's report is not its state")
		return nil, exitUsage
	}
	return recs, exitOK
}

// incomplete says why the run could not finish and returns its status.
func (j *job) incomplete(err error) int {
	fmt.Fprintln(j.stderr, "reconcile: incomplete:", err)
	if errors.Is(err, iimmpact.ErrBlocked) || isForbidden(err) {
		fmt.Fprintln(j.stderr, "reconcile: IIMMPACT answers 403 to this IP: run it again after the block")
		return exitBlocked
	}
	fmt.Fprintln(j.stderr, "reconcile: nothing was written: run it again")
	return exitAgain
}

func isForbidden(err error) bool {
	var apiErr *iimmpact.APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == 403
}
