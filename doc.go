// Package iimmpact is a typed client for the IIMMPACT API, the service Malaysian
// apps use to sell bill payments (water, electricity, telco and JomPAY billers).
// It presents a customer's outstanding bill before they pay (show exactly the
// fields the biller returned, stop the payment only when the account is
// invalid), then pays it, exactly once.
//
//	client, err := iimmpact.NewClientFromEnv()
//	...
//	bill, err := client.BillPresentment(ctx, iimmpact.Query{Product: "AKSB", Account: "1234567890"})
//	switch d := bill.Decision(); d.Action { // bill may be nil: Decision is still defined
//	case iimmpact.ActionShow:
//		for _, f := range bill.FieldsIn(iimmpact.Malay) { ... f.Label, f.Value ... }
//	case iimmpact.ActionBlock:
//		... show d.Message; the customer must not pay ...
//	}
//
// # Outcomes
//
// Every call takes one request path: it is described once (the method, the
// query or the JSON body, the personal values to redact), and each answer's
// body is decoded once, by its endpoint's classifier, before the client
// decides to retry: it is an outcome (a Bill, a Transaction), malformed, or
// not an outcome (an *APIError, retried when its status allows).
//
// Bill.Decision applies the vendor's table to data.message, read as a person
// reads it (case, runs of white space, invisible characters and surrounding
// punctuation make no difference, other words do): show, hide or block, with
// a Reason to log and count. Only "Invalid account no" blocks, and it always does, under any HTTP
// status, whatever else the body holds or a proxy appended to it, and it is
// never retried into something else; every error decides hide and can
// proceed, because the vendor lets the customer pay on "any other error".
// A data.message the table does not list logs one Warn per text for the
// clients of a Shared (DefaultShared: the process) to the logger given with
// WithLogger (none by default): alert on the reason unrecognised_message, the
// sign of a vendor rewording.
//
// # Payments
//
// Pay sends a Payment (POST /v2/topup), and is also how its status is asked:
// the API answers a refid it knows with that transaction, never charging
// twice. The body is built once and sent byte for byte the same on every
// attempt. One rule holds: a non-nil error means no money moved, unless it
// matches ErrOutcomeUnknown, which means the payment may have been made and
// must be asked again with the same Payment (PayUntilFinal does, at the
// vendor's cadence), never reported as failed. NewCallbackHandler takes the
// vendor's unsigned callbacks from its callback IPs only, as hints to confirm
// with Pay. Balance reads the wallet. ValidateRefID, ValidateAmount,
// ValidateICNumber and ValidateExtras check a row field by field before it
// becomes a Payment. A job's calls go under WithStop: after its signal nothing
// new is sent, and the requests already written finish.
//
// # Decoding
//
// The legacy PascalCase envelope is decoded with keys matched exactly as the
// reference spells them; a case variant is an unknown field (Bill.Extra), and a
// documented key sent twice makes the body malformed unless it blocks. Money is
// an Amount of exact sen, never a binary float. Every field reports one
// Presence: Absent, Null, Blank ("", {} or []), Unreadable or Returned, and
// Fields lists only what was Returned, as text safe to show: no control or
// bidi characters, an e-bill only as an http or https URL. A field the API
// sent in a form it cannot hold (an amount of "-", a status code of "400", a
// date that is no date) is Unreadable: named by Bill.Unreadable, kept raw,
// logged at Debug, and never a reason to change the Decision. Every pass over
// a body is linear in its size, at any nesting.
//
// # Requests
//
// Query fields are sent with the white space around them trimmed. Every
// attempt is signed afresh (HMAC-SHA256 over a new timestamp and nonce), has
// its own timeout inside the caller's context, and is retried only when that
// is safe: transport errors, 429, 500, 502, 503 and 504, with backoff,
// Retry-After, a client-wide retry budget and one re-sign after clock skew;
// never 403, and a void or a dispute never once the API may have acted on
// it. With WithCoalescing, identical queries in flight share each
// request. Without WithHTTPClient, a client owns its connection pool, and
// sends through http.DefaultTransport once something replaced it, so
// httpmock.Activate intercepts it. Every failure becomes the caller's error in
// one place, and every error type of the package is reachable with errors.As.
//
// # The IP block
//
// IIMMPACT blocks an IP for 240 minutes after 30,000 requests in 5 minutes. For
// its hosts the client keeps a trailing-window count shared by the clients of
// a Shared (DefaultShared: the process), refusing at 28,500 with ErrQuotaExceeded before anything is
// sent (WithQuota, WithoutQuota), or waiting for a slot with WithQuotaWait,
// which BillPresentments uses to pace a batch; and, for every base URL, it
// stops sending after three calls in a row are answered 403 (ErrBlocked).
// WithQuotaStore shares the count across a fleet; module
// github.com/iimmpact-go/iimmpact/redisquota keeps it in Redis.
//
// # Secrets
//
// No error, log line, observer report or fmt or slog output of this package
// holds the API key, the secret in any Base64 form, a signature sent, or the
// customer's account number, Ref-2 or IC number: error texts and APIError fields are
// redacted, JSON strings after their escapes are read and URL text after it
// is percent-decoded, so no encoding can hide a secret; credentials sit where
// no fmt verb reaches them. Redirects are refused, so the headers reach no
// other host.
//
// # Reconciliation
//
// Transactions ranges over the vendor's transaction history (a range longer
// than the API takes is split) and Statement over the wallet's movements,
// page after page as an iter.Seq2; the merchant's own records, such as
// module github.com/iimmpact-go/iimmpact/ledger keeps, are matched against
// them, as examples/reconcile does. Void and Dispute are checked before
// anything is sent and answer ErrOutcomeUnknown when a request that may have
// been taken lost its answer. CallbackURL and SetCallbackURL read and set
// where the vendor's callbacks go.
//
// # Around it
//
// NetworkStatus tells whether a biller is having trouble (it never blocks a
// payment). WithObserver reports calls and requests to telemetry; module
// github.com/iimmpact-go/iimmpact/iimmpactotel does it for OpenTelemetry.
// Package iimmpacttest is a fake IIMMPACT, as strict as the API, for tests and
// first runs without an account; it pays too, with a wallet and the vendor's
// failure accounts. Signer signs requests to other endpoints.
package iimmpact
