// Command billcheck asks IIMMPACT for customers' outstanding bills and says
// what a checkout should do with each: the decision, why, and only the fields
// the API returned. One account at a time, or a whole file of them: the bill
// reminders job.
//
//	go -C examples run ./billcheck -product AKSB -account 1234567890
//	go -C examples run ./billcheck -json -product JOMPAY -account 8800123456 -biller-code 5454 -ref2 PJ-2025-001
//	go -C examples run ./billcheck -lang ms -product TNB -account 220012345678
//	go -C examples run ./billcheck -list
//	go -C examples run ./billcheck -batch accounts.csv -out results.jsonl
//
// With IIMMPACT_API_KEY and IIMMPACT_HMAC_SECRET set it calls the real API
// (an iimm_dev_ key calls staging by itself; IIMMPACT_BASE_URL picks another server). With none of the three
// set it runs the built-in sandbox, iimmpacttest, in-process; setting only some
// of them is an error. billcheck -h documents every flag and exit status.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/examples/internal/blocktext"
	"github.com/iimmpact-go/iimmpact/examples/internal/cli"
	"github.com/iimmpact-go/iimmpact/examples/internal/setup"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

func main() {
	cli.Main(func(ctx context.Context) int { return run(ctx, os.Args[1:], os.Stdout, os.Stderr) })
}

// The exit statuses: the examples' one table (cli.ExitTable).
const (
	exitOK      = cli.ExitOK       // a decision for every account (show, hide or block)
	exitErrors  = cli.ExitFindings // some call failed; its fail-open decision is printed
	exitUsage   = cli.ExitUsage    // bad flags, environment or input file
	exitStopped = cli.ExitAgain    // -batch stopped with rows that have no result, or could not write them; run it again to resume
	exitBlocked = cli.ExitBlocked  // -batch stopped: IIMMPACT answers 403 to this IP; resume after the block
)

const usage = `usage: billcheck -product CODE -account NUMBER [flags]
       billcheck -batch FILE [-out FILE] [flags]
       billcheck -list

Asks IIMMPACT for a customer's outstanding bill and prints what a checkout
should do with it: show the bill, hide it, or block the payment. With -batch,
does it for every row of a CSV file, the bill reminders job, paced under the
IP quota.

Flags:
`

const moreUsage = `
Batch mode (-batch FILE, or - for standard input):
  The file is CSV with a header row naming its columns, once each, in any
  order, among product, account, biller_code, ref2 and amount; a file Excel
  saves as "CSV UTF-8" (a byte order mark, CRLF) is read as it is. Blank lines
  are skipped. A row that breaks a rule (a missing account, ref2 for a
  non-JomPAY product, a field over 4 KiB, a malformed line) gets its own
  result, with the error, and is never sent; the rows after it go on.
  Each row's result is one JSON object a line (JSON Lines) on standard output,
  or appended to -out FILE (created readable by its owner only: it holds
  account numbers, names and addresses): the input line, the query, action,
  can_proceed, reason, message, outstanding_sen, due_date (YYYY-MM-DD),
  fields, request_id and error. Lines are written whole, one write each, and
  the file is synced before billcheck says it is done.
  Resume: run the same command again with the same -out, and only the rows
  without a result are sent. A row that was never sent or was interrupted (the
  IP blocked, the run stopped) has no result yet.
  Progress goes to standard error: a line redrawn in place on a terminal, a
  line every 10% or 30 s otherwise; then a summary of the whole results file:
  counts by action and reason, errors, the accounts overdue and those due
  within 7 days with what they owe, the time.
  SIGINT or SIGTERM stops handing out rows at once (billcheck says
  "stopping"), lets the calls in flight finish (abandoning them after 5 s)
  and exits 3. When IIMMPACT answers 403 to the IP, the batch stops at once
  and exits 4: the vendor blocks an IP for 240 minutes after 30,000 requests
  in 5 minutes, so resume after that.

Environment:
  IIMMPACT_API_KEY      the API key (iimm_prod_... or iimm_dev_...)
  IIMMPACT_HMAC_SECRET  the Base64 HMAC secret from the dashboard
  IIMMPACT_BASE_URL     optional: another server (an iimm_dev_ key calls staging by itself)
  With none of the three set, billcheck runs on the built-in sandbox
  (billcheck -list shows its accounts). Setting only some of them is an error.

What the exit statuses mean for billcheck: 0, a decision for every account
(with -batch, every row has a result, written and synced); 1, a call failed
and its fail-open decision is printed; 3, -batch stopped (a signal, results
that could not be written, another run using -out) with rows that have no
result: it says how many, and the same command resumes.

Examples:
  billcheck -product AKSB -account 1234567890
  billcheck -product JOMPAY -account 8800123456 -biller-code 5454 -ref2 PJ-2025-001
  billcheck -lang ms -json -product TNB -account 220012345678
  billcheck -batch accounts.csv -out results.jsonl -workers 8 -quota 20000/5m

  A nightly reminders run from cron, resuming if last night's was cut short.
  Build the binary once (go run leaves its child running when cron's SIGTERM
  reaches only the go command), from a clone of the SDK:
    go -C examples build -o /usr/local/bin/billcheck ./billcheck
  then, in the crontab of a user with the IIMMPACT_ variables set:
    30 1 * * * cd /srv/reminders && /usr/local/bin/billcheck -batch accounts.csv -out results-$(date +\%F).jsonl 2>>billcheck.log
`

// options are what the command line asked for.
type options struct {
	q       iimmpact.Query
	timeout time.Duration
	asJSON  bool
	lang    iimmpact.Language
	list    bool

	batch   string // the input file, "-" for standard input
	out     string // the results file, "" for standard output
	workers int
	quota   string // "N/DURATION"
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, code, ok := parseArgs(args, stderr)
	if !ok {
		return code
	}
	if o.list {
		printSamples(stdout)
		return exitOK
	}
	if o.batch != "" {
		return runBatch(ctx, o, os.Stdin, stdout, stderr)
	}
	client, closeClient, ok := newClient(stderr)
	if !ok {
		return exitUsage
	}
	defer closeClient()

	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	bill, err := client.BillPresentment(ctx, o.q)
	res := newResult(bill, err, o.lang)
	if err != nil {
		fmt.Fprintln(stderr, "billcheck:", err)
	}
	if o.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(res)
	} else {
		printCard(stdout, o.q, res, o.lang)
	}
	if err != nil {
		return exitErrors
	}
	return exitOK
}

// newClient makes the client the environment asks for, saying so when it is
// the sandbox; ok is false, with the reason printed, for a bad environment.
func newClient(stderr io.Writer, opts ...iimmpact.Option) (_ *iimmpact.Client, closeClient func(), ok bool) {
	client, sandbox, err := setup.Client(opts...)
	if err != nil {
		fmt.Fprintf(stderr, "billcheck: %v\n%s\n", err, setup.Hint)
		return nil, nil, false
	}
	if sandbox == nil {
		return client, func() {}, true
	}
	fmt.Fprintln(stderr, "billcheck: no IIMMPACT_ variables are set: using the built-in sandbox (billcheck -list shows its accounts)")
	return client, sandbox.Close, true
}

// result is what one account came to, as -json and -batch print it.
type result struct {
	iimmpact.Decision
	OutstandingSen *int64           `json:"outstanding_sen,omitempty"`
	DueDate        string           `json:"due_date,omitempty"` // YYYY-MM-DD
	Fields         []iimmpact.Field `json:"fields"`
	RequestID      string           `json:"request_id,omitempty"`
	Error          string           `json:"error,omitempty"`
}

func newResult(bill *iimmpact.Bill, err error, lang iimmpact.Language) result {
	r := result{Decision: bill.Decision(), Fields: bill.FieldsIn(lang)}
	if r.Fields == nil {
		r.Fields = []iimmpact.Field{}
	}
	if bill != nil {
		r.RequestID = bill.RequestID
		if r.Action == iimmpact.ActionShow && bill.Data.Outstanding.State() == iimmpact.Returned {
			sen := bill.Data.Outstanding.Sen()
			r.OutstandingSen = &sen
		}
		if due, err := bill.Data.DueDate.Time(); err == nil && r.Action == iimmpact.ActionShow {
			r.DueDate = due.Format(time.DateOnly)
		}
	}
	if err != nil {
		r.Error = err.Error()
	}
	if lang == iimmpact.Malay && r.Action == iimmpact.ActionBlock {
		r.Message = blocktext.InMalay(r.Message)
	}
	return r
}

// parseArgs reads the command line. When ok is false the command ends with code,
// having said why.
func parseArgs(args []string, stderr io.Writer) (o options, code int, ok bool) {
	fs := flag.NewFlagSet("billcheck", flag.ContinueOnError)
	fs.StringVar(&o.q.Product, "product", "", "product code, such as AKSB, TNB or JOMPAY (required)")
	fs.StringVar(&o.q.Account, "account", "", "account number; for JomPAY, Ref-1 (required)")
	fs.StringVar(&o.q.BillerCode, "biller-code", "", "JomPAY biller code (required for JOMPAY)")
	fs.StringVar(&o.q.Ref2, "ref2", "", "JomPAY Ref-2, when the biller needs it")
	fs.StringVar(&o.q.Amount, "amount", "", "JomPAY amount, such as 10.50")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Second, "give up on an account after this long")
	fs.BoolVar(&o.asJSON, "json", false, "print the decision and fields as JSON")
	lang := fs.String("lang", "en", "language of the labels and sentences: en (English) or ms (Bahasa Malaysia)")
	fs.BoolVar(&o.list, "list", false, "list the sandbox's sample accounts and exit")
	fs.StringVar(&o.batch, "batch", "", "present every row of this CSV `file` (- for standard input)")
	fs.StringVar(&o.out, "out", "", "with -batch: append the results to this `file`, and resume from it")
	fs.IntVar(&o.workers, "workers", 4, "with -batch: calls in flight at once")
	fs.StringVar(&o.quota, "quota", "", "with -batch: the client's quota as `N/DURATION`, such as 20000/5m (default: the SDK's own)")
	if code, ok := cli.Parse(fs, args, stderr, usage, moreUsage); !ok {
		return o, code, false
	}
	o.lang = iimmpact.Language(*lang)
	if msg := o.problem(fs); msg != "" {
		fmt.Fprintln(stderr, "billcheck: "+msg)
		return o, exitUsage, false
	}
	switch {
	case o.list, o.batch != "":
		return o, exitOK, true
	default:
		return o, exitUsage, validQuery(o.q, stderr)
	}
}

// problem says what is wrong with the flags, or "".
func (o options) problem(fs *flag.FlagSet) string {
	single := o.q != iimmpact.Query{}
	switch {
	case fs.NArg() > 0:
		return fmt.Sprintf("unexpected argument %q; every value goes with a flag, such as -account %s", fs.Arg(0), fs.Arg(0))
	case o.lang != iimmpact.English && o.lang != iimmpact.Malay:
		return fmt.Sprintf("-lang must be en or ms, not %q", o.lang)
	case o.timeout <= 0:
		return "-timeout must be positive, such as 10s"
	case o.batch != "" && single:
		return "-batch reads the accounts from its file: leave out -product, -account, -biller-code, -ref2 and -amount"
	case o.batch == "" && (o.out != "" || o.quota != ""):
		return "-out and -quota go with -batch"
	case o.workers < 1 || o.workers > 64:
		return fmt.Sprintf("-workers must be between 1 and 64, not %d", o.workers)
	}
	if _, _, err := cli.ParseQuota(o.quota); err != nil {
		return err.Error()
	}
	return ""
}

// validQuery reports whether q can be sent, or says why not and what to try.
func validQuery(q iimmpact.Query, stderr io.Writer) bool {
	var qe *iimmpact.QueryError
	if !errors.As(q.Validate(), &qe) {
		return true
	}
	fmt.Fprintf(stderr, "billcheck: -%s %s\n", strings.ReplaceAll(qe.Field, "_", "-"), qe.Rule)
	if strings.EqualFold(strings.TrimSpace(q.Product), "JOMPAY") {
		fmt.Fprintln(stderr, "try: billcheck -product JOMPAY -account 8800123456 -biller-code 5454 -ref2 PJ-2025-001")
	} else {
		fmt.Fprintln(stderr, "try: billcheck -product AKSB -account 1234567890 (or -list for the sandbox's accounts)")
	}
	return false
}

// headings are the card's decision lines, in English and Bahasa Malaysia.
var headings = map[iimmpact.Action][2]string{
	iimmpact.ActionShow:  {"Decision: SHOW the bill; the customer may pay", "Keputusan: PAPARKAN bil; pelanggan boleh membayar"},
	iimmpact.ActionBlock: {"Decision: BLOCK; the customer must not pay", "Keputusan: SEKAT; pelanggan tidak boleh membayar"},
	iimmpact.ActionHide:  {"Decision: HIDE bill details; the customer may still pay", "Keputusan: SEMBUNYIKAN butiran bil; pelanggan masih boleh membayar"},
}

// hideReasons say why no bill is shown, for a person.
var hideReasons = map[iimmpact.Reason][2]string{
	iimmpact.ReasonUnavailable: {"This biller does not offer bill details.",
		"Biller ini tidak menyediakan butiran bil."},
	iimmpact.ReasonServiceUnavailable: {"The biller cannot be reached right now.",
		"Biller tidak dapat dihubungi buat masa ini."},
	iimmpact.ReasonUnrecognised: {"IIMMPACT answered with a message this SDK does not know, so no details are shown.",
		"IIMMPACT memberi mesej yang tidak dikenali, jadi butiran tidak dipaparkan."},
	iimmpact.ReasonError: {"The bill could not be fetched (the error is above).",
		"Bil tidak dapat diambil (ralatnya di atas)."},
}

func langIndex(lang iimmpact.Language) int {
	if lang == iimmpact.Malay {
		return 1
	}
	return 0
}

func printCard(w io.Writer, q iimmpact.Query, r result, lang iimmpact.Language) {
	i := langIndex(lang)
	fmt.Fprintf(w, "%s %s\n", strings.ToUpper(q.Product), q.Account)
	fmt.Fprintln(w, headings[r.Action][i])
	switch r.Action {
	case iimmpact.ActionBlock:
		fmt.Fprintf(w, "  %s\n", r.Message)
	case iimmpact.ActionHide:
		fmt.Fprintf(w, "  %s\n", hideReasons[r.Reason][i])
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range r.Fields {
		fmt.Fprintf(tw, "  %s\t%s\n", f.Label, f.Value)
	}
	_ = tw.Flush()
	if r.RequestID != "" {
		fmt.Fprintf(w, "  request ID: %s\n", r.RequestID)
	}
}

func printSamples(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PRODUCT\tACCOUNT\tFLAGS\tWHAT IT SHOWS")
	for _, s := range iimmpacttest.Samples() {
		var flags []string
		if s.BillerCode != "" {
			flags = append(flags, "-biller-code "+s.BillerCode)
		}
		if s.Ref2 != "" {
			flags = append(flags, "-ref2 "+s.Ref2)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Product, s.Account, strings.Join(flags, " "), s.Description)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\nThese accounts exist only in the sandbox, which billcheck uses when no IIMMPACT_ variable is set.")
}
