// Command autopay runs standing instructions ("pay my TNB bill every month, up
// to RM 300"): for each instruction and period it presents the bill, decides,
// pays what is owed exactly once, confirms, and records the outcome.
//
//	go run ./examples/autopay -instructions examples/autopay/sample.csv -out autopay.jsonl
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
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/examples/internal/cli"
	"github.com/iimmpact-go/iimmpact/examples/internal/jobfile"
	"github.com/iimmpact-go/iimmpact/examples/internal/progress"
	"github.com/iimmpact-go/iimmpact/examples/internal/setup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
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
	fs.DurationVar(&o.timeout, "timeout", 35*time.Second, "give up on one request after this long")
	fs.DurationVar(&o.grace, "grace", 30*time.Second, "after SIGINT or SIGTERM, how long payments in flight may finish; then they are recorded as pending")
	if code, ok := cli.Parse(fs, args, stderr, usage, moreUsage); !ok {
		return o, code, false
	}
	_, perr := time.Parse("2006-01", o.period)
	_, _, qerr := parseQuota(o.quota)
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

// parseQuota reads "N/DURATION"; "" is the SDK's own quota.
func parseQuota(s string) (int, time.Duration, error) {
	if s == "" {
		return 0, 0, nil
	}
	n, d, ok := strings.Cut(s, "/")
	var requests int
	_, err := fmt.Sscan(n, &requests)
	window, derr := time.ParseDuration(d)
	if !ok || err != nil || derr != nil || requests <= 0 || window <= 0 {
		return 0, 0, fmt.Errorf("-quota must be N/DURATION, such as 20000/5m, not %q", s)
	}
	return requests, window, nil
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
	ins, err := readInstructions(in)
	in.Close()
	if err != nil {
		fmt.Fprintf(stderr, "autopay: %s: %v\n", o.instructions, err)
		return exitUsage
	}
	out, prior, err := jobfile.OpenResults(o.out, stdout)
	switch {
	case errors.Is(err, jobfile.ErrInUse):
		fmt.Fprintf(stderr, "autopay: %v: another autopay run has it; it was left as it is: run it again when that run ends\n", err)
		return exitAgain
	case err != nil:
		fmt.Fprintln(stderr, "autopay:", err)
		return exitUsage
	}
	hist, err := readHistory(prior, o.period)
	if err != nil {
		out.Close()
		fmt.Fprintf(stderr, "autopay: %s: %v\n", o.out, err)
		return exitUsage
	}
	prog := progress.New(stderr, "autopay", len(ins), time.Now)
	// Every call waits for its quota slot as long as the run goes on: a
	// payment is paced like a bill, never refused for a slot it could have
	// waited for (after a signal the wait ends at once: cli.Calls).
	opts := []iimmpact.Option{iimmpact.WithTimeout(o.timeout), iimmpact.WithObserver(prog), iimmpact.WithQuotaWait(quotaWait)}
	if n, window, _ := parseQuota(o.quota); n > 0 {
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

// reportUnpayable names, before the run, the instructions it will not pay:
// bad rows, instructions held by a line of the results file, and pending
// payments whose instruction is gone.
func reportUnpayable(w io.Writer, o options, ins []instruction, hist history) {
	for _, in := range ins {
		switch why := hist.held[in.id]; {
		case in.err != nil:
			fmt.Fprintf(w, "autopay: %s line %d: %v: not paid\n", o.instructions, in.line, in.err)
		case why != "":
			fmt.Fprintf(w, "autopay: instruction %s is held: %s: %s; nothing is paid for it until the line is fixed\n", in.id, o.out, why)
		}
	}
	for _, r := range hist.orphans(ins) {
		fmt.Fprintf(w, "autopay: instruction %s is no longer in %s, but its payment %s (%s) is pending: it cannot be asked about without its row; put the row back as it was\n",
			r.ID, o.instructions, r.RefID, cli.Ringgit(r.AmountSen))
	}
}

// quotaWait is how long a call may wait for its quota slot: as long as the
// run goes on.
const quotaWait = 24 * time.Hour

// runPeriod asks about the pending payments first, then presents the bills
// of the instructions left to do and pays them, then waits for the payments
// still being processed. It returns the wallet's balance after, when known.
func (j *job) runPeriod(ctx context.Context, ins []instruction, wait, grace time.Duration) iimmpact.Amount {
	calls, stopCalls := cli.Calls(ctx, grace)
	defer stopCalls()
	pending := j.askPending(ctx, calls, ins)
	var todo []instruction
	for _, in := range ins {
		r, known := j.hist.last[in.id]
		if _, more := j.hist.next(in.id); in.err == nil && more && (!known || r.Status != statusPending) {
			todo = append(todo, in)
		}
	}
	if len(todo) == 0 || j.stopReason() != "" || ctx.Err() != nil {
		j.await(calls, pending, wait)
		return j.walletAfter(calls)
	}
	bal, err := j.client.Balance(calls)
	switch {
	case err != nil:
		j.prog.Say("the wallet's balance could not be read: " + err.Error())
		if blocked(err) {
			j.stop(stopBlocked)
		}
		return iimmpact.Amount{}
	case !bal.CanPay:
		j.prog.Say("this API key may not make payments (the wallet is read-only)")
		j.stop(stopWallet)
		return bal.Amount
	}
	j.wallet = bal.Amount.Sen()
	plans := j.present(calls, todo)
	if ctx.Err() == nil && j.stopReason() != stopBlocked {
		pending = append(pending, j.payAll(ctx, calls, j.budget(plans))...)
	}
	j.await(calls, pending, wait)
	return j.walletAfter(calls)
}

// walletAfter reads the wallet's balance at the end of a run that paid or
// was stopped by the wallet; the zero Amount when it was not read.
func (j *job) walletAfter(calls context.Context) iimmpact.Amount {
	if j.paidSen == 0 && j.stopReason() != stopWallet && !j.walletShort {
		return iimmpact.Amount{}
	}
	after, err := j.client.Balance(calls)
	if err != nil {
		return iimmpact.Amount{}
	}
	return after.Amount
}

// status says how the run ended and returns its exit status.
func (j *job) status(w io.Writer, ins []instruction, wallet iimmpact.Amount, signalled bool, syncErr error) int {
	left, bad := len(j.hist.orphans(ins)), 0
	for _, in := range ins {
		r, ok := j.hist.last[in.id]
		switch {
		case in.err != nil:
			bad++
		case !ok || !r.final() || j.hist.held[in.id] != "":
			left++
		}
	}
	switch why := j.stopReason(); {
	case why == stopBlocked:
		fmt.Fprintf(w, "autopay: IIMMPACT answers 403 to this IP: it looks blocked (240 minutes after 30,000 requests in 5 minutes); %d instructions are not final: run it again after the block\n", left)
		return exitBlocked
	case why == stopWallet || j.walletShort:
		fmt.Fprintln(w, "autopay: "+j.topUp(wallet))
		return exitWallet
	case why == stopWrite || syncErr != nil:
		err := j.writeErr
		if err == nil {
			err = syncErr
		}
		fmt.Fprintf(w, "autopay: writing the results failed: %v; no payment was sent that was not recorded first: make room and run it again\n", err)
		return exitAgain
	case left > 0:
		how := "run it again"
		if signalled {
			how = "stopped: run it again"
		}
		fmt.Fprintf(w, "autopay: %d instructions are not final yet (pending payments, held ones, a failure that may pass, work not sent): %s\n", left, how)
		return exitAgain
	case bad > 0:
		fmt.Fprintf(w, "autopay: %d rows of the instructions are invalid and were not paid: fix them\n", bad)
		return exitUsage
	}
	return exitOK
}

// topUp says how much the wallet needs: what the payments not made cost,
// less what the wallet holds now (read at the end of the run, when it could
// be).
func (j *job) topUp(wallet iimmpact.Amount) string {
	unpaid := "the payments not made need " + cli.Ringgit(j.shortSen)
	if wallet.State() != iimmpact.Returned {
		return "the wallet is short: " + unpaid + "; top it up and run it again"
	}
	need := j.shortSen - wallet.Sen()
	if need <= 0 {
		return "the wallet was short: " + unpaid + " and it now holds " + cli.Ringgit(wallet.Sen()) + ": run it again"
	}
	return "the wallet is short: " + unpaid + " and it holds " + cli.Ringgit(wallet.Sen()) + ": top it up by at least " + cli.Ringgit(need) + " and run it again"
}
