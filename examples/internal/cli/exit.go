package cli

// The exit statuses of every tool in examples/, with one meaning each, as
// ExitTable says (and the README, once).
const (
	ExitOK       = 0 // done: everything reached a final state
	ExitFindings = 1 // done, and some rows ended in an error or a difference, each listed
	ExitUsage    = 2 // bad flags, environment or input
	ExitAgain    = 3 // not done: work is left; run it again
	ExitBlocked  = 4 // IIMMPACT answers 403 to this IP
	ExitWallet   = 5 // the wallet is short
)

// ExitTable is the exit-status table each tool's -h ends with.
const ExitTable = `
Exit status (the same table for every tool of iimmpact-go's examples):
  0  done: every row, instruction or payment reached a final state
  1  done, and some rows ended in an error or a difference: each is listed
  2  bad flags, environment or input: the message names the flag or the line
     (a ledger's URL or key, or a ledger that is not there to read, included)
  3  not done, work is left (payments still pending, instructions held or
     claimed by another process, a signal, results that could not be
     written, a ledger that did not answer or could not be written, another
     run using the same results file): run the same command again
  4  IIMMPACT answers 403 to this IP: it looks blocked (240 minutes after
     30,000 requests in 5 minutes): run it again after the block
  5  the wallet is short: top it up and run it again
`
