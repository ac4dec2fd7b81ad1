package main

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/ledger"
)

//go:embed page.html style.css
var files embed.FS

var page = template.Must(template.New("page.html").Funcs(template.FuncMap{"fill": fill}).ParseFS(files, "page.html"))

// Handler serves the checkout: GET / shows the form, POST /bill the bill and
// the payment form (the account number travels in bodies, never in a URL),
// POST /pay decides again and pays, GET /payment/{refid} asks again about a
// payment still being processed, /iimmpact/callback takes the vendor's
// callbacks, GET /style.css the stylesheet. Its payments live in the ledger,
// so any pod serves any of them; Resume asks about those left open.
type Handler struct {
	client     *iimmpact.Client
	timeout    time.Duration
	logger     *slog.Logger
	billers    catalog
	ledger     *ledger.Ledger
	pod        string // this process, in the ledger's claims
	now        func() time.Time
	callback   http.Handler
	payTimeout time.Duration
	mint       minter
	maxAmount  iimmpact.Amount // the most a pay form allows when no bill says what is owed
	mux        *http.ServeMux
}

// Config is what a Handler needs beyond its client.
type Config struct {
	// Timeout bounds a lookup: the network status and the bill together.
	Timeout time.Duration
	// PayTimeout bounds one payment call; past it the page says the payment
	// is being processed and asks again.
	PayTimeout time.Duration
	Logger     *slog.Logger
	Billers    catalog
	// CallbackIPs, when set, replace the vendor's callback IPs (the sandbox
	// calls back from loopback).
	CallbackIPs []netip.Prefix
	// TrustedProxies are the proxies in front of the checkout, whose
	// X-Forwarded-For the callback handler reads.
	TrustedProxies []netip.Prefix
	// Secret is the key the checkout signs its refids and pay forms with:
	// the same on every pod. Nil draws a key for this process alone.
	Secret []byte
	// MaxAmount is the most a shopper may pay when the biller shows no
	// amount due; a shown bill caps the payment at what it says is owed.
	MaxAmount iimmpact.Amount
	// Ledger holds every payment, its receipt and its callbacks, shared by
	// every pod of the checkout: any pod shows any payment.
	Ledger *ledger.Ledger
}

// biller is one the page offers by name.
type biller struct {
	Product   string // the product code, such as "TNB"
	Code      string // the JomPAY biller code; "" for other products
	Name      string
	NeedsRef2 bool
}

// catalog is what the page offers: products, and JomPAY's billers.
type catalog struct{ Products, JomPAY []biller }

// NewHandler returns the checkout for client.
func NewHandler(client *iimmpact.Client, cfg Config) *Handler {
	key := cfg.Secret
	if key == nil {
		key = make([]byte, 32)
		_, _ = rand.Read(key) // never fails; see crypto/rand.Read
	}
	host, _ := os.Hostname()
	h := &Handler{client: client, timeout: cfg.Timeout, logger: cfg.Logger, billers: cfg.Billers, ledger: cfg.Ledger,
		pod: host + "/" + strconv.Itoa(os.Getpid()), now: time.Now, mint: minter{key: key, now: time.Now}, maxAmount: cfg.MaxAmount, mux: http.NewServeMux()}
	var opts []iimmpact.CallbackOption
	if cfg.CallbackIPs != nil {
		opts = append(opts, iimmpact.WithCallbackIPs(cfg.CallbackIPs...))
	}
	if cfg.TrustedProxies != nil {
		opts = append(opts, iimmpact.WithTrustedProxies(cfg.TrustedProxies...))
	}
	h.payTimeout = cfg.PayTimeout
	h.callback = iimmpact.NewCallbackHandler(h.confirm, opts...)
	h.mux.HandleFunc("GET /{$}", h.form)
	h.mux.HandleFunc("POST /bill", h.bill)
	h.mux.HandleFunc("POST /pay", h.pay)
	h.mux.HandleFunc("GET /payment/{refid}", h.status)
	h.mux.Handle(callbackPath, h.callback)
	h.mux.Handle("GET /style.css", http.FileServerFS(files))
	return h
}

// maxForm bounds a form's body: the checkout's forms are a few hundred bytes.
const maxForm = 16 << 10

// csp lets the page load its own stylesheet and the billers' logos, run no
// script at all, post forms only to itself, and be framed by no one.
const csp = "default-src 'none'; style-src 'self'; img-src 'self' https: http:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// ServeHTTP routes to the checkout's pages. Every answer forbids framing
// (the pay button must not sit under another site's page); a POST from
// another site is refused, so no other page can start a payment; a form is
// read only as a urlencoded body of at most 16 KiB, never as multipart.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Content-Security-Policy", csp)
	hdr.Set("X-Content-Type-Options", "nosniff")
	if r.URL.Path == callbackPath {
		h.mux.ServeHTTP(w, r) // the vendor's server: neither a browser nor a form
		return
	}
	if r.Method == http.MethodPost {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
			http.Error(w, "forms only", http.StatusUnsupportedMediaType)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "the form is too large or malformed", http.StatusRequestEntityTooLarge)
			return
		}
		if !sameOrigin(r) {
			v := h.newView(r)
			v.Refused, v.Notice = true, v.T.CrossSite
			h.render(w, http.StatusForbidden, v)
			return
		}
	}
	h.mux.ServeHTTP(w, r)
}

// sameOrigin reports whether a browser says r comes from this site, as
// net/http's CrossOriginProtection (Go 1.25) decides: by Sec-Fetch-Site, or
// else by Origin. A request with neither is no browser's, and is let through.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// view is what page.html renders.
type view struct {
	T        words
	Lang     iimmpact.Language
	Other    iimmpact.Language // the language the switch offers
	Query    iimmpact.Query
	JomPAY   bool
	Billers  catalog
	Chosen   biller            // the biller of the query, when the page knows it
	Errors   map[string]string // by form field: what to fix
	Looked   bool              // a lookup was made
	Decision iimmpact.Decision
	Card     card
	Notice   string // why no bill is shown, or that payment was refused
	Warning  string // the biller's network is interrupted
	Refused  bool
	PayOnly  bool    // the card holds only the payment form (after a payment error)
	Pay      payForm // the payment form of a bill the customer may pay
	// NothingDue: the bill shows nothing owed (0 or a credit): no pay form.
	NothingDue bool
	Order      orderView // where a payment stands, after POST /pay
	Refresh    string    // the processing page asks again at this URL
	// Checkout is the refid of the checkout this page's bill form starts or
	// continues: minted with the form, carried through the bill to the pay
	// form, so a double click, a refresh or a back-and-resubmit of either
	// sends the same one.
	Checkout string
	// NextCheckout is the refid of the "check another bill" form.
	NextCheckout string
}

// card is the bill as the shopper sees it: who, how much, by when, then the
// rest of what the API returned.
type card struct {
	Name, Code, Logo, Initials string
	Amount, Due, EBill         string
	Overdue                    bool
	Nothing                    bool // nothing is owed: Amount says so
	Details                    []iimmpact.Field
}

// SwitchURL is this page in the other language: a payment's own page, or
// the form (the bill, and its account number, are not carried in a URL).
func (v view) SwitchURL() string {
	q := url.Values{"lang": {string(v.Other)}}
	if v.Order.RefID != "" {
		return "/payment/" + url.PathEscape(v.Order.RefID) + "?" + q.Encode()
	}
	if v.JomPAY {
		q.Set("tab", "jompay")
	}
	return "/?" + q.Encode()
}

// Show reports whether the page shows the bill.
func (v view) Show() bool { return v.Decision.Action == iimmpact.ActionShow }

// Block reports whether the page shows the block message.
func (v view) Block() bool { return v.Decision.Action == iimmpact.ActionBlock }

// Ref2Needed reports whether the chosen biller needs Ref-2.
func (v view) Ref2Needed() bool { return v.Chosen.NeedsRef2 }

func (h *Handler) newView(r *http.Request) view {
	v := view{Lang: iimmpact.English, Other: iimmpact.Malay, Billers: h.billers, Errors: map[string]string{}}
	if r.FormValue("lang") == string(iimmpact.Malay) {
		v.Lang, v.Other = iimmpact.Malay, iimmpact.English
	}
	v.T = pageWords[v.Lang]
	v.Query = h.queryFrom(r)
	v.Checkout, v.NextCheckout = r.PostFormValue("checkout"), h.mint.refID()
	if !h.mint.minted(v.Checkout) {
		v.Checkout = h.mint.refID()
	}
	v.JomPAY = strings.EqualFold(v.Query.Product, "JOMPAY") || r.FormValue("tab") == "jompay"
	v.Chosen = h.billers.find(v.Query)
	return v
}

func (h *Handler) form(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r)
	if v.JomPAY {
		v.Query.Product = "JOMPAY"
	}
	h.render(w, http.StatusOK, v)
}

func (h *Handler) bill(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r)
	if !v.check() {
		h.render(w, http.StatusUnprocessableEntity, v)
		return
	}
	if o, err := h.orderOf(r.Context(), v.Checkout); err == nil && stateOf(o.entry) != stateRefused {
		h.renderOrder(w, v, o, false) // the bill page resubmitted after its payment: that payment's page
		return
	}
	bill, status, err := h.lookup(r.Context(), v.Query)
	v.Looked = true
	v.Decision = bill.Decision()
	v.Card = v.cardOf(bill, status)
	if status.Interrupted() {
		v.Warning = fill(v.T.Interrupted, v.Card.Name)
	}
	v.Notice = v.notice(err)
	shown := v.Decision.Action == iimmpact.ActionShow && bill.Data.Outstanding.State() == iimmpact.Returned
	switch {
	case shown && bill.Data.Outstanding.Sen() <= 0:
		v.NothingDue = true // nothing to pay: no pay form
	case shown:
		v.Pay = h.mint.payForm(h.mint.grantFor(v.Checkout, v.Query, bill.Data.Outstanding), bill.Data.Outstanding.String())
	case v.Decision.CanProceed:
		v.Pay = h.mint.payForm(h.mint.grantFor(v.Checkout, v.Query, h.maxAmount), v.Query.Amount)
	}
	h.render(w, http.StatusOK, v)
}

// lookup asks for the network status and the bill at once, the vendor's steps
// 3 and 4, under one deadline. The status only ever adds a warning.
func (h *Handler) lookup(ctx context.Context, q iimmpact.Query) (*iimmpact.Bill, *iimmpact.NetworkStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	var status *iimmpact.NetworkStatus
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var err error
		if status, err = h.client.NetworkStatus(ctx, q.Product); err != nil {
			h.logger.Info("network status", "product", q.Product, "error", err.Error())
		}
	}()
	bill, err := h.client.BillPresentment(ctx, q)
	wg.Wait()
	h.log(q, bill, err)
	return bill, status, err
}

// log notes the decision; the SDK's error text is redacted, and the account
// number is never logged.
func (h *Handler) log(q iimmpact.Query, bill *iimmpact.Bill, err error) {
	d := bill.Decision()
	attrs := []any{"product", q.Product, "action", string(d.Action), "reason", string(d.Reason)}
	if err != nil {
		attrs = append(attrs, "error", err.Error())
	}
	h.logger.Info("bill presentment", attrs...)
}

// check finds what the customer must fix before anything is sent, worded with
// the form's labels and attached to the field: the SDK's rules by their
// codes, and Ref-2 for a biller the page knows needs it.
func (v *view) check() bool {
	var qe *iimmpact.QueryError
	switch {
	case errors.As(v.Query.Validate(), &qe):
		field := qe.Field
		if field == "product" && v.JomPAY {
			field = "biller_code"
		}
		v.Errors[field] = fill(v.T.codes[qe.Code], v.label(field))
	case v.Chosen.NeedsRef2 && v.Query.Ref2 == "":
		v.Errors["ref2"] = fill(v.T.codes[codeRef2Needed], v.T.Ref2)
	}
	return len(v.Errors) == 0
}

func (v view) label(field string) string {
	switch field {
	case "account":
		if v.JomPAY {
			return v.T.Ref1
		}
		return v.T.Account
	case "biller_code":
		return v.T.BillerCode
	case "ref2":
		return v.T.Ref2
	case "amount":
		return v.T.Amount
	}
	return v.T.Product
}

// cardOf builds the bill card from what the API returned.
func (v view) cardOf(bill *iimmpact.Bill, status *iimmpact.NetworkStatus) card {
	c := card{Code: v.Query.Product, Name: v.Chosen.Name}
	if v.JomPAY {
		c.Code = v.Query.BillerCode
	}
	if status != nil {
		c.Logo = status.ProductImage
		if c.Name == "" {
			c.Name = status.ProductName
		}
	}
	for _, f := range bill.FieldsIn(v.Lang) {
		switch f.Key {
		case "biller_name":
			c.Name = f.Value
		case "outstanding":
			c.Amount = f.Value
			if bill.Data.Outstanding.State() == iimmpact.Returned && bill.Data.Outstanding.Sen() <= 0 {
				c.Amount, c.Nothing = v.T.NothingDue, true
			}
		case "due_date":
			c.Due, c.Overdue = fill(v.T.DueBy, v.date(bill)), overdue(bill)
			if c.Overdue {
				c.Due = fill(v.T.Overdue, v.date(bill))
			}
		case "e_bill":
			c.EBill = f.Value
		default:
			c.Details = append(c.Details, f)
		}
	}
	if c.Nothing {
		c.Due, c.Overdue = "", false // no date to pay by when nothing is owed
	}
	if c.Name == "" {
		c.Name = c.Code
	}
	c.Initials = initials(c.Name)
	return c
}

// date is the due date as "13 Jun 2025", months in the page's language.
func (v view) date(bill *iimmpact.Bill) string {
	t, err := bill.Data.DueDate.Time()
	if err != nil {
		return bill.Data.DueDate.String()
	}
	return t.Format("2") + " " + strings.Fields(v.T.Months)[t.Month()-1] + " " + t.Format("2006")
}

// overdue reports a bill whose due date has passed, in Malaysia, with money
// still owed.
func overdue(bill *iimmpact.Bill) bool {
	due, err := bill.Data.DueDate.Time()
	if err != nil {
		return false
	}
	y, m, d := time.Now().In(due.Location()).Date()
	return due.Before(time.Date(y, m, d, 0, 0, 0, 0, due.Location())) && bill.Data.Outstanding.Sen() > 0
}

func initials(name string) string {
	var out []rune
	for _, w := range strings.Fields(name) {
		if r := []rune(w)[0]; len(out) < 2 && r != '(' {
			out = append(out, r)
		}
	}
	return strings.ToUpper(string(out))
}

// notice says why no bill is shown, in words for the shopper.
func (v view) notice(err error) string {
	switch {
	case v.Decision.Action != iimmpact.ActionHide:
		return ""
	case err != nil:
		return v.T.NotNow // every error fails open: the customer may still pay
	case v.Decision.Reason == iimmpact.ReasonUnavailable:
		return v.T.NoPresentment
	case v.Decision.Reason == iimmpact.ReasonServiceUnavailable:
		return fill(v.T.BillerDown, v.Card.Name)
	}
	return v.T.Unrecognised
}

// BlockMessage is the API's error_message in the page's language.
func (v view) BlockMessage() string { return v.T.block(v.Decision.Message) }

// queryFrom reads the form: a biller picked from the list or typed as a code
// (or a name the page knows).
func (h *Handler) queryFrom(r *http.Request) iimmpact.Query {
	q := iimmpact.Query{
		Product: r.FormValue("product"), Account: r.FormValue("account"), BillerCode: r.FormValue("biller_code"),
		Ref2: r.FormValue("ref2"), Amount: r.FormValue("amount"),
	}
	if other := strings.TrimSpace(r.FormValue("product_other")); other != "" {
		q.Product = h.billers.code(other)
	}
	if other := strings.TrimSpace(r.FormValue("biller_other")); other != "" {
		q.BillerCode = other
	}
	return q
}

// code is the product code of a typed name, or what was typed.
func (c catalog) code(typed string) string {
	for _, b := range c.Products {
		if strings.EqualFold(b.Name, typed) {
			return b.Product
		}
	}
	return typed
}

// find returns the biller of q, when the page knows it.
func (c catalog) find(q iimmpact.Query) biller {
	list, key := c.Products, func(b biller) bool { return strings.EqualFold(b.Product, strings.TrimSpace(q.Product)) }
	if strings.EqualFold(strings.TrimSpace(q.Product), "JOMPAY") {
		list, key = c.JomPAY, func(b biller) bool { return b.Code == strings.TrimSpace(q.BillerCode) }
	}
	for _, b := range list {
		if key(b) {
			return b
		}
	}
	return biller{}
}

func (h *Handler) render(w http.ResponseWriter, status int, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store") // a bill is personal
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	if err := page.Execute(w, v); err != nil {
		h.logger.Error("rendering the page", "error", err)
	}
}
