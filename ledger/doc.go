// Package ledger records every payment of a merchant in a database every
// process shares: each payment's intent before it is sent (its refid unique:
// a second intent under a known refid with another body is refused), every
// answer and every callback after it, once each, and what is still pending.
//
// Open takes a database URL: "sqlite:PATH" for the embedded default (pure
// Go, no cgo: nothing to install), or "postgres://…" ("postgresql://…") for a
// fleet, through pgx. One schema serves both; its migrations are embedded
// and applied by Open.
//
// A payment goes Intent (committed before the request is written), then
// Answer with whatever Pay returned; the ledger decides its state, so a late
// or refused answer never undoes a payment that may exist. Pending lists the
// payments still to be asked about, and Payment rebuilds one to ask with
// exactly what was sent. Callback adds the vendor's callbacks to a payment's
// History: a hint, confirmed by asking. Refuse and Doubt settle the one race
// a caller can see: the request of a fresh intent that never left, against
// another process asking about it.
//
// The processes of a run (autopay's instructions of a period) share its work
// through Claim (an item to one owner until its lease ends, renewed by
// Renew, taken over after), Mark and Items (each item's state, written only
// by its claim's holder), and Stop (a short wallet or a block seen by one
// process stops them all; Resume lets the next run pay on).
//
// Personal data at rest: the account number is kept, since reconciliation
// needs it. The IC number and Ref-2 are never kept in clear, nor in a form
// that trying every IC number could find again: they are sealed with
// AES-GCM under a key (WithKey, or IIMMPACT_LEDGER_KEY: 32 bytes in Base64).
// Without a key they are not kept at all, and a payment that needs them
// (JomPAY) cannot be rebuilt to ask about it again: it is then confirmed only
// by its callback or by reconciliation (Payment says so with ErrSealed).
package ledger
