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

// The exit statuses.
const (
	exitOK      = 0 // every instruction reached a final state for the period
	exitUsage   = 2 // bad flags, environment or input
	exitAgain   = 3 // stopped with work left: run it again
	exitBlocked = 4 // IIMMPACT answers 403 to this IP: run it again after the block
	exitWallet  = 5 // the wallet is short: top it up and run it again
)

const usage = `usage: autopay -instructions FILE -out FILE [flags]

Runs standing instructions for one period: for each, presents the bill and
decides, then pays exactly once:
  block (an invalid account)         never pays: invalid_account
  a bill owing more than 0, up to
  max_amount                         pays what is owed: paid
  a bill above max_amount            does not pay: over_limit, for review
  a bill owing nothing               nothing_due
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
  attempt. Before a payment is sent its intent is written to -out and synced;
  a run after any crash (a deploy, OOM, kill -9) asks again about every
  payment the file leaves pending, with the same refid and amount, before any
  other payment or bill, and the API answers with that payment instead of
  paying again. A new attempt (a new refid) follows only a final failure the
  vendor says may pass (47 service unavailable, 55 provider timeout), at most
  3 a period; every other failure is final for the period.

Results (-out FILE):
  JSON Lines, appended whole (created readable by its owner only): id, period,
  refid, attempt, status (paid, pending, failed, invalid_account, over_limit,
  nothing_due, no_bill, not_sent), amount_sen, code, reason, request_id,
  retry and time. The last line of an instruction is its state. No account
  or IC number is written.

The wallet:
  Before its first payment autopay reads the wallet's balance, pays in input
  order what it covers, and then stops cleanly, saying how much more the rest
  needs; an insufficient-credit answer (code 43) mid-run stops it the same way.

Environment:
  IIMMPACT_API_KEY      the API key (iimm_prod_... or iimm_dev_...)
  IIMMPACT_HMAC_SECRET  the Base64 HMAC secret from the dashboard
  IIMMPACT_BASE_URL     optional: another server (an iimm_dev_ key calls staging by itself)
  With none of the three set, autopay runs on the built-in sandbox, a new one
  each run. Setting only some of them is an error.

Exit status:
  0  every instruction reached a final state for the period
  2  bad flags, environment or input (a bad row is reported; the rest run)
  3  stopped with work left (pending payments, a signal, an outcome not yet
     known, results that could not be written): run it again
  4  IIMMPACT answers 403 to this IP: run it again after the block (240 minutes)
  5  the wallet is short: top it up and run it again

SIGINT or SIGTERM stops handing out work at once; payments in flight get
-grace (30 s) and are recorded as pending when their answer did not come.

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
	if err != nil {
		fmt.Fprintln(stderr, "autopay:", err)
		return exitUsage
	}
	prog := progress.New(stderr, "autopay", len(ins), time.Now)
	opts := []iimmpact.Option{iimmpact.WithTimeout(o.timeout), iimmpact.WithObserver(prog)}
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
	j := &job{client: client, out: out, period: o.period, prog: prog, workers: o.workers, now: time.Now, hist: readHistory(prior, o.period)}
	for _, in := range ins {
		if in.err != nil {
			fmt.Fprintf(stderr, "autopay: %s line %d: %v: not paid\n", o.instructions, in.line, in.err)
		}
	}
	defer context.AfterFunc(ctx, func() {
		prog.Say(fmt.Sprintf("stopping: no more work is handed out; payments in flight get %s", o.grace))
	})()
	prog.Start()
	walletAfter := j.runPeriod(ctx, ins, o.wait, o.grace)
	prog.Stop()
	syncErr := out.Close()
	j.summary(stderr, ins, walletAfter)
	return j.status(stderr, ins, ctx.Err() != nil, syncErr)
}

// runPeriod asks about the pending payments first, then presents the bills
// of the instructions left to do and pays them, then waits for the payments
// still being processed. It returns the wallet's balance after, when known.
func (j *job) runPeriod(ctx context.Context, ins []instruction, wait, grace time.Duration) string {
	calls, stopCalls := jobfile.AfterGrace(ctx, grace)
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
		return ""
	}
	bal, err := j.client.Balance(calls)
	switch {
	case err != nil:
		j.prog.Say("the wallet's balance could not be read: " + err.Error())
		if errors.Is(err, iimmpact.ErrBlocked) {
			j.stop(stopBlocked)
		}
		return ""
	case !bal.CanPay:
		j.prog.Say("this API key may not make payments (the wallet is read-only)")
		j.stop(stopWallet)
		return bal.Amount.String()
	}
	j.wallet = bal.Amount.Sen()
	plans := j.present(calls, todo)
	if ctx.Err() == nil && j.stopReason() != stopBlocked {
		pending = append(pending, j.payAll(ctx, calls, j.budget(plans))...)
	}
	j.await(calls, pending, wait)
	if after, err := j.client.Balance(calls); err == nil {
		return after.Amount.String()
	}
	return ""
}

// status says how the run ended and returns its exit status.
func (j *job) status(w io.Writer, ins []instruction, signalled bool, syncErr error) int {
	left, bad := 0, 0
	for _, in := range ins {
		r, ok := j.hist.last[in.id]
		switch {
		case in.err != nil:
			bad++
		case !ok || !r.final():
			left++
		}
	}
	switch why := j.stopReason(); {
	case why == stopBlocked:
		fmt.Fprintf(w, "autopay: IIMMPACT answers 403 to this IP: it looks blocked (240 minutes after 30,000 requests in 5 minutes); %d instructions are not final: run it again after the block\n", left)
		return exitBlocked
	case why == stopWallet || j.walletShort:
		fmt.Fprintf(w, "autopay: the wallet is short: the payments not made need RM %s more; top it up and run it again\n", ringgit(j.shortSen))
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
		fmt.Fprintf(w, "autopay: %d instructions are not final yet (pending payments, a failure that may pass, work not sent): %s\n", left, how)
		return exitAgain
	case bad > 0:
		fmt.Fprintf(w, "autopay: %d rows of the instructions are invalid and were not paid: fix them\n", bad)
		return exitUsage
	}
	return exitOK
}
