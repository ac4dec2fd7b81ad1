package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/examples/internal/cli"
	"github.com/iimmpact-go/iimmpact/ledger"
)

// The states of a checkout's payment, as the shopper sees them.
const (
	statePaid       = "paid"       // succeeded: a receipt
	stateProcessing = "processing" // not final, or the outcome is unknown: ask again, never "failed"
	stateFailed     = "failed"     // failed at the biller: not charged; another try needs a new refid
	stateRefunded   = "refunded"   // voided or refunded
	stateRefused    = "refused"    // nothing was created: not charged; the same refid may be sent again
)

// stateOf is the shopper's word for a payment's state in the ledger: one
// that may exist is processing, never "failed".
func stateOf(e ledger.Entry) string {
	switch e.State {
	case ledger.StatePaid:
		return statePaid
	case ledger.StateFailed:
		return stateFailed
	case ledger.StateRefunded:
		return stateRefunded
	case ledger.StateRefused:
		return stateRefused
	}
	return stateProcessing
}

// claimRun names the checkout's claims in the ledger: one request at a
// time, on any pod, decides and sends a refid's payment.
const claimRun = "checkout"

// pay decides again on the server (a page, a stale tab or a hand-made POST
// must never pay an account the API calls invalid), then pays with the
// refid the page was given. It takes only a pay form this checkout minted,
// unchanged, for this bill and up to its amount (see minter). The same refid
// again (a double click, a refresh, a second pod) asks about the same
// payment and never pays twice: the ledger records the intent before it is
// sent, and refuses another payment under a refid it knows.
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
	owner := h.pod + "/" + rand.Text()[:8]
	held, err := h.claim(p.RefID, owner)
	switch {
	case err != nil:
		h.unavailable(w, v, err)
		return
	case !held: // another request, on this pod or another, is deciding and sending it
		h.renderOrder(w, v, order{payment: p, entry: ledger.Entry{RefID: p.RefID, State: ledger.StateSending}}, false)
		return
	}
	defer h.release(p.RefID, owner)
	o, status := h.send(r, v, p)
	switch status {
	case http.StatusOK:
		o.max = g.max
		h.renderOrder(w, v, o, true)
	case http.StatusConflict:
		v.Refused, v.Notice = true, v.T.Used
		h.render(w, status, v)
	case http.StatusServiceUnavailable:
		h.unavailable(w, v, errors.New(o.reason))
	default: // decideAgain rendered the refusal
		v.Looked, v.Refused = true, true
		v.Decision = o.decision
		v.Card = v.cardOf(nil, nil)
		h.render(w, status, v)
	}
}

// order is a payment as the checkout shows it: the ledger's entry, the
// payment (rebuilt from the ledger, or the form's), and on the POST that
// sent it, why it was refused and the most its form allows.
type order struct {
	payment  iimmpact.Payment
	entry    ledger.Entry
	reason   string
	max      iimmpact.Amount
	decision iimmpact.Decision
}

// send records the intent of p and sends it, or asks about the payment
// already recorded under its refid, and returns the order and the status to
// answer with: 409 for a refid the ledger holds with another payment, 422
// when the bill, presented again, says the payment must stop, 503 when the
// ledger failed (nothing was sent).
func (h *Handler) send(r *http.Request, v view, p iimmpact.Payment) (order, int) {
	ctx := r.Context()
	o := order{payment: p}
	e, err := h.ledger.Get(ctx, p.RefID)
	if errors.Is(err, ledger.ErrNotFound) || err == nil && e.State == ledger.StateRefused {
		if o.decision = h.decideAgain(ctx, v.Query); !o.decision.CanProceed {
			return o, http.StatusUnprocessableEntity // nothing was sent
		}
	}
	if e, err = h.ledger.Intent(ctx, p); errors.Is(err, ledger.ErrConflict) {
		return o, http.StatusConflict
	} else if err != nil {
		o.reason = err.Error()
		return o, http.StatusServiceUnavailable
	}
	if e.Open() {
		ctx, cancel := context.WithTimeout(ctx, h.payTimeout)
		tx, perr := h.client.Pay(ctx, p)
		cancel()
		e, o.reason = h.answer(p.RefID, tx, perr, e.Fresh)
	}
	o.entry = e
	return o, http.StatusOK
}

// answer records what Pay said of refid's payment. An error other than
// ErrOutcomeUnknown proves this request created nothing; when it was the
// first send of the intent (fresh), the payment was never sent, and is
// refused. It returns the entry and why it was refused, for the shopper.
func (h *Handler) answer(refid string, tx *iimmpact.Transaction, err error, fresh bool) (ledger.Entry, string) {
	ctx, cancel := context.WithTimeout(context.Background(), ledgerTimeout) // recorded even if the shopper left
	defer cancel()
	attrs := []any{"refid", refid}
	if err != nil {
		attrs = append(attrs, "error", err.Error()) // redacted by the SDK
	}
	e, lerr := h.ledger.Answer(ctx, refid, tx, err)
	reason := reasonOf(err)
	if lerr == nil && fresh && err != nil && !errors.Is(err, iimmpact.ErrOutcomeUnknown) && e.State == ledger.StateSending {
		e, lerr = h.ledger.Refuse(ctx, refid, reason)
	}
	if lerr != nil {
		h.logger.Error("the ledger could not record a payment's answer: it stays in doubt and is asked about again", append(attrs, "ledger_error", lerr.Error())...)
		return ledger.Entry{RefID: refid, State: ledger.StateUnknown, Code: -1}, reason
	}
	h.logger.Info("payment", append(attrs, "state", e.State)...)
	return e, reason
}

// reasonOf is why a payment that created nothing was refused, for the
// shopper's words.
func reasonOf(err error) string {
	var apiErr *iimmpact.APIError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, iimmpact.ErrQuotaExceeded), errors.Is(err, iimmpact.ErrBlocked):
		return "busy"
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusBadRequest:
		return "declined:" + strconv.Itoa(apiErr.Code)
	}
	return "unavailable"
}

// decideAgain presents the bill again before a payment is first sent: an
// account the API calls invalid stops it, and nothing is sent.
func (h *Handler) decideAgain(ctx context.Context, q iimmpact.Query) iimmpact.Decision {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	bill, err := h.client.BillPresentment(ctx, q)
	cancel()
	h.log(q, bill, err)
	return bill.Decision()
}

// status answers GET /payment/{refid}: the processing page's refresh, on
// any pod. It asks the API again only while the payment is being processed.
func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r)
	o, err := h.orderOf(r.Context(), r.PathValue("refid"))
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		v.Refused, v.Notice = true, v.T.NoSuchPayment
		h.render(w, http.StatusNotFound, v)
		return
	case err != nil:
		h.unavailable(w, v, err)
		return
	}
	if o.entry.Open() {
		o.entry = h.ask(r.Context(), o.entry)
	}
	h.renderOrder(w, v, o, false)
}

// orderOf reads a payment of this checkout from the ledger: a refid it did
// not mint is not found, whatever the ledger holds.
func (h *Handler) orderOf(ctx context.Context, refid string) (order, error) {
	if !h.mint.minted(refid) {
		return order{}, ledger.ErrNotFound
	}
	e, err := h.ledger.Get(ctx, refid)
	if err != nil {
		return order{}, err
	}
	p, err := h.ledger.Payment(ctx, refid)
	if err != nil { // its IC number or Ref-2 sealed under another key: the page shows the rest
		p = iimmpact.Payment{RefID: refid, Product: e.Product, Account: e.Account, BillerCode: e.BillerCode, Amount: iimmpact.AmountFromSen(e.AmountSen).String()}
	}
	return order{payment: p, entry: e}, nil
}

// ask asks the API about an open payment with exactly what was sent (the
// ledger's record of it) and records the answer. Asking may send it (its
// intent's request may never have left), so the ledger is told first
// (Doubt): the intent's own request can then no longer call it refused.
func (h *Handler) ask(ctx context.Context, e ledger.Entry) ledger.Entry {
	dctx, cancel := context.WithTimeout(context.Background(), ledgerTimeout)
	defer cancel()
	d, err := h.ledger.Doubt(dctx, e.RefID)
	var p iimmpact.Payment
	if err == nil {
		e = d
		p, err = h.ledger.Payment(dctx, e.RefID)
	}
	if err != nil || !e.Open() {
		if err != nil {
			h.logger.Warn("a payment in doubt cannot be asked about", "refid", e.RefID, "error", err.Error())
		}
		return e
	}
	ctx, cancel = context.WithTimeout(ctx, h.payTimeout)
	tx, perr := h.client.Pay(ctx, p)
	cancel()
	e, _ = h.answer(e.RefID, tx, perr, false)
	return e
}

// confirm is the callback handler's: a callback is a hint, so it is
// recorded in the payment's history and confirmed by asking, on whichever
// pod it reaches.
func (h *Handler) confirm(ctx context.Context, cb *iimmpact.Callback) {
	if !h.mint.minted(cb.RefID) {
		h.logger.Info("callback for no payment of ours: ignored", "refid", cb.RefID)
		return
	}
	dctx, cancel := context.WithTimeout(context.Background(), ledgerTimeout)
	e, err := h.ledger.Callback(dctx, cb)
	cancel()
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		h.logger.Info("callback for no payment of ours: ignored", "refid", cb.RefID)
	case err != nil:
		h.logger.Error("the ledger could not record a callback: it is asked about anyway", "refid", cb.RefID, "error", err.Error())
		h.ask(ctx, ledger.Entry{RefID: cb.RefID, State: ledger.StateUnknown})
	case e.Open():
		h.ask(ctx, e)
	}
}

// resumeEvery is how often the checkout asks about the payments still open,
// on its own: the vendor's cadence is 5 to 10 s.
const resumeEvery = 5 * time.Second

// Resume asks about every open payment this checkout minted, at once and
// then every resumeEvery, until ctx ends: a payment whose pod was
// restarted (or whose shopper left) is confirmed without a page load.
func (h *Handler) Resume(ctx context.Context) {
	t := time.NewTicker(resumeEvery)
	defer t.Stop()
	for {
		h.resumeOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// resumeOnce asks once about each open payment of this checkout.
func (h *Handler) resumeOnce(ctx context.Context) {
	dctx, cancel := context.WithTimeout(ctx, ledgerTimeout)
	open, err := h.ledger.Pending(dctx)
	cancel()
	if err != nil {
		h.logger.Warn("the ledger's open payments could not be read", "error", err.Error())
		return
	}
	for _, e := range open {
		if ctx.Err() != nil {
			return
		}
		// One sent within the last resumeEvery is its own request's to
		// answer; after that, every pod asks at the vendor's cadence.
		if h.mint.minted(e.RefID) && h.now().Sub(e.Created) >= resumeEvery {
			h.ask(ctx, e)
		}
	}
}

// claim takes refid for one request (owner) until it is answered.
func (h *Handler) claim(refid, owner string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ledgerTimeout)
	defer cancel()
	return h.ledger.Claim(ctx, claimRun, refid, owner, h.timeout+h.payTimeout+ledgerTimeout)
}

func (h *Handler) release(refid, owner string) {
	ctx, cancel := context.WithTimeout(context.Background(), ledgerTimeout)
	defer cancel()
	_ = h.ledger.Release(ctx, claimRun, refid, owner) // the lease ends by itself
}

// unavailable says the checkout cannot take payments now: nothing was sent.
func (h *Handler) unavailable(w http.ResponseWriter, v view, err error) {
	h.logger.Error("the ledger failed: nothing was sent", "error", err.Error())
	v.Refused, v.Notice = true, v.T.refusal("unavailable")
	h.render(w, http.StatusServiceUnavailable, v)
}

// ledgerTimeout bounds one call to the ledger.
const ledgerTimeout = 10 * time.Second

// renderOrder shows where a payment stands. Only the answer to a POST
// carries a pay form to fix a refused payment or try a failed one again: a
// GET page never holds the account, even in a hidden input.
func (h *Handler) renderOrder(w http.ResponseWriter, v view, o order, post bool) {
	p, state := o.payment, stateOf(o.entry)
	v.Query = iimmpact.Query{Product: p.Product, Account: p.Account, BillerCode: p.BillerCode, Ref2: p.Ref2}
	v.JomPAY = strings.EqualFold(v.Query.Product, "JOMPAY")
	v.Chosen = h.billers.find(v.Query)
	biller := cmp.Or(v.Chosen.Name, p.Product) // the biller of the payment, whatever an earlier form named
	v.Order = orderView{State: state, RefID: p.RefID, Biller: biller, Amount: amount(p)}
	switch state {
	case statePaid:
		v.Order.Receipt = v.receipt(p, biller, o.entry)
	case stateProcessing:
		v.Refresh = "/payment/" + p.RefID + "?lang=" + string(v.Lang)
	case stateRefused:
		reason := cmp.Or(o.reason, "unavailable")
		if o.entry.Code >= 0 {
			reason = "declined:" + strconv.Itoa(o.entry.Code)
		}
		v.Decision = iimmpact.Decision{Action: iimmpact.ActionHide, CanProceed: true}
		v.Order.Message = v.T.refusal(reason)
		if post {
			v.Pay = h.mint.payForm(h.mint.grantFor(p.RefID, v.Query, o.max), p.Amount) // fix and send the same refid
		}
	case stateFailed:
		v.Decision = iimmpact.Decision{Action: iimmpact.ActionHide, CanProceed: true}
		v.Order.Message = v.T.Failed
		if post {
			v.Pay = h.mint.payForm(h.mint.grantFor(h.mint.refID(), v.Query, o.max), p.Amount) // another attempt needs a new refid
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
func (v view) receipt(p iimmpact.Payment, biller string, e ledger.Entry) []iimmpact.Field {
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
	if e.Serial != "" {
		rows = append(rows, iimmpact.Field{Key: "serial", Label: v.T.Serial, Value: e.Serial})
	}
	if !e.VendorTime.IsZero() {
		rows = append(rows, iimmpact.Field{Key: "time", Label: v.T.Time, Value: v.when(e.VendorTime.In(iimmpact.Malaysia))})
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
