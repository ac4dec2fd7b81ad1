// Command autopay runs standing instructions ("pay my TNB bill every month, up
// to RM 300"): for each instruction and period it presents the bill, decides,
// pays what is owed exactly once, confirms, and records the outcome.
//
//	go -C examples run ./autopay -instructions autopay/sample.csv -out autopay.jsonl
//
// With IIMMPACT_API_KEY and IIMMPACT_HMAC_SECRET set it calls the real API; with
// none of the IIMMPACT_ variables set it runs on the built-in sandbox. autopay
// -h documents every flag and exit status.
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
	"github.com/iimmpact-go/iimmpact/examples/internal/jobfile"
	"github.com/iimmpact-go/iimmpact/examples/internal/progress"
	"github.com/iimmpact-go/iimmpact/examples/internal/setup"
)

func main() {
	cli.Main(func(ctx context.Context) int { return run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr) })
}

// The exit statuses: the examples' one table (cli.ExitTable).
const (
	exitOK      = cli.ExitOK      // every instruction reached a final state for the period
	exitUsage   = cli.ExitUsage   // bad flags, environment or input
	exitAgain   = cli.ExitAgain   // stopped with work left: run it again
	exitBlocked = cli.ExitBlocked // IIMMPACT answers 403 to this IP: run it again after the block
	exitWallet  = cli.ExitWallet  // the wallet is short: top it up and run it again
)

const usage = `usage: autopay -instructions FILE -out FILE [flags]

Runs standing instructions for one period: for each, presents the bill and
decides, then pays exactly once:
  block (an invalid account)         never pays: invalid_account
  a bill owing more than 0, up to
  max_amount                         pays what is owed: paid
  a bill above max_amount            does not pay: over_limit, for review
  a bill owing nothing, or a credit  nothing_due (a fixed amount too)
  no bill (hide) and an amount       pays the fixed amount
  no bill and no amount              no_bill

Flags:
`

const moreUsage = `
Instructions (-instructions FILE, or - for standard input):
  CSV with a header naming its columns, once each, in any order: id (the
  instruction's own identifier: letters, digits, "-" and "_"), product,
  account, biller_code, ref2, ic_number (JomPAY's payer, without dashes),
  max_amount (the most it may pay without review) and amount (a fixed amount
  for billers with no bill to present; optional). A row that breaks a rule is
  reported and never paid.

Exactly once:
  A payment's refid is ID-YYYYMM-N: the instruction's id, the period and the
  attempt, always derived, whatever a line of -out says. Before a payment is
  sent its intent is written to -out and synced, with a fingerprint of the
  payment (a hash of its product, account, extras and amount); a run after
  any crash (a deploy, OOM, kill -9) asks again about every payment the file
  leaves pending, before any other payment or bill, and only when the
  instruction still makes that payment: the API then answers with it instead
  of paying again. An instruction changed since (another account or amount)
  is held: reported, never paid, until its row is restored. A new attempt (a
  new refid) follows only a final failure the vendor says may pass (47
  service unavailable, 55 provider timeout: at most 3 a period) or the
  wallet's (43: after the top-up); every other failure is final for the
  period.

Results (-out FILE):
  JSON Lines, appended whole (created readable by its owner only), locked
  for the run: a second run on the same file is refused (exit 3). Each line:
  id, period, refid, attempt, status (paid, pending, failed, invalid_account,
  over_limit, nothing_due, no_bill, not_sent), amount_sen, code, reason,
  request_id, retry, wallet, fingerprint and time. The last line of an
  instruction is its state. No account or IC number is written. The file
  records; it never decides: a line autopay did not write stops the run
  (exit 2), a record with a status, attempt or refid autopay does not write
  holds its instruction, and a pending payment whose instruction was removed
  is named until its row is back.

The wallet:
  Before its first payment autopay reads the wallet's balance, pays in input
  order what it covers, and then stops cleanly, saying how much to top up;
  an insufficient-credit answer (code 43) mid-run stops it the same way.

Environment:
  IIMMPACT_API_KEY      the API key (iimm_prod_... or iimm_dev_...)
  IIMMPACT_HMAC_SECRET  the Base64 HMAC secret from the dashboard
  IIMMPACT_BASE_URL     optional: another server (an iimm_dev_ key calls staging by itself)
  With none of the three set, autopay runs on the built-in sandbox, a new one
  each run. Setting only some of them is an error.

SIGINT or SIGTERM: nothing new is sent after it (no bill, no payment, no
ask; calls waiting for a quota slot end at once); the requests already
written get -grace (30 s), and a payment whose answer did not come is
recorded as pending. Every call waits for its quota slot (-quota) instead of
being refused.

What the exit statuses mean for autopay: 0, every instruction reached a
final state for the period; 2, a bad flag, a bad row (reported; the rest
run) or a line of -out autopay did not write; 3, pending payments, held
instructions, a signal, a failure that may pass, results not written, or
another run using -out; 4 and 5 stop every payment of the run.

Examples:
  autopay -instructions standing.csv -out autopay-2026-12.jsonl
  autopay -instructions standing.csv -out autopay.jsonl -period 2026-11 -workers 8 -quota 20000/5m -wait 2m
`

// options are what the command line asked for.
type options struct {
	instructions, out, period, quota string
	workers                          int
	wait, timeout, grace             time.Duration
}

func parseArgs(args []string, stderr io.Writer, now time.Time) (options, int, bool) {
	var o options
	fs := flag.NewFlagSet("autopay", flag.ContinueOnError)
	fs.StringVar(&o.instructions, "instructions", "", "the standing instructions, a CSV `file` (- for standard input)")
	fs.StringVar(&o.out, "out", "", "the results `file`: appended to, and read back to resume (required)")
	fs.StringVar(&o.period, "period", periodOf(now), "the billing period, `YYYY-MM`")
	fs.IntVar(&o.workers, "workers", 4, "calls in flight at once")
	fs.StringVar(&o.quota, "quota", "", "the client's quota as `N/DURATION`, such as 20000/5m (default: the SDK's own)")
	fs.DurationVar(&o.wait, "wait", time.Minute, "how long to keep asking about payments still being processed, at the vendor's 5 to 10 s cadence")
	fs.DurationVar(&o.timeout, "timeout", iimmpact.DefaultTimeout, "give up on one request after this long")
	fs.DurationVar(&o.grace, "grace", 30*time.Second, "after SIGINT or SIGTERM, how long payments in flight may finish; then they are recorded as pending")
	if code, ok := cli.Parse(fs, args, stderr, usage, moreUsage); !ok {
		return o, code, false
	}
	_, perr := time.Parse("2006-01", o.period)
	_, _, qerr := cli.ParseQuota(o.quota)
	msg := ""
	switch {
	case fs.NArg() > 0:
		msg = fmt.Sprintf("unexpected argument %q", fs.Arg(0))
	case o.instructions == "":
		msg = "-instructions is required"
	case o.out == "":
		msg = "-out is required: it is how a re-run knows what was paid"
	case perr != nil:
		msg = fmt.Sprintf("-period must be YYYY-MM, not %q", o.period)
	case o.workers < 1 || o.workers > 64:
		msg = fmt.Sprintf("-workers must be between 1 and 64, not %d", o.workers)
	case qerr != nil:
		msg = qerr.Error()
	case o.wait < 0 || o.timeout <= 0 || o.grace < 0:
		msg = "-wait and -grace must not be negative, and -timeout must be positive"
	}
	if msg != "" {
		fmt.Fprintln(stderr, "autopay: "+msg)
		return o, exitUsage, false
	}
	return o, exitOK, true
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, code, ok := parseArgs(args, stderr, time.Now())
	if !ok {
		return code
	}
	in, _, err := jobfile.Open(o.instructions, stdin)
	if err != nil {
		fmt.Fprintln(stderr, "autopay:", err)
		return exitUsage
	}
	ins, err := readInstructions(in, o.period)
	in.Close()
	if err != nil {
		fmt.Fprintf(stderr, "autopay: %s: %v\n", o.instructions, err)
		return exitUsage
	}
	out, hist, code := openResults(o, stdout, stderr)
	if out == nil {
		return code
	}
	prog := progress.New(stderr, "autopay", len(ins), time.Now)
	// Every call waits for its quota slot as long as the run goes on: a
	// payment is paced like a bill, never refused for a slot it could have
	// waited for (after a signal the wait ends at once: cli.Calls).
	opts := []iimmpact.Option{iimmpact.WithTimeout(o.timeout), iimmpact.WithObserver(prog), iimmpact.WithQuotaWait(quotaWait)}
	if n, window, _ := cli.ParseQuota(o.quota); n > 0 {
		opts = append(opts, iimmpact.WithQuota(n, window))
	}
	client, sandbox, err := setup.Client(opts...)
	if err != nil {
		out.Close()
		fmt.Fprintf(stderr, "autopay: %v\n%s\n", err, setup.Hint)
		return exitUsage
	}
	if sandbox != nil {
		defer sandbox.Close()
		fmt.Fprintln(stderr, "autopay: no IIMMPACT_ variables are set: using the built-in sandbox (a new one each run)")
	}
	j := &job{client: client, out: out, period: o.period, prog: prog, workers: o.workers, now: time.Now, hist: hist}
	reportUnpayable(stderr, o, ins, hist)
	defer context.AfterFunc(ctx, func() {
		prog.Say(fmt.Sprintf("stopping: no more work is handed out; payments in flight get %s", o.grace))
	})()
	prog.Start()
	walletAfter := j.runPeriod(ctx, ins, o.wait, o.grace)
	prog.Stop()
	syncErr := out.Close()
	j.summary(stderr, ins, walletAfter)
	return j.status(stderr, ins, walletAfter, ctx.Err() != nil, syncErr)
}

// openResults opens -out for the run, locked, and reads what it says of the
// period; on failure it says why and returns a nil file and the exit status.
func openResults(o options, stdout, stderr io.Writer) (*jobfile.Results, history, int) {
	out, prior, err := jobfile.OpenResults(o.out, stdout)
	switch {
	case errors.Is(err, jobfile.ErrInUse):
		fmt.Fprintf(stderr, "autopay: %v: another autopay run has it; it was left as it is: run it again when that run ends\n", err)
		return nil, history{}, exitAgain
	case err != nil:
		fmt.Fprintln(stderr, "autopay:", err)
		return nil, history{}, exitUsage
	}
	hist, err := readHistory(prior, o.period)
	if err != nil {
		out.Close()
		fmt.Fprintf(stderr, "autopay: %s: %v\n", o.out, err)
		return nil, history{}, exitUsage
	}
	return out, hist, exitOK
}

// quotaWait is how long a call may wait for its quota slot: as long as the
// run goes on.
const quotaWait = 24 * time.Hour
