package iimmpacttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The server's books, as the vendor keeps them for reconciliation: the
// transaction history (GET /v2/transactions), the wallet statement (GET
// /v2/balance-statement), voids and disputes (POST /v2/transactions/void and
// /check), and the callback URL's setting (/v2/callback-url).

// bookLine is one movement of the wallet.
type bookLine struct {
	id      int
	at      time.Time
	kind    string // deposit, debit, refund, adjustment
	amount  int64  // sen, signed
	balance int64  // sen, after
	remarks string
}

// WithoutHistoryRefIDs makes the history's rows carry no refid: whether the
// API's do is unconfirmed, so a reconciliation must work both ways.
func WithoutHistoryRefIDs() Option { return func(c *config) { c.noHistoryRefIDs = true } }

// SetVoidSteps makes an accepted void move its payment to Refund (code 53)
// at the n-th ask about it after the void (the same payment sent again), as
// a biller's approval comes days later; 0 (the default) refunds it at once.
func (s *Server) SetVoidSteps(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.voidSteps = max(n, 0)
}

// PayOutside records a payment the vendor made outside the merchant's tools
// (the dashboard, another system): in the history and the statement, with
// the refid given ("" for none), as if it had been sent. It returns the
// vendor's trxid.
func (s *Server) PayOutside(refid, product, account, amount string) string {
	n, err := sen(amount)
	if err != nil {
		panic("iimmpacttest: PayOutside: " + err.Error())
	}
	now := s.cfg.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &transaction{req: paymentRequest{RefID: refid, Product: strings.ToUpper(product), Account: account, Amount: json.Number(ringgit(n))},
		created: now, sn: fmt.Sprintf("SBX%010d", len(s.order)+1), steps: []step{{statusSuccessful, 20, nil}}}
	s.wallet -= n
	s.record(t, now)
	if refid != "" {
		s.txns[refid] = t
	}
	return t.trxid
}

// record enters a new transaction in the books: its trxid, its place in the
// history, its debit. The caller holds s.mu.
func (s *Server) record(t *transaction, now time.Time) {
	t.trxid = fmt.Sprintf("TRX%010d", len(s.order)+1)
	t.voidAsks = -1
	s.order = append(s.order, t)
	n, _ := sen(string(t.req.Amount))
	s.book(now, "debit", -n, "payment "+t.trxid)
}

// book appends a wallet movement. The caller holds s.mu.
func (s *Server) book(at time.Time, kind string, amount int64, remarks string) {
	s.lines = append(s.lines, bookLine{id: len(s.lines) + 1, at: at, kind: kind, amount: amount, balance: s.wallet, remarks: remarks})
}

// voidTick counts an ask about a payment whose void was accepted, and
// refunds it at the last of its steps. The caller holds s.mu.
func (s *Server) voidTick(t *transaction, now time.Time) {
	if t.voidAsks <= 0 {
		return
	}
	if t.voidAsks--; t.voidAsks == 0 {
		s.refund(t, now)
	}
}

// refund moves a voided payment to Refund (53), gives its amount back to the
// wallet and sends the callback. The caller holds s.mu.
func (s *Server) refund(t *transaction, now time.Time) {
	t.voidAsks = 0
	t.steps = append(t.steps[:0:0], step{"Refund", 53, nil})
	t.asks = 0
	n, _ := sen(string(t.req.Amount))
	s.wallet += n
	s.paid[key{strings.ToUpper(t.req.Product), t.req.Account}] -= n
	s.book(now, "refund", n, "void "+t.trxid)
	s.callback(t, now)
}

// money answers the endpoints of payments and the books; ok is false for
// another path.
func (s *Server) money(r *http.Request, body []byte, now time.Time) (status int, h http.Header, b []byte, d time.Duration, ok bool) {
	switch r.URL.Path {
	case "/v2/topup":
		status, h, b, d = s.payOrFail(body, now)
	case "/v2/balance":
		status, h, b, d = s.balance(now)
	case "/v2/transactions":
		status, h, b, d = s.history(r.URL.Query())
	case "/v2/balance-statement":
		status, h, b, d = s.statement(r.URL.Query())
	case "/v2/transactions/void", "/v2/transactions/check":
		status, h, b, d = s.void(body, r.URL.Path == "/v2/transactions/void", now)
	case "/v2/callback-url":
		status, h, b, d = s.callbackSetting(r)
	default:
		return 0, nil, nil, 0, false
	}
	return status, h, b, d, true
}

// days reads the date parameter: "yyyy-MM-dd" or "yyyy-MM-dd - yyyy-MM-dd".
func days(v string) (from, to time.Time, err error) {
	a, b, ranged := strings.Cut(v, " - ")
	if from, err = time.ParseInLocation(time.DateOnly, a, gmt8); err != nil {
		return from, to, fmt.Errorf("date must be yyyy-MM-dd or yyyy-MM-dd - yyyy-MM-dd, not %q", v)
	}
	to = from
	if ranged {
		if to, err = time.ParseInLocation(time.DateOnly, b, gmt8); err != nil || to.Before(from) {
			return from, to, fmt.Errorf("date must be yyyy-MM-dd or yyyy-MM-dd - yyyy-MM-dd, not %q", v)
		}
	}
	return from, to.AddDate(0, 0, 1), nil
}

// history answers GET /v2/transactions.
func (s *Server) history(q url.Values) (int, http.Header, []byte, time.Duration) {
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit < 1 || limit > 1000 {
		return jsonError(http.StatusBadRequest, "bad_request", "limit must be 1 to 1000")
	}
	offset, _ := strconv.Atoi(q.Get("offset"))
	from, to, err := days(q.Get("date"))
	if err != nil {
		return jsonError(http.StatusBadRequest, "bad_request", err.Error())
	}
	want := strings.ToUpper(q.Get("status[]"))
	s.mu.Lock()
	defer s.mu.Unlock()
	var kept []*transaction // only the page's rows are built
	for _, t := range s.order {
		switch {
		case t.created.Before(from) || !t.created.Before(to):
		case q.Get("account") != "" && t.req.Account != q.Get("account"):
		case q.Get("product") != "" && !strings.EqualFold(t.req.Product, q.Get("product")):
		case want != "" && historyStatus(t.step().code) != want:
		default:
			kept = append(kept, t)
		}
	}
	rows := []map[string]any{}
	for _, t := range kept[min(offset, len(kept)):min(offset+limit, len(kept))] {
		rows = append(rows, s.historyRow(t, t.step()))
	}
	body, _ := json.Marshal(map[string]any{"data": rows, "meta": map[string]any{"total": len(kept), "offset": offset, "limit": limit}})
	return http.StatusOK, nil, body, 0
}

// historyStatus is the history's status[] word for a code.
func historyStatus(code int) string {
	switch {
	case code == 20:
		return "SUCCESSFUL"
	case code == 53:
		return "REFUND"
	case code == 0 || code == 1:
		return "PENDING"
	}
	return "FAILED"
}

// historyRow is a transaction as the history lists it. The caller holds s.mu.
func (s *Server) historyRow(t *transaction, st step) map[string]any {
	row := map[string]any{
		"trxid": t.trxid, "date": t.created.In(gmt8).Format("2006-01-02 15:04:05.000"), "product_code": strings.ToUpper(t.req.Product),
		"biller_code": t.req.Extras.BillerCode, "category": "Bill Payment", "amount": string(t.req.Amount), "account": t.req.Account,
		"sender": "", "member_id": "SANDBOX01", "status_code": st.code, "response_date": t.created.In(gmt8).Format("2006-01-02 15:04:05.000"),
		"sn": t.sn,
	}
	if !s.cfg.noHistoryRefIDs && t.req.RefID != "" {
		row["refid"] = t.req.RefID
	}
	return row
}

// statement answers GET /v2/balance-statement.
func (s *Server) statement(q url.Values) (int, http.Header, []byte, time.Duration) {
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit < 1 || limit > 100 {
		return jsonError(http.StatusBadRequest, "bad_request", "limit must be 1 to 100")
	}
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	from, to, err := days(q.Get("date"))
	if err != nil {
		return jsonError(http.StatusBadRequest, "bad_request", err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	start, n := (page-1)*limit, 0 // only the page's lines are built
	lines := []map[string]any{}
	for _, l := range s.lines {
		if l.at.Before(from) || !l.at.Before(to) || (q.Get("type") != "" && l.kind != q.Get("type")) {
			continue
		}
		if n >= start && n < start+limit {
			lines = append(lines, map[string]any{"id": l.id, "date": l.at.In(gmt8).Format("2006-01-02 15:04:05.000"), "type": l.kind,
				"amount": json.Number(signedRinggit(l.amount)), "balance": json.Number(ringgit(l.balance)), "remarks": l.remarks})
		}
		n++
	}
	last := max(1, (n+limit-1)/limit)
	body, _ := json.Marshal(map[string]any{"data": lines,
		"meta": map[string]any{"current_page": page, "last_page": last, "per_page": limit, "total": n}})
	return http.StatusOK, nil, body, 0
}

func signedRinggit(n int64) string {
	if n < 0 {
		return "-" + ringgit(-n)
	}
	return ringgit(n)
}

// void answers a void or a dispute: only a Succesful payment, found by trxid
// or refid, is taken; a void refunds it after SetVoidSteps asks.
func (s *Server) void(body []byte, void bool, now time.Time) (int, http.Header, []byte, time.Duration) {
	var req struct {
		RefID      string   `json:"refid"`
		TrxID      string   `json:"trxid"`
		Emails     []string `json:"user_email"`
		RefundType int      `json:"refund_type"`
		Reason     string   `json:"refund_reason"`
	}
	if err := json.Unmarshal(body, &req); err != nil || (req.RefID == "" && req.TrxID == "") || req.Reason == "" ||
		(void && (req.RefundType < 1 || req.RefundType > 3)) {
		return jsonError(http.StatusBadRequest, "bad_request", "refid or trxid, refund_reason and (for a void) refund_type 1 to 3 are required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.find(req.RefID, req.TrxID)
	answer := func(status, message string) (int, http.Header, []byte, time.Duration) {
		refid := req.RefID
		if t != nil {
			refid = t.req.RefID
		}
		b, _ := json.Marshal(map[string]any{"data": map[string]any{"refid": refid, "status": status, "message": message}})
		return http.StatusOK, nil, b, 0
	}
	switch {
	case t == nil:
		return answer("Failed", "Transaction not found")
	case t.step().code != 20:
		return answer("Failed", "Only a successful transaction can be voided or disputed")
	case !void:
		return answer("Success", "A case is opened")
	case t.voidAsks >= 0:
		return answer("Failed", "A void is already requested")
	}
	if t.voidAsks = s.voidSteps; t.voidAsks == 0 {
		s.refund(t, now)
	}
	return answer("Success", "The void is requested; the biller approves it")
}

// find is the transaction of trxid, or else of refid; nil for none. The
// caller holds s.mu.
func (s *Server) find(refid, trxid string) *transaction {
	if trxid == "" {
		return s.txns[refid]
	}
	for _, t := range s.order {
		if t.trxid == trxid {
			return t
		}
	}
	return nil
}

// callbackSetting answers GET and POST /v2/callback-url.
func (s *Server) callbackSetting(r *http.Request) (int, http.Header, []byte, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method == http.MethodPost {
		q := r.URL.Query()
		u, err := url.Parse(q.Get("url"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || (q.Get("method") != "POST" && q.Get("method") != "GET") {
			return jsonError(http.StatusBadRequest, "bad_request", "url must be http or https and method POST or GET")
		}
		s.callbackURL, s.callbackMethod = q.Get("url"), q.Get("method")
	}
	method := s.callbackMethod
	if method == "" {
		method = "POST"
	}
	b, _ := json.Marshal(map[string]any{"data": map[string]any{"Status": "Success", "CallbackUrl": s.callbackURL, "Method": method},
		"@metadata": map[string]any{"status_code": 200}})
	return http.StatusOK, nil, b, 0
}

// Complete settles a payment still pending at its final status, as the
// vendor does on its own in time, and sends its callback when a callback URL
// is set: a merchant that never asked again learns it only from the callback
// or the history.
func (s *Server) Complete(refid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.txns[refid]
	if t == nil {
		return
	}
	before := t.step()
	t.asks = len(t.steps) - 1
	if after := t.step(); after.status != before.status {
		s.settle(t, after)
		s.callback(t, s.cfg.now())
	}
}
