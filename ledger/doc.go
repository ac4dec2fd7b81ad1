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
// Personal data at rest: the account number is kept, since reconciliation
// needs it. The IC number and Ref-2 are never kept in clear: they are sealed
// with AES-GCM under a key (WithKey, or IIMMPACT_LEDGER_KEY: 32 bytes in
// Base64). Without a key they are not kept at all, and a payment that needs
// them (JomPAY) cannot be rebuilt to ask about it again: it is then confirmed
// only by its callback or by reconciliation (Payment says so with ErrSealed).
package ledger
