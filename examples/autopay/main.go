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
	"github.com/iimmpact-go/iimmpact/ledger"
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

Exactly once, on the ledger (-db):
  The ledger is the truth: a database of every payment and every
  instruction's state in each period, shared by every autopay process that
  opens it. -db takes sqlite:PATH (the default is sqlite:DIR/autopay-ledger.db,
  DIR being -out's directory; nothing to install) or postgres://... (a fleet:
  several processes, on several machines, run one period together). Without
  -db, DATABASE_URL is used when set.
  A payment's refid is ID-YYYYMM-N: the instruction's id, the period and the
  attempt, always derived. Before a payment is sent, its intent (the refid
  and exactly what is sent) is committed to the ledger: when the ledger
  cannot record it, nothing is sent, and when the database goes away the
  process sends nothing new and exits 3 within a minute. A run after any
  crash (a deploy, OOM, kill -9), in this process or another, asks again
  about every payment the ledger has pending, with what was sent, before any
  other payment or bill: the API then answers with it instead of paying
  again. A new attempt (a new refid) follows only a final failure the vendor
  says may pass (47 service unavailable, 55 provider timeout: at most 3 a
  period) or the wallet's (43: after the top-up); every other failure is
  final for the period.
  The IC number and Ref-2 are kept in the ledger only sealed (AES-GCM) under
  IIMMPACT_LEDGER_KEY; without it they are not kept, and a pending JomPAY
  payment is asked about only while its row still makes that payment.

Several processes (-lease):
  Each instruction is claimed by one process at a time, a few at a time in
  input order, for -lease, renewed while the process works; the claim of a
  process that died is taken over when its lease ends, and its payment in
  flight is asked about first. A short wallet or a 403 seen by one process
  stops every process of the period (each exits 5 or 4); a process started
  after that pays on. A process exits 0 when the whole period is final, 3
  when work is left (held by another process, pending).

The report (-out FILE):
  JSON Lines of what this process did, appended whole (created readable by
  its owner only), locked for the run: a second run on the same file is
  refused (exit 3). Each line: id, period, refid, attempt, status (paid,
  pending, failed, invalid_account, over_limit, nothing_due, no_bill,
  not_sent), amount_sen, code, reason, request_id, retry, wallet and time. No
  account or IC number is written. autopay never reads it back.

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
final state for the period; 2, a bad flag or a bad row (reported; the rest
run); 3, pending payments, instructions held or claimed by another process,
a signal, a failure that may pass, the ledger or the report failing, or
another run using -out; 4 and 5 stop every payment of the period.

Examples:
  autopay -instructions standing.csv -out autopay-2026-12.jsonl
  autopay -instructions standing.csv -out autopay.jsonl -period 2026-11 -workers 8 -quota 20000/5m -wait 2m
  autopay -instructions standing.csv -out pod-a.jsonl -db postgres://autopay@db.internal/payments -lease 2m
`

// options are what the command line asked for.
type options struct {
	instructions, out, period, quota, db string
	workers                              int
	wait, timeout, grace, lease          time.Duration
}

func parseArgs(args []string, stderr io.Writer, now time.Time) (options, int, bool) {
	var o options
	fs := flag.NewFlagSet("autopay", flag.ContinueOnError)
	fs.StringVar(&o.instructions, "instructions", "", "the standing instructions, a CSV `file` (- for standard input)")
	fs.StringVar(&o.out, "out", "", "the report `file`: what this process did, appended to (required)")
	fs.StringVar(&o.db, "db", "", "the ledger's `URL`: sqlite:PATH or postgres://... (default: DATABASE_URL, else sqlite:"+defaultLedger+" in -out's directory)")
	fs.DurationVar(&o.lease, "lease", 2*time.Minute, "how long an instruction stays claimed by a process that stopped renewing it (it died) before another takes it over")
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
		msg = "-out is required: it reports what this process did"
	case o.lease < 3*time.Second:
		msg = fmt.Sprintf("-lease must be at least 3s, not %s", o.lease)
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
	out, code := openResults(o, stdout, stderr)
	if out == nil {
		return code
	}
	defer out.Close()
	j, err := openJob(ctx, o, ins, out)
	if err != nil {
		fmt.Fprintf(stderr, "autopay: the ledger: %v\n", err)
		return setup.LedgerExit(err)
	}
	defer j.ledger.Close()
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
		fmt.Fprintf(stderr, "autopay: %v\n%s\n", err, setup.Hint)
		return exitUsage
	}
	if sandbox != nil {
		defer sandbox.Close()
		fmt.Fprintln(stderr, "autopay: no IIMMPACT_ variables are set: using the built-in sandbox (a new one each run)")
	}
	j.client, j.prog = client, prog
	reportUnpayable(stderr, o, ins, j.hist)
	defer context.AfterFunc(ctx, func() {
		prog.Say(fmt.Sprintf("stopping: no more work is handed out; payments in flight get %s", o.grace))
	})()
	prog.Start()
	walletAfter := j.runPeriod(ctx, ins, o.wait, o.grace)
	prog.Stop()
	syncErr := out.Close()
	j.reload()
	j.summary(stderr, ins, walletAfter)
	return j.status(stderr, ins, walletAfter, ctx.Err() != nil, syncErr)
}

// openResults opens -out for the run, locked; on failure it says why and
// returns a nil file and the exit status.
func openResults(o options, stdout, stderr io.Writer) (*jobfile.Results, int) {
	out, _, err := jobfile.OpenResults(o.out, stdout)
	switch {
	case errors.Is(err, jobfile.ErrInUse):
		fmt.Fprintf(stderr, "autopay: %v: another autopay run has it; it was left as it is: run it again when that run ends\n", err)
		return nil, exitAgain
	case err != nil:
		fmt.Fprintln(stderr, "autopay:", err)
		return nil, exitUsage
	}
	return out, exitOK
}

// openJob opens the ledger and reads what it says of the period. A stop of
// the period recorded before this process started (the wallet, the block)
// is forgotten: this process reads the wallet afresh and pays on.
func openJob(ctx context.Context, o options, ins []instruction, out *jobfile.Results) (*job, error) {
	o.db = ledgerURL(o.db, o.out)
	l, err := setup.Ledger(ctx, o.db, nil)
	if err != nil {
		return nil, err
	}
	j := &job{ledger: l, run: "autopay/" + o.period, owner: ownerName(), lease: o.lease, out: out, period: o.period,
		workers: o.workers, now: time.Now, byID: map[string]instruction{}}
	for _, in := range ins {
		if in.err == nil {
			j.byID[in.id] = in
		}
	}
	dctx, cancel := dbContext()
	defer cancel()
	err = l.Resume(dctx, j.run, j.now())
	var items map[string]ledger.Item
	if err == nil {
		items, err = l.Items(dctx, j.run)
	}
	if err != nil {
		l.Close()
		return nil, err
	}
	j.hist = historyOf(items, o.period)
	j.freeDead()
	if j.ledgerErr != nil {
		l.Close()
		return nil, j.ledgerErr
	}
	return j, nil
}

// reload reads the period's states again at the end of the run: what the
// other processes did counts as much as this one's.
func (j *job) reload() {
	ctx, cancel := dbContext()
	defer cancel()
	items, err := j.ledger.Items(ctx, j.run)
	if err != nil {
		j.ledgerFailed(err)
		return
	}
	h := historyOf(items, j.period)
	j.mu.Lock()
	defer j.mu.Unlock()
	for id, why := range j.hist.held {
		if h.held[id] == "" {
			h.held[id] = why
		}
	}
	j.hist = h
}

// quotaWait is how long a call may wait for its quota slot: as long as the
// run goes on.
const quotaWait = 24 * time.Hour
