package iimmpacttest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/iimmpact-go/iimmpact"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func query(s Sample) iimmpact.Query {
	return iimmpact.Query{Product: s.Product, Account: s.Account, BillerCode: s.BillerCode, Ref2: s.Ref2}
}

func TestSamplesCoverTheVendorTable(t *testing.T) {
	srv := Start(t)
	want := map[string]iimmpact.Action{
		"AKSB/1234567890":   iimmpact.ActionShow,
		"TNB/220012345678":  iimmpact.ActionShow,
		"TNB/220000000000":  iimmpact.ActionShow,
		"JOMPAY/8800123456": iimmpact.ActionShow,
		"DIGI/0123456789":   iimmpact.ActionHide,
		"SYABAS/3000000001": iimmpact.ActionHide,
		"AKSB/0000000000":   iimmpact.ActionBlock,
		"UNIFI/0312345678":  iimmpact.ActionHide,
	}
	require.Len(t, Samples(), len(want))
	for _, s := range Samples() {
		t.Run(s.Product+"/"+s.Account, func(t *testing.T) {
			bill, err := srv.Client.BillPresentment(context.Background(), query(s))
			require.NoError(t, err)
			assert.Equal(t, want[s.Product+"/"+s.Account], bill.Decision().Action)
		})
	}
}

func TestReferenceSampleMatchesTheReference(t *testing.T) {
	srv := Start(t)
	bill, err := srv.Client.BillPresentment(context.Background(), iimmpact.Query{Product: "aksb", Account: "1234567890"})
	require.NoError(t, err)
	assert.Equal(t, []iimmpact.Field{
		{Key: "biller_name", Label: "Biller", Value: "Air Kelantan"},
		{Key: "customer_name", Label: "Customer name", Value: "EN. MOHD MOKHTAR B.AWANG"},
		{Key: "outstanding", Label: "Outstanding amount", Value: "RM 45.94"},
		{Key: "due_date", Label: "Due date", Value: "13/06/2025"},
		{Key: "address", Label: "Address", Value: "KG. TUALANG KUDONG, 18500 LABIK, MACHANG."},
	}, bill.Fields())
	assert.Equal(t, "AKSB", bill.Metadata.ProductCode)
	assert.Equal(t, 200, bill.Metadata.StatusCode)
	_, err = bill.Metadata.LastUpdated.Time()
	assert.NoError(t, err)
	assert.Equal(t, "Account validation successful with AKSB.", bill.TransactionMessage.String())
}

func TestInvalidAccountOutcomes(t *testing.T) {
	srv := Start(t)
	for _, msg := range []string{MsgBillerCodeInvalid, MsgAmountInvalid, MsgInvalidAccountNo, MsgRef2Required} {
		srv.Set("AKSB", "42", InvalidAccount(msg))
		bill, err := srv.Client.BillPresentment(context.Background(), iimmpact.Query{Product: "AKSB", Account: "42"})
		require.NoError(t, err)
		assert.Equal(t, 400, bill.StatusCode)
		assert.Equal(t, iimmpact.Decision{Action: iimmpact.ActionBlock, Message: msg, Reason: iimmpact.ReasonInvalidAccount}, bill.Decision())
		assert.Nil(t, bill.TransactionValidity)
		assert.Equal(t, iimmpact.Null, bill.TransactionMessage.State())
	}
}

func TestJomPAYRules(t *testing.T) {
	srv := Start(t)
	tests := []struct {
		name string
		q    iimmpact.Query
		want iimmpact.Decision
	}{
		{"unknown biller", iimmpact.Query{Product: "JOMPAY", Account: "8800123456", BillerCode: "1"}, iimmpact.Decision{Action: iimmpact.ActionBlock, Message: MsgBillerCodeInvalid, Reason: iimmpact.ReasonInvalidAccount}},
		{"ref2 missing", iimmpact.Query{Product: "JOMPAY", Account: "8800123456", BillerCode: "5454"}, iimmpact.Decision{Action: iimmpact.ActionBlock, Message: MsgRef2Required, Reason: iimmpact.ReasonInvalidAccount}},
		{"valid with amount", iimmpact.Query{Product: "jompay", Account: "8800123456", BillerCode: "5454", Ref2: "x", Amount: "10.00"}, iimmpact.Decision{Action: iimmpact.ActionShow, CanProceed: true, Reason: iimmpact.ReasonValid}},
		{"unknown ref1", iimmpact.Query{Product: "JOMPAY", Account: "1", BillerCode: "5454", Ref2: "x"}, iimmpact.Decision{Action: iimmpact.ActionBlock, Message: MsgInvalidAccountNo, Reason: iimmpact.ReasonInvalidAccount}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bill, err := srv.Client.BillPresentment(context.Background(), tt.q)
			require.NoError(t, err)
			assert.Equal(t, tt.want, bill.Decision())
		})
	}

	// The SDK refuses a bad amount before sending, so send one by hand.
	raw := NewHandler(WithoutAuth())
	resp := serve(t, raw, "/v2/bill-presentment?product=JOMPAY&account=8800123456&biller_code=5454&ref2=x&amount=1.234")
	assert.Equal(t, 400, resp.StatusCode)
	assert.Contains(t, readAll(t, resp), MsgAmountInvalid)
}

func serve(t *testing.T, h *Server, target string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://sandbox"+target, nil)
	require.NoError(t, err)
	resp, err := h.Responder()(req)
	require.NoError(t, err)
	return resp
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestEveryCustomFieldKindAndAbsentOrNullFields(t *testing.T) {
	srv := Start(t)
	for _, cf := range []struct {
		value any
		state iimmpact.Presence
		shown string
	}{
		{"Tariff A", iimmpact.Returned, "Tariff A"},
		{json.Number("12.5"), iimmpact.Returned, "12.5"},
		{true, iimmpact.Returned, "true"},
		{map[string]any{"a": 1}, iimmpact.Returned, "A: 1"},
		{[]any{"x", 2}, iimmpact.Returned, "x, 2"},
		{"", iimmpact.Blank, ""},
		{nil, iimmpact.Null, ""},
	} {
		srv.Set("TNB", "1", ValidBill(Data{"BillerName": "TNB", "CustomerName": nil, "CustomField": cf.value}))
		bill, err := srv.Client.BillPresentment(context.Background(), iimmpact.Query{Product: "TNB", Account: "1"})
		require.NoError(t, err)
		assert.Equal(t, cf.state, bill.Data.CustomField.State())
		assert.Equal(t, iimmpact.Null, bill.Data.CustomerName.State())
		assert.Equal(t, iimmpact.Absent, bill.Data.Address.State())
		var shown string
		for _, f := range bill.Fields() {
			if f.Key == "custom_field" {
				shown = f.Value
			}
		}
		assert.Equal(t, cf.shown, shown)
	}
}

func TestAuthentication(t *testing.T) {
	srv := Start(t)
	get := func(t *testing.T, mutate func(*http.Request)) (int, string) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/v2/bill-presentment?product=AKSB&account=1234567890", nil)
		require.NoError(t, err)
		signer, err := iimmpact.NewSigner(srv.APIKey, srv.HMACSecret)
		require.NoError(t, err)
		require.NoError(t, signer.Sign(req))
		mutate(req)
		resp, err := srv.ts.Client().Do(req)
		require.NoError(t, err)
		return resp.StatusCode, readAll(t, resp)
	}
	tests := []struct {
		name   string
		mutate func(*http.Request)
		status int
		msg    string
	}{
		{"signed", func(*http.Request) {}, 200, "Account no is valid"},
		{"unsigned", func(r *http.Request) { r.Header = http.Header{} }, 401, "Missing authentication headers"},
		{"other key", func(r *http.Request) { r.Header.Set("X-Api-Key", "iimm_dev_other") }, 401, "API key not found"},
		{"stale", func(r *http.Request) {
			r.Header.Set("X-Timestamp", fmt.Sprint(time.Now().Add(-10*time.Minute).Unix()))
		}, 401, "outside the allowed window"},
		{"tampered query", func(r *http.Request) { r.URL.RawQuery = "product=AKSB&account=0000000000" }, 401, "Invalid signature"},
		{"timestamp with a sign", func(r *http.Request) { r.Header.Set("X-Timestamp", "+"+r.Header.Get("X-Timestamp")) }, 401, "outside the allowed window"},
		{"timestamp with leading zeros", func(r *http.Request) { r.Header.Set("X-Timestamp", "000"+r.Header.Get("X-Timestamp")) }, 401, "outside the allowed window"},
		{"nonce not ASCII", func(r *http.Request) { r.Header.Set("X-Nonce", strings.Repeat("é", 8)) }, 401, "Invalid nonce"},
		{"a body the signature did not hash", func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader("x")); r.ContentLength = 1 }, 401, "Invalid signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(t, tt.mutate)
			assert.Equal(t, tt.status, status)
			assert.Contains(t, body, tt.msg)
			if status == 401 {
				assert.Contains(t, body, `"error":"unauthorized"`)
			}
		})
	}

	t.Run("replayed nonce", func(t *testing.T) {
		var first *http.Request
		status, _ := get(t, func(r *http.Request) { first = r.Clone(context.Background()) })
		require.Equal(t, 200, status)
		resp, err := srv.ts.Client().Do(first)
		require.NoError(t, err)
		assert.Equal(t, 401, resp.StatusCode)
		assert.Contains(t, readAll(t, resp), "Nonce has already been used")
	})

	t.Run("recorded", func(t *testing.T) {
		reqs := srv.Requests()
		require.NotEmpty(t, reqs)
		last := reqs[len(reqs)-1]
		assert.False(t, last.Authenticated)
		assert.Equal(t, "Nonce has already been used", last.AuthError)
		assert.Equal(t, 401, last.Status)
		assert.Equal(t, "AKSB", last.Query.Get("product"))
	})
}

func TestKeyRotationAndSkippingAuth(t *testing.T) {
	old := Start(t)
	srv := Start(t, WithSecrets(old.HMACSecret))
	// A client still signing with the old secret, against the new server's key.
	c, err := iimmpact.NewClient(srv.APIKey, old.HMACSecret, iimmpact.WithBaseURL(srv.URL), iimmpact.WithHTTPClient(srv.ts.Client()))
	require.NoError(t, err)
	_, err = c.BillPresentment(context.Background(), query(Samples()[0]))
	assert.NoError(t, err)

	open := Start(t, WithoutAuth())
	resp, err := open.ts.Client().Get(open.URL + "/v2/bill-presentment?product=AKSB&account=1234567890")
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	readAll(t, resp)
}

func TestFailTimesThenSucceed(t *testing.T) {
	srv := Start(t)
	srv.FailTimes("AKSB", "1234567890", 2, Raw(503, nil, `{"error":"unavailable"}`))
	bill, err := srv.Client.BillPresentment(context.Background(), query(Samples()[0]))
	require.NoError(t, err)
	assert.Equal(t, iimmpact.ActionShow, bill.Decision().Action)
	reqs := srv.Requests()
	require.Len(t, reqs, 3)
	nonces := map[string]bool{}
	for _, r := range reqs {
		assert.True(t, r.Authenticated)
		nonces[r.Header.Get("X-Nonce")] = true
	}
	assert.Len(t, nonces, 3, "every retry is signed afresh")
	assert.Equal(t, []int{503, 503, 200}, []int{reqs[0].Status, reqs[1].Status, reqs[2].Status})
}

func TestFailTimesFallsBackToTheProductOutcome(t *testing.T) {
	srv := Start(t)
	srv.FailTimes("DIGI", "0123456789", 1, Raw(500, nil, ""))
	bill, err := srv.Client.BillPresentment(context.Background(), iimmpact.Query{Product: "DIGI", Account: "0123456789"})
	require.NoError(t, err)
	assert.Equal(t, iimmpact.ActionHide, bill.Decision().Action)
	assert.Equal(t, msgUnavailable, bill.Data.Message.String())
	assert.Len(t, srv.Requests(), 2)
}

func TestRawOutcomes(t *testing.T) {
	srv := Start(t, WithClientOptions(iimmpact.WithMaxRetries(0)))
	srv.Set("AKSB", "1", Raw(502, http.Header{"Content-Type": {"text/html"}}, "<html><title>502 Bad Gateway</title></html>"))
	_, err := srv.Client.BillPresentment(context.Background(), iimmpact.Query{Product: "AKSB", Account: "1"})
	var apiErr *iimmpact.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 502, apiErr.StatusCode)
	assert.Contains(t, apiErr.Body, "502 Bad Gateway")

	srv.Set("AKSB", "2", Message("Biller timeout"))
	bill, err := srv.Client.BillPresentment(context.Background(), iimmpact.Query{Product: "AKSB", Account: "2"})
	require.NoError(t, err)
	assert.Equal(t, iimmpact.Decision{Action: iimmpact.ActionHide, CanProceed: true, Reason: iimmpact.ReasonUnrecognised}, bill.Decision())
}

func TestLatencyMeetsTheClientsDeadline(t *testing.T) {
	srv := Start(t)
	srv.Set("AKSB", "slow", ValidBill(Data{"BillerName": "x"}).After(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	bill, err := srv.Client.BillPresentment(ctx, iimmpact.Query{Product: "AKSB", Account: "slow"})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, iimmpact.Decision{Action: iimmpact.ActionHide, CanProceed: true, Reason: iimmpact.ReasonError}, bill.Decision())
}

func TestClockSkewIsLearntFromTheSandbox(t *testing.T) {
	for _, offset := range []time.Duration{15 * time.Minute, -15 * time.Minute} {
		srv := Start(t, WithClock(func() time.Time { return time.Now().Add(offset) }))
		_, err := srv.Client.BillPresentment(context.Background(), query(Samples()[0]))
		require.NoError(t, err, offset)
		assert.Len(t, srv.Requests(), 2)
		_, err = srv.Client.BillPresentment(context.Background(), query(Samples()[0]))
		require.NoError(t, err, offset)
		assert.Len(t, srv.Requests(), 3, "the offset is kept: later calls are signed right at once")
	}
}

func TestConcurrentRequestsAreRecorded(t *testing.T) {
	srv := Start(t)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := Samples()[i%len(Samples())]
			_, err := srv.Client.BillPresentment(context.Background(), query(s))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	assert.Len(t, srv.Requests(), 40)
	srv.ResetRequests()
	assert.Empty(t, srv.Requests())
}

func TestResponderWithHTTPMock(t *testing.T) {
	sandbox := NewHandler()
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodGet, iimmpact.ProductionURL+"/v2/bill-presentment", sandbox.Responder())
	c, err := iimmpact.NewClient(sandbox.APIKey, sandbox.HMACSecret,
		iimmpact.WithBaseURL(iimmpact.ProductionURL), iimmpact.WithHTTPClient(&http.Client{Transport: mt}))
	require.NoError(t, err)
	sandbox.Set("TNB", "9", InvalidAccount(MsgInvalidAccountNo))

	bill, err := c.BillPresentment(context.Background(), iimmpact.Query{Product: "TNB", Account: "9"})
	require.NoError(t, err)
	assert.Equal(t, iimmpact.ActionBlock, bill.Decision().Action)
	bill, err = c.BillPresentment(context.Background(), query(Samples()[1]))
	require.NoError(t, err)
	assert.Equal(t, iimmpact.ActionShow, bill.Decision().Action)
	assert.Equal(t, 2, mt.GetTotalCallCount())
	assert.Len(t, sandbox.Requests(), 2)
}

func TestNotFoundAndMethod(t *testing.T) {
	h := NewHandler(WithoutAuth())
	assert.Equal(t, 404, serve(t, h, "/v2/other").StatusCode)
	req, err := http.NewRequest(http.MethodPost, "http://sandbox/v2/bill-presentment", strings.NewReader(""))
	require.NoError(t, err)
	resp, err := h.Responder()(req)
	require.NoError(t, err)
	assert.Equal(t, 405, resp.StatusCode)
	resp = serve(t, h, "/v2/bill-presentment?product=AKSB")
	assert.Equal(t, 400, resp.StatusCode)
	assert.Contains(t, readAll(t, resp), "account is required")
}

func TestUndecodableDataIsA500(t *testing.T) {
	h := NewHandler(WithoutAuth())
	h.Set("AKSB", "1", ValidBill(Data{"CustomField": func() {}}))
	resp := serve(t, h, "/v2/bill-presentment?product=AKSB&account=1")
	assert.Equal(t, 500, resp.StatusCode)
	assert.True(t, strings.Contains(readAll(t, resp), "cannot encode Data"), "the test author is told why")
}

func TestUnknownProductIsUnavailable(t *testing.T) {
	srv := Start(t)
	bill, err := srv.Client.BillPresentment(context.Background(), iimmpact.Query{Product: "NOSUCH", Account: "1234"})
	require.NoError(t, err)
	assert.Equal(t, iimmpact.ReasonUnavailable, bill.Decision().Reason, "the API's only signal for a product without bill presentment")
	bill, err = srv.Client.BillPresentment(context.Background(), iimmpact.Query{Product: "AKSB", Account: "9999"})
	require.NoError(t, err)
	assert.Equal(t, iimmpact.ActionBlock, bill.Decision().Action, "an unknown account of a known product is invalid")
}

func TestNewHandlerHasAWorkingClient(t *testing.T) {
	h := NewHandler()
	require.NotNil(t, h.Client)
	bill, err := h.Client.BillPresentment(context.Background(), query(Samples()[0]))
	require.NoError(t, err)
	assert.Equal(t, iimmpact.ActionShow, bill.Decision().Action)
	require.Len(t, h.Requests(), 1)
	assert.True(t, h.Requests()[0].Authenticated)
}

func TestRateLimitBlocksLikeTheVendor(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	srv := Start(t, WithClock(clock), WithRateLimit(3, time.Minute, 10*time.Minute),
		WithClientOptions(iimmpact.WithoutQuota(), iimmpact.WithMaxRetries(0)))
	for range 3 {
		_, err := srv.Client.BillPresentment(context.Background(), query(Samples()[0]))
		require.NoError(t, err)
	}
	_, err := srv.Client.BillPresentment(context.Background(), query(Samples()[0]))
	var apiErr *iimmpact.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 403, apiErr.StatusCode)
	assert.Equal(t, "Forbidden", apiErr.Message)
	advance(2 * time.Minute)
	_, err = srv.Client.BillPresentment(context.Background(), query(Samples()[0]))
	require.ErrorAs(t, err, &apiErr, "still blocked after the window: the block lasts")
	advance(9 * time.Minute)
	_, err = srv.Client.BillPresentment(context.Background(), query(Samples()[0]))
	assert.NoError(t, err, "the block ends")
}

// Each handler is its own origin: one test's tripped breaker or spent quota
// is never another's.
func TestHandlersNeverShareABreaker(t *testing.T) {
	blocked := NewHandler(WithRateLimit(1, time.Minute, time.Hour), WithClientOptions(iimmpact.WithMaxRetries(0)))
	for range 4 {
		_, _ = blocked.Client.BillPresentment(context.Background(), query(Samples()[0]))
	}
	_, err := blocked.Client.BillPresentment(context.Background(), query(Samples()[0]))
	require.ErrorIs(t, err, iimmpact.ErrBlocked, "three 403s in a row open the client's breaker")

	other := NewHandler()
	assert.NotEqual(t, blocked.URL, other.URL)
	bill, err := other.Client.BillPresentment(context.Background(), query(Samples()[0]))
	require.NoError(t, err)
	assert.Equal(t, iimmpact.ActionShow, bill.Decision().Action)
}

// The API could read a repeated parameter either way, so the sandbox refuses it.
func TestRepeatedParameterIsRefused(t *testing.T) {
	h := NewHandler(WithoutAuth())
	resp := serve(t, h, "/v2/bill-presentment?product=AKSB&account=0000000000&account=1234567890")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, readAll(t, resp), "account is given more than once")
}

func TestNetworkStatus(t *testing.T) {
	srv := Start(t)
	ctx := context.Background()
	st, err := srv.Client.NetworkStatus(ctx, "TNB")
	require.NoError(t, err)
	assert.Equal(t, "TNB", st.ProductCode)
	assert.Equal(t, "Tenaga Nasional Berhad", st.ProductName)
	assert.Equal(t, Healthy, st.Status)
	assert.False(t, st.Interrupted())
	assert.Equal(t, srv.URL+"/img/TNB.svg", st.ProductImage)
	_, err = st.LastUpdated.Time()
	assert.NoError(t, err)

	st, err = srv.Client.NetworkStatus(ctx, "syabas")
	require.NoError(t, err)
	assert.True(t, st.Interrupted(), "the sample biller that is down")

	srv.SetNetworkStatus("TNB", Interruption)
	st, err = srv.Client.NetworkStatus(ctx, "TNB")
	require.NoError(t, err)
	assert.True(t, st.Interrupted())

	_, err = srv.Client.NetworkStatus(ctx, "NOPE")
	var apiErr *iimmpact.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 400, apiErr.StatusCode)

	last := srv.Requests()[len(srv.Requests())-1]
	assert.True(t, last.Authenticated, "signed and checked like bill presentment")
	resp := serve(t, NewHandler(), "/v2/networkstatus?product=TNB")
	assert.Equal(t, 401, resp.StatusCode, "an unsigned request is refused")

	logo := serve(t, NewHandler(), "/img/TNB.svg")
	assert.Equal(t, "image/svg+xml", logo.Header.Get("Content-Type"))
	assert.Contains(t, readAll(t, logo), ">TNB</text>")
}

func TestFailureAccountsAreTheVendorsAndACopy(t *testing.T) {
	accounts := FailureAccounts()
	assert.Equal(t, 43, accounts["60123450043"].Code)
	assert.False(t, accounts["60123450043"].Created, "a short wallet creates nothing")
	assert.True(t, accounts["60123450047"].Created)
	delete(accounts, "60123450043")
	assert.Contains(t, FailureAccounts(), "60123450043", "a caller's copy changes nothing")
}

// FailTimes applies to payments too: a failure answered instead of the
// payment creates nothing; one AfterPaying is the documented recipe for an
// unknown outcome, which asking again resolves without a second charge.
func TestFailTimesOnPayments(t *testing.T) {
	srv := Start(t, WithClientOptions(iimmpact.WithRetryBackoff(time.Millisecond, 2*time.Millisecond),
		iimmpact.WithPaymentPolling(time.Millisecond, 2*time.Millisecond)))
	p := iimmpact.Payment{RefID: "order-1", Product: "TNB", Account: "220012345678", Amount: "45.94"}

	srv.FailTimes("TNB", p.Account, 1, Raw(http.StatusTooManyRequests, nil, `{"message":"slow down"}`))
	srv.FailTimes("TNB", p.Account, 4, Raw(http.StatusServiceUnavailable, nil, "").AfterPaying())
	_, err := srv.Client.Pay(context.Background(), p)
	require.ErrorIs(t, err, iimmpact.ErrOutcomeUnknown, "503s after the payment was made")
	assert.Equal(t, 1, srv.Charges(p.Account), "the 429 made nothing, the first 503 the payment, the rest nothing new")

	tx, err := srv.Client.PayUntilFinal(context.Background(), p)
	require.NoError(t, err)
	assert.Equal(t, iimmpact.TransactionSucceeded, tx.Status)
	assert.Equal(t, 1, srv.Charges(p.Account))
	assert.Equal(t, 1, srv.Payments())

	q := iimmpact.Payment{RefID: "order-2", Product: "TNB", Account: "220087654321", Amount: "10.00"}
	srv.FailTimes("TNB", q.Account, 4, Raw(http.StatusServiceUnavailable, nil, ""))
	_, err = srv.Client.Pay(context.Background(), q)
	require.ErrorIs(t, err, iimmpact.ErrOutcomeUnknown, "the client cannot know a 503 made nothing")
	assert.Equal(t, 0, srv.Charges(q.Account), "a failure answered instead of the payment makes nothing")
}
