package main

// Reporting: what the run will not pay, the summary, the exit status.

import (
	"fmt"
	"io"
	"slices"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/examples/internal/cli"
)

// summary says what the period's records hold, and what to do next.
func (j *job) summary(w io.Writer, ins []instruction, walletAfter iimmpact.Amount) {
	counts := map[string]int{}
	var paid, pending int64
	for _, in := range ins {
		r, ok := j.hist.last[in.id]
		switch {
		case in.err != nil:
			counts["invalid_row"]++
			continue
		case !ok:
			counts[statusNotSent]++
			continue
		}
		counts[r.Status]++
		switch r.Status {
		case statusPaid:
			paid += r.AmountSen
		case statusPending:
			pending += r.AmountSen
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Fprintf(w, "autopay: period %s, %d instructions:", j.period, len(ins))
	for _, k := range keys {
		fmt.Fprintf(w, " %s %d;", k, counts[k])
	}
	fmt.Fprintf(w, " paid %s in all (%s this run), %s pending", cli.Ringgit(paid), cli.Ringgit(j.paidSen), cli.Ringgit(pending))
	if walletAfter.State() == iimmpact.Returned {
		fmt.Fprintf(w, "; wallet after %s", cli.Ringgit(walletAfter.Sen()))
	}
	fmt.Fprintln(w)
}

// reportUnpayable names, before the run, the instructions it will not pay
// (bad rows, instructions the ledger holds) and the pending payments whose
// instruction is gone, which it asks about with what the ledger says was
// sent.
func reportUnpayable(w io.Writer, o options, ins []instruction, hist history) {
	for _, in := range ins {
		switch why := hist.held[in.id]; {
		case in.err != nil:
			fmt.Fprintf(w, "autopay: %s line %d: %v: not paid\n", o.instructions, in.line, in.err)
		case why != "":
			fmt.Fprintf(w, "autopay: instruction %s is held: %s; nothing is paid for it\n", in.id, why)
		}
	}
	for _, r := range hist.orphans(ins) {
		fmt.Fprintf(w, "autopay: instruction %s is no longer in %s, but its payment %s (%s) is pending: it is asked about as it was sent\n",
			r.ID, o.instructions, r.RefID, cli.Ringgit(r.AmountSen))
	}
}

// left counts the instructions of the period that are not final (pending
// payments whose instruction is gone included) and the bad rows.
func (j *job) left(ins []instruction) (left, bad int) {
	left = len(j.hist.orphans(ins))
	for _, in := range ins {
		r, ok := j.hist.last[in.id]
		switch {
		case in.err != nil:
			bad++
		case !ok || !r.final() || j.hist.held[in.id] != "":
			left++
		}
	}
	return left, bad
}

// status says how the run ended and returns its exit status.
func (j *job) status(w io.Writer, ins []instruction, wallet iimmpact.Amount, signalled bool, syncErr error) int {
	left, bad := j.left(ins)
	switch why := j.stopReason(); {
	case why == stopBlocked:
		fmt.Fprintf(w, "autopay: IIMMPACT answers 403 to this IP: it looks blocked (240 minutes after 30,000 requests in 5 minutes); %d instructions are not final: run it again after the block\n", left)
		return exitBlocked
	case why == stopWallet || j.walletShort:
		fmt.Fprintln(w, "autopay: "+j.topUp(wallet))
		return exitWallet
	case why == stopLedger:
		fmt.Fprintf(w, "autopay: the ledger failed: %v; nothing was sent after it, and every payment sent is recorded there as sent: run it again when the database is back\n", j.ledgerErr)
		return exitAgain
	case why == stopWrite || syncErr != nil:
		err := j.writeErr
		if err == nil {
			err = syncErr
		}
		fmt.Fprintf(w, "autopay: writing the report failed: %v; the ledger holds every state: make room and run it again\n", err)
		return exitAgain
	case left > 0:
		how := "run it again"
		if signalled {
			how = "stopped: run it again"
		}
		fmt.Fprintf(w, "autopay: %d instructions are not final yet (pending payments, held ones, %d claimed by another process, a failure that may pass, work not sent): %s\n", left, len(j.waiting), how)
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
