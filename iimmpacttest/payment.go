package iimmpacttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The statuses of a payment as the API spells them (apart from the SDK's on
// purpose: "Succesful" with one "s" is the vendor's).
const (
	statusAccepted   = "Accepted"
	statusProcessing = "Processing"
	statusSuccessful = "Succesful"
	statusFailed     = "Failed"
)

// FailureAccounts returns the vendor's staging test accounts, each answered
// with its failure code, as the vendor's payment error reference lists them
// (reference/payment-errors on its documentation site). Those marked Created fail after
// the API took them (HTTP 200 Failed: a new refid is needed); the others are
// refused (HTTP 400 Failed: nothing was created).
func FailureAccounts() map[string]Failure { return maps.Clone(failureAccounts) }

var failureAccounts = map[string]Failure{
	"60123450052": {Code: 52, Message: "Invalid or barred account", Created: true},
	"60123450041": {Code: 41, Message: "Merchant account suspended or unauthorised"},
	"60123450043": {Code: 43, Message: "Insufficient wallet credit"},
	"60123450044": {Code: 44, Message: "Bad format or invalid product"},
	"60123450045": {Code: 45, Message: "Out of stock", Created: true},
	"60123450047": {Code: 47, Message: "Service unavailable", Created: true},
	"60123450048": {Code: 48, Message: "Rejected by the provider", Created: true},
	"60123450464": {Code: 54, Message: "Duplicate transaction or daily account limit reached", Created: true},
	"60123450055": {Code: 55, Message: "Timeout at the provider", Created: true},
	"60123450056": {Code: 56, Message: "Blacklisted", Created: true},
	"60123450057": {Code: 57, Message: "Customer's number activated", Created: true},
	"60123450861": {Code: 61, Message: "Invalid denomination"},
}

// Failure is how the server fails a payment to one account.
type Failure struct {
	Code    int
	Message string
	// Created: the API made the transaction, then it failed (HTTP 200
	// Failed). Otherwise it refuses with HTTP 400 Failed and creates nothing.
	Created bool
}

// insufficient is the failure of a payment the wallet cannot cover.
var insufficient = Failure{Code: 43, Message: "Insufficient wallet credit"}

// transaction is one payment the server made.
type transaction struct {
	req      paymentRequest
	body     []byte // the request's body, as first received
	steps    []step // what each ask answers; the last stays
	asks     int
	sn       string
	created  time.Time
	refunded bool // the wallet got its cost back (a failure)
	trxid    string
	voidAsks int // asks left before an accepted void refunds it; -1: no void
}

type step struct {
	status string
	code   int
	failed *Failure
}

// paymentRequest is the JSON body of POST /v2/topup.
type paymentRequest struct {
	RefID   string      `json:"refid"`
	Product string      `json:"product"`
	Account string      `json:"account"`
	Amount  json.Number `json:"amount"`
	Remarks string      `json:"remarks"`
	Extras  struct {
		BillerCode     string `json:"biller_code"`
		Ref2           string `json:"ref2"`
		ICNumber       string `json:"ic_number"`
		SubproductCode string `json:"subproduct_code"`
	} `json:"extras"`
}

// same reports whether r asks for the same payment as o.
func (r paymentRequest) same(o paymentRequest) bool {
	a, _ := sen(string(r.Amount))
	b, _ := sen(string(o.Amount))
	r.Amount, o.Amount = "", ""
	return r == o && a == b
}

// SetPaymentSteps sets how many times a new payment is asked about before it
// is final: 0 (the default) answers the final status at once; 1 answers
// Accepted first; 2 answers Accepted, then Processing, then the final status.
func (s *Server) SetPaymentSteps(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paySteps = max(0, min(n, 2))
}

// SetBalance sets the wallet's balance, such as "1000.00" (the default). It
// panics on an amount that is not a decimal with at most two decimals.
func (s *Server) SetBalance(ringgit string) {
	n, err := sen(ringgit)
	if err != nil {
		panic("iimmpacttest: SetBalance: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n != s.wallet {
		kind := "deposit"
		if n < s.wallet {
			kind = "adjustment"
		}
		delta := n - s.wallet
		s.wallet = n
		s.book(s.cfg.now(), kind, delta, "SetBalance")
	}
}

// Balance returns the wallet's balance, with two decimals.
func (s *Server) Balance() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ringgit(s.wallet)
}

// SetCallbackURL makes the server POST the vendor's callback to url on every
// status change of a payment, as the API does for the URL set in its
// dashboard. "" stops it. Close waits for the callbacks in flight.
func (s *Server) SetCallbackURL(url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callbackURL = url
}

// Charges returns how many payments to account took money and kept it:
// those that did not fail. A test of "exactly once" asserts it is 1.
func (s *Server) Charges(account string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.txns {
		if t.req.Account == account && !t.refunded {
			n++
		}
	}
	return n
}

// Payments returns how many payments (refids) the server created.
func (s *Server) Payments() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.txns)
}

// pay answers POST /v2/topup: idempotent by refid. The same refid with the
// same payment answers that transaction's current status, moving it one step
// on; with another payment it answers the first transaction, unchanged, as
// an answer the client must not take for its own.
func (s *Server) pay(body []byte, now time.Time) (int, http.Header, []byte, time.Duration) {
	req, amount, refused := readPayment(body)
	if refused != nil {
		return paymentRefused(req, *refused)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.txns[req.RefID]; t != nil {
		if !t.req.same(req) {
			return http.StatusOK, nil, s.transactionBody(t, now), 0
		}
		s.voidTick(t, now)
		before := t.step()
		t.asks++
		if after := t.step(); after.status != before.status {
			s.settle(t, after)
			s.callback(t, now)
		}
		return http.StatusOK, nil, s.transactionBody(t, now), 0
	}
	fail, failing := failureAccounts[req.Account]
	switch {
	case failing && !fail.Created:
		return paymentRefused(req, fail)
	case s.wallet < amount:
		return paymentRefused(req, insufficient)
	}
	s.wallet -= amount
	t := &transaction{req: req, body: bytes.Clone(body), created: now, sn: fmt.Sprintf("SBX%010d", len(s.txns)+1)}
	final := step{status: statusSuccessful, code: 20}
	if failing {
		final = step{status: statusFailed, code: fail.Code, failed: &fail}
	}
	t.steps = append([]step{{statusAccepted, 0, nil}, {statusProcessing, 1, nil}}[:s.paySteps:s.paySteps], final)
	s.txns[req.RefID] = t
	s.record(t, now)
	s.settle(t, t.step())
	s.callback(t, now)
	return http.StatusOK, nil, s.transactionBody(t, now), 0
}

// readPayment reads a payment's body, or says how the API refuses it.
func readPayment(body []byte) (paymentRequest, int64, *Failure) {
	var req paymentRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return req, 0, &Failure{Code: 44, Message: "the body is not a JSON payment"}
	}
	amount, err := sen(string(req.Amount))
	switch {
	case req.RefID == "" || req.Product == "" || req.Account == "":
		return req, 0, &Failure{Code: 44, Message: "refid, product and account are required"}
	case err != nil || amount <= 0:
		return req, 0, &Failure{Code: 58, Message: "invalid amount"}
	case strings.EqualFold(req.Product, "JOMPAY") && (req.Extras.BillerCode == "" || req.Extras.ICNumber == ""):
		return req, 0, &Failure{Code: 44, Message: "JOMPAY needs extras.biller_code and extras.ic_number"}
	}
	return req, amount, nil
}

// step is what the transaction answers now.
func (t *transaction) step() step { return t.steps[min(t.asks, len(t.steps)-1)] }

// settle gives a failed payment's cost back to the wallet, and takes a
// succeeded one off the bill, as a biller does.
func (s *Server) settle(t *transaction, st step) {
	n, _ := sen(string(t.req.Amount))
	switch {
	case st.failed != nil && !t.refunded:
		t.refunded = true
		s.wallet += n
		s.book(t.created, "refund", n, "failed "+t.trxid)
	case st.status == statusSuccessful:
		s.paid[key{strings.ToUpper(t.req.Product), t.req.Account}] += n
	}
}

// lessPaid is a bill outcome with what was paid since taken off its
// Outstanding (never below 0), as the biller would present it: a bill paid
// in full owes nothing.
func (s *Server) lessPaid(o Outcome, product, account string) Outcome {
	s.mu.Lock()
	paid := s.paid[key{product, account}]
	s.mu.Unlock()
	if paid == 0 || o.envelope == nil {
		return o
	}
	owed, ok := o.envelope.data["Outstanding"]
	if !ok {
		return o
	}
	n, err := sen(fmt.Sprint(owed))
	if err != nil {
		return o
	}
	e := *o.envelope
	e.data = maps.Clone(e.data)
	e.data["Outstanding"] = json.Number(ringgit(max(n-paid, 0)))
	o.envelope = &e
	return o
}

// transactionBody is a 200 answer about t, in the vendor's fields.
func (s *Server) transactionBody(t *transaction, now time.Time) []byte {
	st := t.step()
	amount, _ := sen(string(t.req.Amount))
	data := map[string]any{
		"status": st.status, "statusCode": st.code, "refid": t.req.RefID, "account": t.req.Account,
		"product": strings.ToUpper(t.req.Product), "amount": json.Number(ringgit(amount)), "cost": json.Number(ringgit(amount)),
		"balance": json.Number(ringgit(s.wallet)), "sn": t.sn, "remarks": t.req.Remarks,
		"timestamp": t.created.In(gmt8).Format("2006-01-02 15:04:05"),
	}
	if st.failed != nil {
		data["sn"], data["message"] = "", st.failed.Message
	}
	body, _ := json.Marshal(map[string]any{"data": data, "@metadata": map[string]any{"status_code": 200, "last_updated": now.In(gmt8).Format(lastUpdatedLayout)}})
	return body
}

// paymentRefused is the API's HTTP 400 Failed: nothing was created.
func paymentRefused(req paymentRequest, f Failure) (int, http.Header, []byte, time.Duration) {
	body, _ := json.Marshal(map[string]any{"data": map[string]any{
		"status": statusFailed, "statusCode": f.Code, "refid": req.RefID, "message": f.Message,
	}})
	return http.StatusBadRequest, nil, body, 0
}

// callback POSTs the vendor's callback for t's status, when a callback URL
// is set. It runs beside the answer; Close waits for it.
func (s *Server) callback(t *transaction, now time.Time) {
	if s.callbackURL == "" {
		return
	}
	url, body := s.callbackURL, s.transactionBody(t, now)
	s.callbacks.Add(1)
	go func() {
		defer s.callbacks.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // the vendor's timeout
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		if resp, err := s.callbackClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
}

// balance answers GET /v2/balance.
func (s *Server) balance(now time.Time) (int, http.Header, []byte, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	body, _ := json.Marshal(map[string]any{
		"data": map[string]any{"account": "SANDBOX01", "name": "iimmpacttest sandbox wallet",
			"balance": json.Number(ringgit(s.wallet)), "level": 1, "access": 0},
		"@metadata": map[string]any{"status_code": 200, "last_updated": now.In(gmt8).Format(lastUpdatedLayout)},
	})
	return http.StatusOK, nil, body, 0
}

// sen reads a decimal with at most two decimals as sen, exactly.
func sen(s string) (int64, error) {
	whole, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	if len(frac) > 2 || whole == "" {
		return 0, fmt.Errorf("%q is not an amount with at most two decimals", s)
	}
	frac += strings.Repeat("0", 2-len(frac))
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || w < 0 || f < 0 || w > 1e12 {
		return 0, fmt.Errorf("%q is not an amount with at most two decimals", s)
	}
	return w*100 + f, nil
}

func ringgit(sen int64) string {
	return fmt.Sprintf("%d.%02d", sen/100, sen%100)
}
