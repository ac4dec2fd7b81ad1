// Package iimmpact is a typed client for the IIMMPACT API, the service Malaysian
// apps use to sell bill payments (water, electricity, telco and JomPAY billers).
// Its central call is bill presentment: fetch a customer's outstanding bill before
// they pay, show exactly the fields the biller returned, and stop the payment only
// when the account is invalid.
//
// A Client signs every attempt (HMAC-SHA256 over a fresh timestamp and nonce, as
// the API requires), validates the Query before anything is sent, retries only
// what is safe to retry (transport errors, 429 and 5xx; never 403, which can be
// the API's IP block), and bounds every wait by the caller's context:
//
//	client, err := iimmpact.NewClientFromEnv()
//	...
//	bill, err := client.BillPresentment(ctx, iimmpact.Query{Product: "AKSB", Account: "1234567890"})
//	switch d := bill.Decision(); d.Action { // bill may be nil: Decision is still defined
//	case iimmpact.ActionShow:
//		for _, f := range bill.Fields() { ... f.Label, f.Value ... }
//	case iimmpact.ActionBlock:
//		... show d.Message; the customer must not pay ...
//	}
//
// # Outcomes
//
// The API answers bill presentment with an envelope whose data.message names the
// outcome. Bill.Decision turns that, and every error (through a nil *Bill), into
// one of three actions, exactly as the vendor's table says: show the bill, hide
// it, or block the payment. Only "Invalid account no" blocks; every error fails
// open (hide, can proceed), because the vendor lets the customer pay on "any
// other error".
//
// # Decoding
//
// The envelope keeps the API's legacy PascalCase names. Money is an Amount, exact
// integer sen decoded from a JSON number or numeric string without a binary
// float. CustomField keeps whatever JSON kind a biller sends. Text, Amount, Date
// and CustomField remember whether a field was absent, null or sent, and
// Bill.Fields lists only what was returned. Fields the package does not know stay
// reachable through Bill.Extra, and the body through Bill.Raw.
//
// # Retries
//
// Each attempt has its own timeout (WithTimeout) inside the caller's context, and
// no wait outlasts the context. A client-wide retry budget stops retrying when
// most recent attempts fail, so a dead upstream costs one attempt a call rather
// than 1+WithMaxRetries. A 401 whose Date header is minutes from the local clock
// is taken as clock skew: the client re-signs once with the server's time and
// keeps the offset (ClockOffset). WithCoalescing makes identical queries in flight
// at the same moment share one upstream call.
//
// # Secrets
//
// The API key, the HMAC secret and signatures never appear in errors, logs or any
// fmt or slog output of this package's values. Response bodies quoted in an
// APIError have them redacted. Redirects are refused, so the credential headers
// reach no host but the base URL's.
//
// # Other endpoints
//
// Signer signs any IIMMPACT request with the same code, and Verify checks one, for
// servers and fakes. Package iimmpacttest is a fake IIMMPACT for tests and first
// runs without an account.
package iimmpact
