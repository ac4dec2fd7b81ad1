package iimmpact_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

// A client for the real API comes from the environment; here the sandbox stands
// in for it.
func ExampleNewClient() {
	srv := iimmpacttest.NewServer()
	defer srv.Close()

	client, err := iimmpact.NewClient(srv.APIKey, srv.HMACSecret,
		iimmpact.WithBaseURL(srv.URL),
		iimmpact.WithTimeout(10*time.Second),
		iimmpact.WithMaxRetries(1),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	bill, err := client.BillPresentment(context.Background(), iimmpact.Query{Product: "AKSB", Account: "1234567890"})
	fmt.Println(bill.Decision().Action, err)
	// Output: show <nil>
}

// Present a bill and act on the decision: show the returned fields, or stop the
// payment with the API's message, or let the customer pay without details.
func ExampleClient_BillPresentment() {
	srv := iimmpacttest.NewServer()
	defer srv.Close()

	for _, q := range []iimmpact.Query{
		{Product: "AKSB", Account: "1234567890"},
		{Product: "JOMPAY", Account: "8800123456", BillerCode: "5454"},
		{Product: "DIGI", Account: "0123456789"},
	} {
		bill, err := srv.Client.BillPresentment(context.Background(), q)
		if err != nil {
			// bill is nil, and its Decision fails open: hide, can proceed.
			fmt.Println("lookup failed:", err)
		}
		switch d := bill.Decision(); d.Action {
		case iimmpact.ActionShow:
			for _, f := range bill.Fields() {
				fmt.Printf("%s: %s\n", f.Label, f.Value)
			}
		case iimmpact.ActionBlock:
			fmt.Println("cannot pay:", d.Message)
		case iimmpact.ActionHide:
			fmt.Println("no details; can pay:", d.CanProceed)
		}
	}
	// Output:
	// Biller: Air Kelantan
	// Customer name: EN. MOHD MOKHTAR B.AWANG
	// Outstanding amount: RM 45.94
	// Due date: 13/06/2025
	// Address: KG. TUALANG KUDONG, 18500 LABIK, MACHANG.
	// cannot pay: Ref-2 is required
	// no details; can pay: true
}

// checkoutHandler is the kind of handler an application writes: it looks the
// bill up and answers whether the customer may pay.
func checkoutHandler(client *iimmpact.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		bill, _ := client.BillPresentment(ctx, iimmpact.Query{
			Product: r.FormValue("product"), Account: r.FormValue("account"),
		})
		d := bill.Decision()
		if !d.CanProceed {
			http.Error(w, d.Message, http.StatusUnprocessableEntity)
			return
		}
		fmt.Fprintln(w, "ok to pay")
	}
}

// Test a checkout handler offline: script the outcome on the sandbox and call the
// handler with net/http/httptest.
func Example_testingACheckoutHandler() {
	srv := iimmpacttest.NewServer() // in a test: iimmpacttest.Start(t)
	defer srv.Close()
	srv.Set("TNB", "220099999999", iimmpacttest.InvalidAccount(iimmpacttest.MsgInvalidAccountNo))
	srv.FailTimes("AKSB", "1234567890", 1, iimmpacttest.Raw(503, nil, `{"error":"unavailable"}`))

	h := checkoutHandler(srv.Client)
	for _, target := range []string{
		"/pay?product=TNB&account=220099999999",
		"/pay?product=AKSB&account=1234567890",
	} {
		rec := httptest.NewRecorder()
		h(rec, httptest.NewRequest(http.MethodPost, target, nil))
		fmt.Print(rec.Code, " ", rec.Body.String())
	}
	fmt.Println("requests the sandbox saw:", len(srv.Requests()))
	// Output:
	// 422 Invalid account no
	// 200 ok to pay
	// requests the sandbox saw: 3
}

// Sign a request to any other IIMMPACT endpoint with the same code.
func ExampleSigner_Sign() {
	signer, err := iimmpact.NewSigner("iimm_dev_example", "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY=")
	if err != nil {
		fmt.Println(err)
		return
	}
	signer.Now = func() time.Time { return time.Unix(1747640248, 0) }
	signer.NewNonce = func() string { return "7c9e6679-7425-40de-944b-e07fc1f90ae7" }
	req, _ := http.NewRequest(http.MethodGet, iimmpact.StagingURL+"/v2/bill-presentment?product=AKSB&account=1234567890", nil)
	if err := signer.Sign(req); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(req.Header.Get("X-Signature"))
	// Output:
	// v1=6bcrOzvkN00dW9+oDHkWgsXSS7aZlGAm7qy3GVNznyE=
}

func ExampleAmount() {
	a, err := iimmpact.ParseAmount("90071992547409.93")
	fmt.Println(a.Sen(), a.Ringgit(), err)
	// Output: 9007199254740993 RM 90071992547409.93 <nil>
}

// In production the client comes from the environment: IIMMPACT_API_KEY,
// IIMMPACT_HMAC_SECRET and, for staging, IIMMPACT_BASE_URL. A missing or
// malformed variable is an error that names it.
func ExampleNewClientFromEnv() {
	defer os.Unsetenv("IIMMPACT_API_KEY")
	defer os.Unsetenv("IIMMPACT_HMAC_SECRET")
	os.Setenv("IIMMPACT_API_KEY", "iimm_dev_example")
	os.Setenv("IIMMPACT_HMAC_SECRET", "")
	os.Setenv("IIMMPACT_BASE_URL", "")
	_, err := iimmpact.NewClientFromEnv()
	fmt.Println(err)

	os.Setenv("IIMMPACT_HMAC_SECRET", "c2VjcmV0LWtleS1mb3ItZXhhbXBsZXMtMTIzNA==")
	client, err := iimmpact.NewClientFromEnv(iimmpact.WithTimeout(10 * time.Second))
	fmt.Println(client != nil, err) // an iimm_dev_ key goes to StagingURL
	// Output:
	// iimmpact: environment variable IIMMPACT_HMAC_SECRET is not set
	// true <nil>
}

// Errors are typed: an invalid query is refused before anything is sent, and an
// answer the API gave as an HTTP error is an *APIError with its status, message,
// request ID and Retry-After. Every error decides hide and can proceed.
func ExampleAPIError() {
	srv := iimmpacttest.NewServer(iimmpacttest.WithClientOptions(iimmpact.WithMaxRetries(0)))
	defer srv.Close()
	srv.Set("AKSB", "42", iimmpacttest.Raw(429, http.Header{"Retry-After": {"30"}, "X-Request-Id": {"req-7f3a"}}, `{"message":"Too many requests"}`))

	for _, q := range []iimmpact.Query{{Product: "JOMPAY", Account: "8800123456"}, {Product: "AKSB", Account: "42"}} {
		bill, err := srv.Client.BillPresentment(context.Background(), q)
		var qe *iimmpact.QueryError
		var apiErr *iimmpact.APIError
		switch {
		case errors.Is(err, iimmpact.ErrInvalidQuery) && errors.As(err, &qe):
			fmt.Printf("fix the form: %s %s\n", qe.Field, qe.Rule)
		case errors.As(err, &apiErr):
			fmt.Println(apiErr.StatusCode, apiErr.Message, apiErr.RetryAfter, apiErr.RequestID)
		}
		fmt.Println(bill.Decision().Action, bill.Decision().Reason)
	}
	// Output:
	// fix the form: biller_code is required when product is JOMPAY
	// hide error
	// 429 Too many requests 30s req-7f3a
	// hide error
}

// Reason says why, in a word to log and count: the vendor's table has two hide
// outcomes besides errors, and metrics should tell them apart.
func ExampleDecision_reason() {
	srv := iimmpacttest.NewServer()
	defer srv.Close()
	for _, s := range iimmpacttest.Samples() {
		q := iimmpact.Query{Product: s.Product, Account: s.Account, BillerCode: s.BillerCode, Ref2: s.Ref2}
		bill, _ := srv.Client.BillPresentment(context.Background(), q)
		d := bill.Decision()
		fmt.Printf("%-6s %-5s %s\n", s.Product, d.Action, d.Reason)
	}
	// Output:
	// AKSB   show  valid
	// TNB    show  valid
	// TNB    show  valid
	// JOMPAY show  valid
	// DIGI   hide  unavailable
	// SYABAS hide  service_unavailable
	// AKSB   block invalid_account
	// UNIFI  hide  unrecognised_message
}

// Labels come in English and Bahasa Malaysia; an object CustomField reads as
// text, with its raw JSON still at hand.
func ExampleBill_FieldsIn() {
	srv := iimmpacttest.NewServer()
	defer srv.Close()
	bill, _ := srv.Client.BillPresentment(context.Background(), iimmpact.Query{Product: "TNB", Account: "220012345678"})
	for _, f := range bill.FieldsIn(iimmpact.Malay)[2:] {
		fmt.Printf("%s: %s\n", f.Label, f.Value)
	}
	fmt.Println(string(bill.Data.CustomField.Raw()))
	// Output:
	// Jumlah tertunggak: RM 120.50
	// Tarikh akhir bayaran: 28/06/2025
	// Alamat: 12, JALAN SS2/24, 47300 PETALING JAYA, SELANGOR.
	// Bil elektronik: https://sandbox.invalid/e-bill/220012345678.pdf
	// Maklumat tambahan: Tariff: A (domestic) · Meter: M-0042 · kWh: 533
	// {"tariff":"A (domestic)","meter":"M-0042","kWh":533}
}

// A payment, and the one rule a checkout relies on: an error means no money
// moved, unless it is ErrOutcomeUnknown.
func ExampleClient_Pay() {
	srv := iimmpacttest.NewServer()
	defer srv.Close()
	p := iimmpact.Payment{RefID: "order-8812-pay", Product: "TNB", Account: "220012345678", Amount: "120.50"}
	tx, err := srv.Client.Pay(context.Background(), p)
	switch {
	case errors.Is(err, iimmpact.ErrOutcomeUnknown):
		fmt.Println("processing: ask again with the same Payment; never say it failed")
	case err != nil:
		fmt.Println("not charged:", err)
	default:
		fmt.Println(tx.Status, tx.Amount.Ringgit(), tx.Status.Final())
	}
	_, err = srv.Client.Pay(context.Background(), p) // the same refid again: its status, never a second charge
	fmt.Println(err, srv.Charges("220012345678"))
	// Output:
	// succeeded RM 120.50 true
	// <nil> 1
}

// PayUntilFinal asks again, at the vendor's 5 to 10 s cadence, until the
// payment is final or the context ends.
func ExampleClient_PayUntilFinal() {
	srv := iimmpacttest.NewServer()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tx, err := srv.Client.PayUntilFinal(ctx, iimmpact.Payment{RefID: "standing-7-202612-1", Product: "AKSB", Account: "1234567890", Amount: "45.94"})
	if err != nil {
		fmt.Println(err) // ErrOutcomeUnknown when ctx ended first: ask again later
		return
	}
	fmt.Println(tx.RefID, tx.Status)
	// Output: standing-7-202612-1 succeeded
}

// A job's calls go under WithStop: after the signal, nothing new is sent,
// and a call that had not left ends with ErrNotSent (it created nothing).
func ExampleWithStop() {
	srv := iimmpacttest.NewServer()
	defer srv.Close()
	signalled, signal := context.WithCancel(context.Background())
	calls, abandon := context.WithCancel(context.WithoutCancel(signalled)) // the grace: cancel it after a while
	defer abandon()
	calls = iimmpact.WithStop(calls, signalled)

	signal() // SIGTERM
	_, err := srv.Client.BillPresentment(calls, iimmpact.Query{Product: "AKSB", Account: "1234567890"})
	fmt.Println(errors.Is(err, iimmpact.ErrNotSent), len(srv.Requests()))
	// Output: true 0
}

// A row of a CSV is checked field by field before it becomes a payment.
func ExampleValidateExtras() {
	err := iimmpact.ValidateExtras("JOMPAY", iimmpact.Extras{BillerCode: "5454"})
	fmt.Println(err)
	fmt.Println(iimmpact.ValidateAmount("RM 45.94"))
	fmt.Println(iimmpact.ValidateRefID("water-kb-001-202612-1"))
	// Output:
	// iimmpact: invalid payment: ic_number is required when product is JOMPAY
	// iimmpact: invalid payment: amount must be a plain decimal such as 45.94, without "RM" (give Amount.String(), not Amount.Ringgit())
	// <nil>
}

// Reconcile a day's payments against the vendor's history: range over the
// rows, page after page; a break asks for nothing more.
func ExampleClient_Transactions() {
	srv := iimmpacttest.NewServer()
	defer srv.Close()
	ctx := context.Background()
	for _, refid := range []string{"order-1", "order-2"} {
		if _, err := srv.Client.Pay(ctx, iimmpact.Payment{RefID: refid, Product: "DIGI", Account: "0123456789", Amount: "10.00"}); err != nil {
			fmt.Println(err)
			return
		}
	}
	for row, err := range srv.Client.Transactions(ctx, iimmpact.HistoryQuery{From: time.Now()}) {
		if err != nil {
			fmt.Println("incomplete, run it again:", err)
			return
		}
		fmt.Println(row.RefID, row.Amount, row.Status)
	}
	// Output:
	// order-1 10.00 succeeded
	// order-2 10.00 succeeded
}
