// Package iimmpact is a typed client for the IIMMPACT API, the service Malaysian
// apps use to sell bill payments (water, electricity, telco and JomPAY billers).
// Its central call is bill presentment: fetch a customer's outstanding bill before
// they pay, show exactly the fields the biller returned, and stop the payment only
// when the account is invalid.
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
// Bill.Decision applies the vendor's table to data.message: show, hide or block,
// with a Reason to log and count. Only "Invalid account no" blocks, and it
// always does, whatever else the body holds; every error decides hide and can
// proceed, because the vendor lets the customer pay on "any other error".
//
// # Decoding
//
// The legacy PascalCase envelope is decoded with keys matched exactly as the
// reference spells them; a case variant is an unknown field (Bill.Extra), and a
// documented key sent twice makes the body malformed unless it blocks. Money is
// an Amount of exact sen, never a binary float. Every field reports one
// Presence: Absent, Null, Blank ("", {} or []), Unreadable or Returned, and
// Fields lists only what was Returned. A field the API sent in a form it cannot
// hold (an amount of "-", a status code of "400", a date that is no date) is
// Unreadable: named by Bill.Unreadable, kept raw, logged at Debug, and never a
// reason to change the Decision.
//
// # Requests
//
// Every attempt is signed afresh (HMAC-SHA256 over a new timestamp and nonce),
// has its own timeout inside the caller's context, and is retried only when that
// is safe: transport errors, 429 and 5xx, with backoff, Retry-After, a
// client-wide retry budget and one re-sign after clock skew; never 403. With
// WithCoalescing, identical queries in flight share each request.
//
// # The IP block
//
// IIMMPACT blocks an IP for 240 minutes after 30,000 requests in 5 minutes. For
// its hosts the client keeps a trailing-window count shared by the clients of
// the process, refusing at 28,500 with ErrQuotaExceeded before anything is
// sent (WithQuota, WithoutQuota), and stops sending after three calls in a row
// are answered 403 (ErrBlocked). WithQuotaStore shares the count across a fleet;
// module github.com/iimmpact-go/iimmpact/redisquota keeps it in Redis.
//
// # Secrets
//
// No error, log line or fmt or slog output of this package holds the API key,
// the secret in any Base64 form, a signature sent, or the customer's account
// number: error texts and APIError fields are redacted, JSON strings after they
// are decoded, so no escape can hide a secret; credentials sit where no fmt verb
// reaches them. Redirects are refused, so the headers reach no other host.
//
// Package iimmpacttest is a fake IIMMPACT, as strict as the API, for tests and
// first runs without an account. Signer signs requests to other endpoints.
package iimmpact
