package main

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/iimmpact-go/iimmpact"
)

//go:embed page.html
var pages embed.FS

var page = template.Must(template.ParseFS(pages, "page.html"))

// Handler serves the checkout: GET / shows the form, GET /bill the outcome,
// POST /pay stands in for the payment step.
type Handler struct {
	client  *iimmpact.Client
	timeout time.Duration
	logger  *slog.Logger
	mux     *http.ServeMux
}

// NewHandler returns the checkout for client; each bill lookup gets timeout.
func NewHandler(client *iimmpact.Client, timeout time.Duration, logger *slog.Logger) *Handler {
	h := &Handler{client: client, timeout: timeout, logger: logger, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /{$}", h.form)
	h.mux.HandleFunc("GET /bill", h.bill)
	h.mux.HandleFunc("POST /pay", h.pay)
	return h
}

// ServeHTTP routes to the checkout's pages.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// view is what page.html renders.
type view struct {
	Query    iimmpact.Query
	Looked   bool // a lookup was made
	Decision iimmpact.Decision
	Fields   []iimmpact.Field
	Problem  string // a problem with the form, for the customer to fix
	Notice   string // why no bill is shown, when that helps the customer
	Paid     bool
}

// Show reports whether the page shows the bill's fields.
func (v view) Show() bool { return v.Decision.Action == iimmpact.ActionShow }

// Block reports whether the page shows the block message.
func (v view) Block() bool { return v.Decision.Action == iimmpact.ActionBlock }

func (h *Handler) form(w http.ResponseWriter, r *http.Request) {
	h.render(w, http.StatusOK, view{})
}

func (h *Handler) bill(w http.ResponseWriter, r *http.Request) {
	q := queryFrom(r)
	v := view{Query: q}
	if err := q.Validate(); err != nil {
		var qe *iimmpact.QueryError
		if errors.As(err, &qe) {
			v.Problem = "The " + qe.Field + " field " + qe.Rule + "."
		}
		h.render(w, http.StatusUnprocessableEntity, v)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	bill, err := h.client.BillPresentment(ctx, q)
	if err != nil {
		// Every error fails open: the customer may still pay, without details.
		h.logger.Warn("bill presentment failed", "product", q.Product, "error", err)
		v.Notice = "Bill details are not available right now."
	}
	v.Looked = true
	v.Decision = bill.Decision()
	v.Fields = bill.Fields()
	h.render(w, http.StatusOK, v)
}

func (h *Handler) pay(w http.ResponseWriter, r *http.Request) {
	h.render(w, http.StatusOK, view{Query: queryFrom(r), Paid: true})
}

func queryFrom(r *http.Request) iimmpact.Query {
	return iimmpact.Query{
		Product:    r.FormValue("product"),
		Account:    r.FormValue("account"),
		BillerCode: r.FormValue("biller_code"),
		Ref2:       r.FormValue("ref2"),
		Amount:     r.FormValue("amount"),
	}
}

func (h *Handler) render(w http.ResponseWriter, status int, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := page.Execute(w, v); err != nil {
		h.logger.Error("rendering the page", "error", err)
	}
}

// JomPAY reports whether the query is for a JomPAY biller.
func (v view) JomPAY() bool {
	return strings.EqualFold(strings.TrimSpace(v.Query.Product), iimmpact.ProductJomPAY)
}
