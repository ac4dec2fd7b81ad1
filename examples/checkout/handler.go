package main

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/iimmpact-go/iimmpact"
)

//go:embed page.html style.css
var files embed.FS

var page = template.Must(template.ParseFS(files, "page.html"))

// Handler serves the checkout: GET / shows the form, GET /bill the outcome,
// POST /pay decides again and stands in for the payment step, GET /style.css
// the stylesheet.
type Handler struct {
	client   *iimmpact.Client
	timeout  time.Duration
	logger   *slog.Logger
	products []string
	mux      *http.ServeMux
}

// NewHandler returns the checkout for client; each bill lookup gets timeout.
// products are offered in the product list; the customer may type any other.
func NewHandler(client *iimmpact.Client, timeout time.Duration, logger *slog.Logger, products []string) *Handler {
	h := &Handler{client: client, timeout: timeout, logger: logger, products: products, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /{$}", h.form)
	h.mux.HandleFunc("GET /bill", h.bill)
	h.mux.HandleFunc("POST /pay", h.pay)
	h.mux.Handle("GET /style.css", http.FileServerFS(files))
	return h
}

// ServeHTTP routes to the checkout's pages.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// view is what page.html renders.
type view struct {
	T        words
	Lang     iimmpact.Language
	Other    iimmpact.Language // the language the switch offers
	Query    iimmpact.Query
	JomPAY   bool
	Products []string
	Looked   bool // a lookup was made
	Decision iimmpact.Decision
	Fields   []iimmpact.Field
	Problem  string // a problem with the form, for the customer to fix
	Notice   string // why no bill is shown, when that helps the customer
	Paid     bool
	Refused  bool // /pay refused a blocked account
}

// Show reports whether the page shows the bill's fields.
func (v view) Show() bool { return v.Decision.Action == iimmpact.ActionShow }

// Block reports whether the page shows the block message.
func (v view) Block() bool { return v.Decision.Action == iimmpact.ActionBlock }

// SwitchURL is this page in the other language.
func (v view) SwitchURL() string {
	q := url.Values{"lang": {string(v.Other)}}
	if v.JomPAY {
		q.Set("product", "JOMPAY")
	}
	return "/?" + q.Encode()
}

func (h *Handler) newView(r *http.Request) view {
	v := view{Lang: iimmpact.English, Other: iimmpact.Malay, Query: queryFrom(r), Products: h.products}
	if r.FormValue("lang") == string(iimmpact.Malay) {
		v.Lang, v.Other = iimmpact.Malay, iimmpact.English
	}
	v.T = pageWords[v.Lang]
	v.JomPAY = strings.EqualFold(strings.TrimSpace(v.Query.Product), "JOMPAY")
	return v
}

func (h *Handler) form(w http.ResponseWriter, r *http.Request) {
	h.render(w, http.StatusOK, h.newView(r))
}

func (h *Handler) bill(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r)
	if v.Problem = v.problem(); v.Problem != "" {
		h.render(w, http.StatusUnprocessableEntity, v)
		return
	}
	bill, err := h.lookup(r.Context(), v.Query)
	if err != nil {
		v.Notice = v.T.NotNow // every error fails open: the customer may still pay
	}
	v.Looked = true
	v.Decision = bill.Decision()
	v.Fields = bill.FieldsIn(v.Lang)
	h.render(w, http.StatusOK, v)
}

// pay decides again on the server: a page, a stale tab or a hand-made POST must
// never start a payment for an account the API calls invalid.
func (h *Handler) pay(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r)
	if v.Problem = v.problem(); v.Problem != "" {
		h.render(w, http.StatusUnprocessableEntity, v)
		return
	}
	bill, _ := h.lookup(r.Context(), v.Query)
	if v.Decision = bill.Decision(); !v.Decision.CanProceed {
		v.Looked, v.Refused = true, true
		h.render(w, http.StatusUnprocessableEntity, v)
		return
	}
	v.Paid = true
	h.render(w, http.StatusOK, v)
}

func (h *Handler) lookup(ctx context.Context, q iimmpact.Query) (*iimmpact.Bill, error) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	bill, err := h.client.BillPresentment(ctx, q)
	d := bill.Decision()
	// The error text is redacted by the SDK; the account number is not logged.
	h.logger.Info("bill presentment", "product", q.Product, "action", string(d.Action), "reason", string(d.Reason), "error", errText(err))
	return bill, err
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// problem words a query the SDK refuses with the form's own labels.
func (v view) problem() string {
	err := v.Query.Validate()
	var qe *iimmpact.QueryError
	if !errors.As(err, &qe) {
		return ""
	}
	label := map[string]string{
		"account": v.T.Account, "product": v.T.Product, "biller_code": v.T.BillerCode,
		"ref2": v.T.Ref2, "amount": v.T.Amount,
	}[qe.Field]
	if v.JomPAY && qe.Field == "account" {
		label = v.T.Ref1
	}
	switch {
	case strings.HasPrefix(qe.Rule, "is required"):
		return strings.ReplaceAll(v.T.Required, "%s", label)
	case strings.HasPrefix(qe.Rule, "is only used"):
		return strings.ReplaceAll(v.T.JomPAYOnly, "%s", label)
	case qe.Field == "amount":
		return strings.ReplaceAll(v.T.BadAmount, "%s", label)
	}
	return strings.ReplaceAll(v.T.Invalid, "%s", label)
}

func queryFrom(r *http.Request) iimmpact.Query {
	return iimmpact.Query{
		Product:    strings.TrimSpace(r.FormValue("product")),
		Account:    strings.TrimSpace(r.FormValue("account")),
		BillerCode: strings.TrimSpace(r.FormValue("biller_code")),
		Ref2:       strings.TrimSpace(r.FormValue("ref2")),
		Amount:     strings.TrimSpace(r.FormValue("amount")),
	}
}

func (h *Handler) render(w http.ResponseWriter, status int, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := page.Execute(w, v); err != nil {
		h.logger.Error("rendering the page", "error", err)
	}
}
