// Package iimmpacttest is a fake IIMMPACT for tests and first runs without an
// account: what net/http/httptest is to net/http.
//
// NewServer starts a loopback server for GET /v2/bill-presentment, GET
// /v2/networkstatus, POST /v2/topup and GET /v2/balance that authenticates
// like the API (the four headers, the v1 signature over the sorted, decoded
// query and the body's hash, a timestamp window, replayed nonces refused) and
// answers bill presentment with scripted outcomes, one helper for each row of
// the vendor's table. It pays as the API does: idempotent by refid, a wallet
// that goes down by each payment's cost (SetBalance), statuses that move on
// over successive asks (SetPaymentSteps), the vendor's failure test accounts
// (FailureAccounts), callbacks (SetCallbackURL), and Charges to assert that
// an account was charged exactly once. It comes
// with credentials and a ready Client, needs no *testing.T, and records every
// request for assertions:
//
//	srv := iimmpacttest.NewServer()
//	defer srv.Close()
//	srv.Set("TNB", "220012345678", iimmpacttest.ValidBill(iimmpacttest.Data{
//		"BillerName":  "Tenaga Nasional Berhad",
//		"Outstanding": json.Number("120.50"),
//	}))
//	bill, err := srv.Client.BillPresentment(ctx, iimmpact.Query{Product: "TNB", Account: "220012345678"})
//
// A new server already knows the sample accounts of Samples, so examples have
// something to show with no set-up. Any other account is answered as the API
// answers an invalid one.
//
// For tests that mock HTTP with httpmock instead, Server.Responder answers the
// same scripted outcomes without a network.
package iimmpacttest
