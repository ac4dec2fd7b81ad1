package iimmpact_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
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
