package main

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/examples/internal/cli"
)

// The states of a checkout's payment, as the shopper sees them.
const (
	stateNew        = ""           // not sent yet: the server is deciding again
	statePaid       = "paid"       // succeeded: a receipt
	stateProcessing = "processing" // not final, or the outcome is unknown: ask again, never "failed"
	stateFailed     = "failed"     // failed at the biller: not charged; another try needs a new refid
	stateRefunded   = "refunded"   // voided or refunded
	stateRefused    = "refused"    // nothing was created: not charged; the same refid may be sent again
)

// order is one checkout's payment, kept so that the processing page, a
// refresh and a callback can ask about it again by refid. It holds the
// account and IC numbers in memory only, and only for maxAge.
type order struct {
	refid   string
	created time.Time
	turn    sync.Mutex // one POST at a time decides and sends: a double click waits for the first

	mu sync.Mutex
	orderState
}

// orderState is where an order stands.
type orderState struct {
	payment iimmpact.Payment // replaced only while nothing was created
	max     iimmpact.Amount  // the most its pay form allows
	state   string
	tx      *iimmpact.Transaction // the last answer
	reason  string                // why it was refused, for the shopper
}

// orders are the checkout's payments by refid. Past maxAge, or at its limit,
// the oldest that moved no money or is final is dropped; one being sent or
// processed never is, whatever the traffic: when every order kept is, a new
// one is refused as busy.
type orders struct {
	mu    sync.Mutex
	m     map[string]*order
	queue []string // refids, oldest first
	limit int
}

const (
	maxOrders = 10_000
	maxAge    = 24 * time.Hour
)

// errBusy refuses an order while every kept order is being processed.
var errBusy = errors.New("every order kept is being processed")

func newOrders(limit int) *orders { return &orders{m: map[string]*order{}, limit: limit} }

// add keeps o under its refid, or returns the order that already has it.
func (s *orders) add(o *order) (*order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.m[o.refid]; old != nil {
		return old, nil
	}
	s.evict(o.created)
	if len(s.m) >= s.limit {
		return nil, errBusy
	}
	s.m[o.refid] = o
	s.queue = append(s.queue, o.refid)
	return o, nil
}

// evict drops the orders past maxAge and, at the limit, the oldest order
// that may go: never one being sent or processed.
func (s *orders) evict(now time.Time) {
	if len(s.m) < s.limit && (len(s.queue) == 0 || now.Sub(s.m[s.queue[0]].created) <= maxAge) {
		return
	}
	kept := s.queue[:0]
	for _, refid := range s.queue {
		o := s.m[refid]
		full := len(s.m) >= s.limit
		if o.mayGo() && (full || now.Sub(o.created) > maxAge) {
			delete(s.m, refid)
			continue
		}
		kept = append(kept, refid)
	}
	s.queue = kept
}

// mayGo reports an order no payment depends on any more: refused (nothing
// was created) or final.
func (o *order) mayGo() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.state == stateRefused || o.final()
}

func (s *orders) get(refid string) *order {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[refid]
}

// record takes in what Pay answered and returns the state the shopper sees.
// An error that proves nothing was created by this call says nothing of a
// payment that exists already: a processing order stays processing (an ask
// that never left, a quota refusal, a cancelled context).
func (o *order) record(tx *iimmpact.Transaction, err error) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.final() {
		return o.state // a late answer never undoes a receipt
	}
	var apiErr *iimmpact.APIError
	switch {
	case err == nil:
		o.tx = tx
		o.state = map[iimmpact.TransactionStatus]string{
			iimmpact.TransactionSucceeded: statePaid, iimmpact.TransactionFailed: stateFailed, iimmpact.TransactionRefunded: stateRefunded,
		}[tx.Status]
		if o.state == "" {
			o.state = stateProcessing
		}
	case errors.Is(err, iimmpact.ErrOutcomeUnknown), o.state == stateProcessing:
		o.state = stateProcessing // the payment may have been made: never "failed, try again"
	case errors.Is(err, iimmpact.ErrQuotaExceeded), errors.Is(err, iimmpact.ErrBlocked):
		o.state, o.reason = stateRefused, "busy"
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusBadRequest:
		o.state, o.reason = stateRefused, "declined:"+strconv.Itoa(apiErr.Code)
	default:
		o.state, o.reason = stateRefused, "unavailable"
	}
	return o.state
}

// refuse records that the checkout itself refused to send the payment.
func (o *order) refuse(reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.state, o.reason = stateRefused, reason
}

// final reports a state no later answer changes.
func (o *order) final() bool {
	return o.state == statePaid || o.state == stateFailed || o.state == stateRefunded
}

// snapshot returns where the order stands.
func (o *order) snapshot() orderState {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.orderState
}

// replace makes p the order's payment, when it is the same one or nothing
// was created yet: a refused payment may be fixed (another amount) and sent
// with the same refid, as the API allows. It reports whether p is the order's
// payment now.
func (o *order) replace(p iimmpact.Payment) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.payment != p && o.state != stateNew && o.state != stateRefused {
		return false
	}
	o.payment = p
	return true
}

// pay decides again on the server (a page, a stale tab or a hand-made POST
// must never pay an account the API calls invalid), then pays with the
// refid the page was given. It takes only a pay form this checkout minted,
// unchanged, for this bill and up to its amount (see minter). The same refid
// again (a double click, a refresh) asks about the same payment and never
// pays twice.
func (h *Handler) pay(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r)
	p := v.payment(r)
	if !v.check() {
		h.render(w, http.StatusUnprocessableEntity, v)
		return
	}
	g, err := h.mint.grantOf(r, v.Query)
	if err != nil {
		v.Refused, v.Notice = true, v.T.NotMinted
		if errors.Is(err, errExpired) {
			v.Notice = v.T.Expired
		}
		h.logger.Info("pay form refused: nothing sent", "product", v.Query.Product, "why", err.Error())
		h.render(w, http.StatusForbidden, v)
		return
	}
	if !v.checkPayment(p, g.max) {
		v.Looked, v.PayOnly = true, true
		v.Card = v.cardOf(nil, nil)
		v.Decision = iimmpact.Decision{Action: iimmpact.ActionHide, CanProceed: true}
		v.Pay = h.mint.payForm(g, p.Amount)
		h.render(w, http.StatusUnprocessableEntity, v)
		return
	}
	o, err := h.orders.add(&order{refid: p.RefID, created: time.Now(), orderState: orderState{payment: p, max: g.max}})
	if err != nil {
		v.Refused, v.Notice = true, v.T.refusal("busy")
		h.render(w, http.StatusServiceUnavailable, v)
		return
	}
	o.turn.Lock()
	defer o.turn.Unlock()
	if !o.replace(p) {
		v.Refused, v.Notice = true, v.T.Used
		h.render(w, http.StatusConflict, v)
		return
	}
	if state := o.snapshot().state; (state == stateNew || state == stateRefused) && !h.decideAgain(w, r, v, o) {
		return
	}
	h.ask(r.Context(), o)
	h.renderOrder(w, v, o, true)
}

// decideAgain presents the bill again before a payment is first sent: an
// account the API calls invalid is refused, and nothing is sent. It reports
// whether the payment may go.
func (h *Handler) decideAgain(w http.ResponseWriter, r *http.Request, v view, o *order) bool {
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	bill, err := h.client.BillPresentment(ctx, v.Query)
	cancel()
	h.log(v.Query, bill, err)
	if v.Decision = bill.Decision(); v.Decision.CanProceed {
		return true
	}
	o.refuse("blocked") // nothing was sent
	v.Looked, v.Refused = true, true
	v.Card = v.cardOf(nil, nil)
	h.render(w, http.StatusUnprocessableEntity, v)
	return false
}

// status answers GET /payment/{refid}: the processing page's refresh. It
// asks the API again only while the payment is being processed.
func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r)
	o := h.orders.get(r.PathValue("refid"))
	if o == nil {
		v.Refused, v.Notice = true, v.T.NoSuchPayment
		h.render(w, http.StatusNotFound, v)
		return
	}
	if o.snapshot().state == stateProcessing {
		h.ask(r.Context(), o)
	}
	h.renderOrder(w, v, o, false)
}

// ask sends the order's payment (its status, when it was sent before) and
// records the answer.
func (h *Handler) ask(ctx context.Context, o *order) {
	ctx, cancel := context.WithTimeout(ctx, h.payTimeout)
	defer cancel()
	p := o.snapshot().payment
	tx, err := h.client.Pay(ctx, p)
	state := o.record(tx, err)
	attrs := []any{"refid", p.RefID, "product", p.Product, "state", state}
	if err != nil {
		attrs = append(attrs, "error", err.Error()) // redacted by the SDK
	}
	h.logger.Info("payment", attrs...)
}

// confirm is the callback handler's: a callback is a hint, so it is checked
// against an order this checkout is waiting for and confirmed by asking.
func (h *Handler) confirm(ctx context.Context, cb *iimmpact.Callback) {
	o := h.orders.get(cb.RefID)
	if o == nil {
		h.logger.Info("callback for no payment of ours: ignored", "refid", cb.RefID)
		return
	}
	if o.snapshot().state != stateProcessing {
		return
	}
	h.ask(ctx, o)
}

// renderOrder shows where a payment stands. Only the answer to a POST
// carries a pay form to fix a refused payment or try a failed one again: a
// GET page never holds the account, even in a hidden input.
func (h *Handler) renderOrder(w http.ResponseWriter, v view, o *order, post bool) {
	st := o.snapshot()
	p, state := st.payment, st.state
	if state == stateNew {
		state = stateProcessing // another request is deciding and sending it
	}
	v.Query = iimmpact.Query{Product: p.Product, Account: p.Account, BillerCode: p.BillerCode, Ref2: p.Ref2}
	v.JomPAY = strings.EqualFold(v.Query.Product, "JOMPAY")
	v.Chosen = h.billers.find(v.Query)
	biller := cmp.Or(v.Chosen.Name, p.Product) // the biller of the payment, whatever an earlier form named
	v.Order = orderView{State: state, RefID: p.RefID, Biller: biller, Amount: amount(p)}
	switch state {
	case statePaid:
		v.Order.Receipt = v.receipt(p, biller, st.tx)
	case stateProcessing:
		v.Refresh = "/payment/" + p.RefID + "?lang=" + string(v.Lang)
	case stateRefused:
		v.Decision = iimmpact.Decision{Action: iimmpact.ActionHide, CanProceed: st.reason != "blocked"}
		v.Order.Message = v.T.refusal(st.reason)
		if post {
			v.Pay = h.mint.payForm(h.mint.grantFor(p.RefID, v.Query, st.max), p.Amount) // fix and send the same refid
		}
	case stateFailed:
		v.Decision = iimmpact.Decision{Action: iimmpact.ActionHide, CanProceed: true}
		v.Order.Message = v.T.Failed
		if post {
			v.Pay = h.mint.payForm(h.mint.grantFor(h.mint.refID(), v.Query, st.max), p.Amount) // another attempt needs a new refid
		}
	case stateRefunded:
		v.Order.Message = v.T.Refunded
	}
	h.render(w, http.StatusOK, v)
}

// amount is a payment's amount for people, "RM 1,234.50".
func amount(p iimmpact.Payment) string {
	a, err := iimmpact.ParseAmount(p.Amount)
	if err != nil {
		return p.Amount
	}
	return cli.Ringgit(a.Sen())
}

// orderView is a payment as the page shows it.
type orderView struct {
	State, RefID, Biller, Amount, Message string
	Receipt                               []iimmpact.Field
}

// payForm is the payment step of the bill card: the grant minted for it
// (refid, the most it may pay, until when, and their token) and the amount
// to show.
type payForm struct {
	RefID, Amount, Max, Expires, Token string
}

// payment reads the payment form. The amount is what the shopper pays; the
// IC number is JomPAY's (AMLA), typed into a masked field and never put in a
// URL.
func (v view) payment(r *http.Request) iimmpact.Payment {
	q := v.Query
	p := iimmpact.Payment{RefID: r.PostFormValue("refid"), Product: q.Product, Account: q.Account, Amount: r.PostFormValue("pay_amount"),
		BillerCode: q.BillerCode, Ref2: q.Ref2, ICNumber: strings.ReplaceAll(r.PostFormValue("ic_number"), "-", "")}
	return p
}

// checkPayment attaches the payment's rule errors to the pay form's fields;
// the amount must be at most max, what the form was minted for.
func (v *view) checkPayment(p iimmpact.Payment, max iimmpact.Amount) bool {
	var pe *iimmpact.PaymentError
	switch a, _ := iimmpact.ParseAmount(p.Amount); {
	case errors.As(p.Validate(), &pe) && pe.Field == "amount":
		v.Errors["pay_amount"] = v.T.BadAmount
	case pe != nil && pe.Field == "ic_number":
		v.Errors["ic_number"] = v.T.NeedIC
	case pe != nil:
		v.Errors["pay_amount"] = fill(v.T.codes[iimmpact.QueryBadCharacter], pe.Field)
	case a.Sen() > max.Sen():
		v.Errors["pay_amount"] = fill(v.T.AtMost, max.Ringgit())
	}
	return len(v.Errors) == 0
}

// receipt lists what the shopper keeps of a payment: the account masked.
func (v view) receipt(p iimmpact.Payment, biller string, tx *iimmpact.Transaction) []iimmpact.Field {
	code := p.Product
	if v.JomPAY {
		code = p.BillerCode
	}
	rows := []iimmpact.Field{
		{Key: "amount", Label: v.T.PaidAmount, Value: amount(p)},
		{Key: "biller", Label: v.T.Product, Value: biller},
		{Key: "biller_code", Label: v.T.BillerCode, Value: code},
		{Key: "account", Label: v.label("account"), Value: masked(p.Account)},
		{Key: "status", Label: v.T.Status, Value: v.T.Succeeded},
		{Key: "refid", Label: v.T.Reference, Value: p.RefID},
	}
	if tx != nil && tx.SerialNumber != "" {
		rows = append(rows, iimmpact.Field{Key: "serial", Label: v.T.Serial, Value: tx.SerialNumber})
	}
	if tx != nil && !tx.Time.IsZero() {
		rows = append(rows, iimmpact.Field{Key: "time", Label: v.T.Time, Value: v.when(tx.Time)})
	}
	if p.ICNumber != "" {
		rows = append(rows, iimmpact.Field{Key: "ic", Label: v.T.IC, Value: masked(p.ICNumber)})
	}
	return rows
}

// masked shows the last four characters of an IC or account number.
func masked(ic string) string {
	if len(ic) <= 4 {
		return strings.Repeat("•", len(ic))
	}
	return strings.Repeat("•", len(ic)-4) + ic[len(ic)-4:]
}

// when is a time as "4 Dec 2026, 16:50", months in the page's language.
func (v view) when(t time.Time) string {
	return t.Format("2") + " " + strings.Fields(v.T.Months)[t.Month()-1] + " " + t.Format("2006, 15:04")
}
