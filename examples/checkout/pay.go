package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iimmpact-go/iimmpact"
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
	biller  string
	created time.Time
	turn    sync.Mutex // one POST at a time decides and sends: a double click waits for the first

	mu sync.Mutex
	orderState
}

// orderState is where an order stands.
type orderState struct {
	payment iimmpact.Payment // replaced only while nothing was created
	state   string
	tx      *iimmpact.Transaction // the last answer
	reason  string                // why it was refused, for the shopper
}

// orders are the checkout's payments by refid, the oldest dropped past
// maxOrders or maxAge.
type orders struct {
	mu    sync.Mutex
	m     map[string]*order
	queue []string // refids, oldest first
}

const (
	maxOrders = 10_000
	maxAge    = 24 * time.Hour
)

func newOrders() *orders { return &orders{m: map[string]*order{}} }

// add keeps o under its refid, or returns the order that already has it.
func (s *orders) add(o *order) (*order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.m[o.refid]; old != nil {
		return old, false
	}
	for len(s.queue) > 0 && (len(s.queue) >= maxOrders || time.Since(s.m[s.queue[0]].created) > maxAge) {
		delete(s.m, s.queue[0])
		s.queue = s.queue[1:]
	}
	s.m[o.refid] = o
	s.queue = append(s.queue, o.refid)
	return o, true
}

func (s *orders) get(refid string) *order {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[refid]
}

// newRefID mints the refid of one checkout, with its bill form: it is kept in
// the pages (never in a URL but the processing page's), so a double click, a
// refresh or a back-and-resubmit sends the same one, and the API never
// charges twice.
func newRefID() string { return "co-" + strings.ToLower(rand.Text()) }

// validRefID reports a refid this checkout minted.
func validRefID(s string) bool {
	rest, ok := strings.CutPrefix(s, "co-")
	return ok && len(rest) == 26 && strings.Trim(rest, "abcdefghijklmnopqrstuvwxyz234567") == ""
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
		o.state, o.reason = stateRefused, "declined:"+apiErr.Code
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
// refid the page was given. The same refid again (a double click, a
// refresh) asks about the same payment and never pays twice.
func (h *Handler) pay(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r)
	p := v.payment(r)
	if !v.check() {
		h.render(w, http.StatusUnprocessableEntity, v)
		return
	}
	if !v.checkPayment(p) {
		v.Looked, v.PayOnly = true, true
		v.Card = v.cardOf(nil, nil)
		v.Decision = iimmpact.Decision{Action: iimmpact.ActionHide, CanProceed: true}
		h.render(w, http.StatusUnprocessableEntity, v)
		return
	}
	o, _ := h.orders.add(&order{refid: p.RefID, biller: v.Chosen.Name, created: time.Now(), orderState: orderState{payment: p}})
	o.turn.Lock()
	defer o.turn.Unlock()
	if !o.replace(p) {
		v.Refused, v.Notice = true, v.T.Used
		h.render(w, http.StatusConflict, v)
		return
	}
	if state := o.snapshot().state; state == stateNew || state == stateRefused {
		ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
		bill, err := h.client.BillPresentment(ctx, v.Query)
		cancel()
		h.log(v.Query, bill, err)
		if v.Decision = bill.Decision(); !v.Decision.CanProceed {
			o.refuse("blocked") // nothing was sent
			v.Looked, v.Refused = true, true
			v.Card = v.cardOf(nil, nil)
			h.render(w, http.StatusUnprocessableEntity, v)
			return
		}
	}
	h.ask(r.Context(), o)
	h.renderOrder(w, v, o)
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
	h.renderOrder(w, v, o)
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

// renderOrder shows where a payment stands.
func (h *Handler) renderOrder(w http.ResponseWriter, v view, o *order) {
	st := o.snapshot()
	p, state := st.payment, st.state
	if state == stateNew {
		state = stateProcessing // another request is deciding and sending it
	}
	v.Query = iimmpact.Query{Product: p.Product, Account: p.Account, BillerCode: p.BillerCode, Ref2: p.Ref2}
	v.JomPAY = strings.EqualFold(v.Query.Product, "JOMPAY")
	v.Chosen = h.billers.find(v.Query)
	v.Order = orderView{State: state, RefID: p.RefID, Biller: cmp.Or(o.biller, p.Product), Amount: "RM " + amount(p)}
	switch state {
	case statePaid:
		v.Order.Receipt = v.receipt(p, o.biller, st.tx)
	case stateProcessing:
		v.Refresh = "/payment/" + p.RefID + "?lang=" + string(v.Lang)
	case stateRefused:
		v.Decision = iimmpact.Decision{Action: iimmpact.ActionHide, CanProceed: st.reason != "blocked"}
		v.Order.Message = v.T.refusal(st.reason)
		v.Pay = payForm{RefID: p.RefID, Amount: p.Amount} // fix and send the same refid
	case stateFailed:
		v.Decision = iimmpact.Decision{Action: iimmpact.ActionHide, CanProceed: true}
		v.Order.Message = v.T.Failed
		if st.tx != nil && st.tx.Code >= 0 {
			v.Order.Message += " (" + v.T.Code + " " + strconv.Itoa(st.tx.Code) + ")"
		}
		v.Pay = payForm{RefID: newRefID(), Amount: p.Amount} // another attempt needs a new refid
	case stateRefunded:
		v.Order.Message = v.T.Refunded
	}
	h.render(w, http.StatusOK, v)
}

// amount is a payment's amount with two decimals.
func amount(p iimmpact.Payment) string {
	a, err := iimmpact.ParseAmount(p.Amount)
	if err != nil {
		return p.Amount
	}
	return a.String()
}

// orderView is a payment as the page shows it.
type orderView struct {
	State, RefID, Biller, Amount, Message string
	Receipt                               []iimmpact.Field
}

// payForm is the payment step of the bill card.
type payForm struct {
	RefID  string
	Amount string
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

// checkPayment attaches the payment's rule errors to the pay form's fields.
func (v *view) checkPayment(p iimmpact.Payment) bool {
	v.Pay = payForm{RefID: p.RefID, Amount: p.Amount}
	var pe *iimmpact.PaymentError
	if !errors.As(p.Validate(), &pe) {
		return true
	}
	switch pe.Field {
	case "amount":
		v.Errors["pay_amount"] = v.T.BadAmount
	case "ic_number":
		v.Errors["ic_number"] = v.T.NeedIC
	case "refid":
		v.Pay.RefID = newRefID()
		v.Errors["pay_amount"] = v.T.Expired
	default:
		v.Errors["pay_amount"] = fill(v.T.codes[iimmpact.QueryBadCharacter], pe.Field)
	}
	return false
}

// receipt lists what the shopper keeps of a payment.
func (v view) receipt(p iimmpact.Payment, biller string, tx *iimmpact.Transaction) []iimmpact.Field {
	rows := []iimmpact.Field{
		{Key: "amount", Label: v.T.PaidAmount, Value: "RM " + amount(p)},
		{Key: "biller", Label: v.T.Product, Value: cmp.Or(biller, p.Product)},
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

// masked shows the last four characters of an IC number.
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
