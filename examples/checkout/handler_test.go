package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
	"github.com/iimmpact-go/iimmpact/ledger"
	"github.com/iimmpact-go/iimmpact/ledger/ledgertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// node is a parsed HTML element.
type node struct {
	name     string
	attr     map[string]string
	children []*node
	text     strings.Builder
}

// parseHTML parses the page with encoding/xml in its HTML mode: the template
// writes well-formed markup, so the standard library is enough.
func parseHTML(t *testing.T, r io.Reader) *node {
	t.Helper()
	d := xml.NewDecoder(r)
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	root := &node{name: "#root"}
	stack := []*node{root}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{name: tok.Name.Local, attr: map[string]string{}}
			for _, a := range tok.Attr {
				n.attr[a.Name.Local] = a.Value
			}
			top := stack[len(stack)-1]
			top.children = append(top.children, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			for _, n := range stack {
				n.text.Write(tok)
			}
		}
	}
	return root
}

func (n *node) all(match func(*node) bool) []*node {
	var out []*node
	for _, c := range n.children {
		if match(c) {
			out = append(out, c)
		}
		out = append(out, c.all(match)...)
	}
	return out
}

func (n *node) byID(id string) *node {
	found := n.all(func(c *node) bool { return c.attr["id"] == id })
	if len(found) == 0 {
		return nil
	}
	return found[0]
}

func (n *node) Text() string { return strings.Join(strings.Fields(n.text.String()), " ") }

func labels(page *node) []string {
	var out []string
	for _, dt := range page.all(func(c *node) bool { return c.name == "dt" }) {
		out = append(out, dt.Text())
	}
	return out
}

func get(t *testing.T, h http.Handler, target string) (int, *node) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec.Code, parseHTML(t, rec.Body)
}

// post sends form to path as a browser on the same site does.
func post(t *testing.T, h http.Handler, path string, form url.Values) (int, *node) {
	t.Helper()
	rec := send(h, path, form)
	return rec.Code, parseHTML(t, rec.Body)
}

// send posts form to h at path as the checkout's own page does; safe to
// call from any goroutine (it fails no test).
func send(h http.Handler, path string, form url.Values) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	h.ServeHTTP(rec, req)
	return rec
}

// succeeded delivers the vendor's callback that refid succeeded to h, from
// the address from, and returns the status h answered.
func succeeded(h http.Handler, from, refid string) int {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/iimmpact/callback", strings.NewReader(`{"data":{"refid":"`+refid+`","status":"Succesful","statusCode":20}}`))
	req.RemoteAddr = from
	h.ServeHTTP(rec, req)
	return rec.Code
}

func lookup(t *testing.T, h http.Handler, form url.Values) (int, *node) {
	t.Helper()
	return post(t, h, "/bill", form)
}

func newCheckout(t *testing.T, timeout time.Duration) (*Handler, *iimmpacttest.Server) {
	srv := iimmpacttest.Start(t)
	return NewHandler(srv.Client, Config{Timeout: timeout, PayTimeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler), Billers: sandboxCatalog(srv),
		CallbackIPs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}, Secret: testSecret, Ledger: testLedger(t, "")}), srv
}

// testSecret is the checkout's secret in tests: the pods of a test share it.
var testSecret = []byte("0123456789abcdef0123456789abcdef")

// testLedger opens the ledger of url, or else a new one for the test: on
// the PostgreSQL that IIMMPACT_TEST_POSTGRES names, or an SQLite file.
func testLedger(t *testing.T, url string) *ledger.Ledger {
	t.Helper()
	if url == "" {
		url = ledgertest.SQLite(t)
		if pg := os.Getenv("IIMMPACT_TEST_POSTGRES"); pg != "" {
			url = ledgertest.Postgres(t, pg)
		}
	}
	l, err := openLedger(context.Background(), url, testSecret)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

func disabled(n *node) bool {
	_, ok := n.attr["disabled"]
	return ok
}

func TestShowPutsTheAmountDueFirst(t *testing.T) {
	h, _ := newCheckout(t, time.Second)
	code, page := lookup(t, h, url.Values{"product": {"AKSB"}, "account": {"1234567890"}})
	require.Equal(t, http.StatusOK, code)
	bill := page.byID("bill")
	assert.Equal(t, "show", bill.attr["data-action"])
	assert.Equal(t, "Air Kelantan", page.byID("biller-name").Text())
	assert.Equal(t, "RM 45.94", page.byID("amount-due").Text())
	assert.Equal(t, "Overdue: it was due on 13 Jun 2025", page.byID("due-date").Text(), "the sample's due date has passed")
	assert.Contains(t, page.byID("due-date").attr["class"], "overdue")
	assert.False(t, disabled(page.byID("proceed")))
	assert.Equal(t, []string{"Customer name", "Address"}, labels(page), "the rest of what the API returned, below")
	assert.Nil(t, page.byID("block-message"))
	order := bill.all(func(c *node) bool {
		return c.attr["id"] == "amount-due" || c.attr["id"] == "proceed" || c.attr["id"] == "fields"
	})
	require.Len(t, order, 3)
	assert.Equal(t, []string{"amount-due", "proceed", "fields"}, []string{order[0].attr["id"], order[1].attr["id"], order[2].attr["id"]},
		"the amount, then the button, then the details")
	logo := bill.all(func(c *node) bool { return c.name == "img" })
	require.Len(t, logo, 1, "the biller's logo from the network status")
	assert.True(t, strings.HasSuffix(logo[0].attr["src"], "/img/AKSB.svg"))
}

func TestEBillIsALinkAndUnsafeLinksAreNeutralised(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	_, page := lookup(t, h, url.Values{"product": {"TNB"}, "account": {"220012345678"}})
	require.NotNil(t, page.byID("e-bill"))
	assert.Equal(t, "https://sandbox.invalid/e-bill/220012345678.pdf", page.byID("e-bill").attr["href"])

	for _, unsafe := range []string{"javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "/relative.pdf"} {
		srv.Set("TNB", "js", iimmpacttest.ValidBill(iimmpacttest.Data{"BillerName": "TNB", "E-Bill": unsafe}))
		_, page = lookup(t, h, url.Values{"product": {"TNB"}, "account": {"js"}})
		assert.Nil(t, page.byID("e-bill"), "the SDK lists an e-bill only when it is an http or https URL: %s", unsafe)
	}
}

func TestHideSaysWhyAndLetsThemPay(t *testing.T) {
	h, _ := newCheckout(t, time.Second)
	for form, why := range map[string]string{
		"DIGI 0123456789":   "This biller does not show bill details here.",
		"SYABAS 3000000001": "Air Selangor (SYABAS) cannot be reached right now",
		"UNIFI 0312345678":  "Bill details are not available for this account right now.",
	} {
		product, account, _ := strings.Cut(form, " ")
		_, page := lookup(t, h, url.Values{"product": {product}, "account": {account}})
		assert.Equal(t, "hide", page.byID("bill").attr["data-action"])
		assert.Empty(t, labels(page), "no bill information")
		assert.Contains(t, page.byID("no-details").Text(), why)
		assert.Contains(t, page.byID("no-details").Text(), "You can still pay.")
		assert.False(t, disabled(page.byID("proceed")), "the customer may still pay")
	}
}

func TestInterruptionWarnsAndNeverDisablesPayment(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	_, page := lookup(t, h, url.Values{"product": {"SYABAS"}, "account": {"3000000001"}})
	require.NotNil(t, page.byID("interruption"))
	assert.Contains(t, page.byID("interruption").Text(), "might be slow or might not go through")
	assert.False(t, disabled(page.byID("proceed")))

	srv.SetNetworkStatus("AKSB", iimmpacttest.Interruption)
	_, page = lookup(t, h, url.Values{"product": {"AKSB"}, "account": {"1234567890"}, "lang": {"ms"}})
	assert.Equal(t, "Air Kelantan sedang mengalami gangguan: pembayaran anda mungkin lambat atau tidak berjaya. Mereka sedang membaikinya. Anda masih boleh membayar.",
		page.byID("interruption").Text())
	assert.Equal(t, "show", page.byID("bill").attr["data-action"], "the bill is still shown")
	assert.False(t, disabled(page.byID("proceed")))

	_, page = lookup(t, h, url.Values{"product": {"TNB"}, "account": {"220012345678"}})
	assert.Nil(t, page.byID("interruption"), "no banner for a healthy biller")
	var asked []string
	for _, r := range srv.Requests() {
		if r.Query.Get("product") == "TNB" {
			asked = append(asked, r.Query.Encode())
		}
	}
	assert.ElementsMatch(t, []string{"product=TNB", "account=220012345678&product=TNB"}, asked, "the network status and the bill")
}

func TestBlockIsWordedInBothLanguages(t *testing.T) {
	h, _ := newCheckout(t, time.Second)
	for lang, want := range map[string]string{
		"en": "This payment cannot go ahead. The account number is not valid. Check the details on your bill and try again.",
		"ms": "Pembayaran ini tidak boleh diteruskan. Nombor akaun tidak sah. Semak butiran pada bil anda dan cuba lagi.",
	} {
		_, page := lookup(t, h, url.Values{"product": {"AKSB"}, "account": {"0000000000"}, "lang": {lang}})
		assert.Equal(t, "block", page.byID("bill").attr["data-action"])
		assert.Equal(t, want, page.byID("block-message").Text(), "no language mixed in")
		assert.True(t, disabled(page.byID("proceed")), "payment must stop")
		assert.Empty(t, labels(page))
	}
	_, page := lookup(t, h, url.Values{"product": {"JOMPAY"}, "account": {"8800123456"}, "biller_code": {"9999"}, "lang": {"ms"}})
	assert.Contains(t, page.byID("block-message").Text(), "Kod Biller tidak sah.")
	for _, text := range []string{iimmpacttest.MsgBillerCodeInvalid, iimmpacttest.MsgAmountInvalid, iimmpacttest.MsgInvalidAccountNo, iimmpacttest.MsgRef2Required} {
		for _, lang := range []iimmpact.Language{iimmpact.English, iimmpact.Malay} {
			assert.NotEqual(t, text, pageWords[lang].block(text), "each documented error_message is worded for the page: %s", text)
		}
	}
	assert.Equal(t, "Ref-2 diperlukan.", pageWords[iimmpact.Malay].block(" ref-2 is REQUIRED. "))
	assert.Equal(t, "Something else", pageWords[iimmpact.Malay].block("Something else"), "an undocumented text as sent")
}

func TestFormErrorsAreAttachedToTheirFields(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	tests := []struct {
		form         url.Values
		field, error string
	}{
		{url.Values{"product": {"JOMPAY"}, "account": {"1"}}, "biller_code", "Biller code is required for JomPAY."},
		{url.Values{"product": {"JOMPAY"}, "biller_code": {"1234"}}, "account", "Ref-1 (account number) is required."},
		{url.Values{"product": {"AKSB"}}, "account", "Account number is required."},
		{url.Values{"account": {"1"}}, "product", "Biller is required."},
		{url.Values{"product": {"JOMPAY"}, "account": {"1"}, "biller_code": {"1234"}, "amount": {"1.234"}}, "amount", "Enter the amount as a number such as 45.90."},
		{url.Values{"product": {"JOMPAY"}, "account": {"1"}, "lang": {"ms"}}, "biller_code", "Kod Biller diperlukan untuk JomPAY."},
		{url.Values{"product": {"JOMPAY"}, "account": {"8800123456"}, "biller_code": {"5454"}}, "ref2", "Ref-2 is required by this biller."},
		{url.Values{"product": {"AKSB"}, "account": {"12\u200b34"}, "lang": {"ms"}}, "account", "Nombor akaun mengandungi aksara yang tidak sepatutnya."},
	}
	for _, tt := range tests {
		code, page := lookup(t, h, tt.form)
		assert.Equal(t, http.StatusUnprocessableEntity, code)
		field := page.byID(tt.field)
		require.NotNil(t, field, tt.field)
		assert.Equal(t, "true", field.attr["aria-invalid"], tt.field)
		assert.Equal(t, "err-"+tt.field, field.attr["aria-describedby"])
		assert.Equal(t, tt.error, page.byID("err-"+tt.field).Text())
		assert.Nil(t, page.byID("bill"))
	}
	assert.Empty(t, srv.Requests(), "nothing sent for a bad form")

	_, page := get(t, h, "/?tab=jompay")
	assert.Equal(t, "Ref-2 (if your bill shows one)", page.all(func(c *node) bool { return c.name == "label" && c.attr["for"] == "ref2" })[0].Text())
	_, page = lookup(t, h, url.Values{"product": {"JOMPAY"}, "account": {"8800123456"}, "biller_code": {"5454"}})
	ref2 := page.byID("ref2")
	_, required := ref2.attr["required"]
	assert.True(t, required, "marked required for a biller that needs it")
	assert.Equal(t, "Ref-2 (required by this biller)", page.all(func(c *node) bool { return c.name == "label" && c.attr["for"] == "ref2" })[0].Text())
}

func TestFieldLeftEmptyHasNoLabel(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	srv.Set("TNB", "77", iimmpacttest.ValidBill(iimmpacttest.Data{
		"BillerName": "TNB", "CustomerName": "", "Address": nil, "Balance": "  ", "Outstanding": "0", "Data": "2GB",
	}))
	_, page := lookup(t, h, url.Values{"product": {"TNB"}, "account": {"77"}})
	assert.Equal(t, []string{"Data balance"}, labels(page))
	assert.Equal(t, "Nothing to pay", page.byID("amount-due").Text(), "never RM 0.00 to pay")
	assert.Nil(t, page.byID("due-date"), "no due date sent: none shown")
	assert.Nil(t, page.byID("pay"), "no pay form when nothing is owed")
}

func TestSlowBillerDoesNotHangThePage(t *testing.T) {
	h, srv := newCheckout(t, 50*time.Millisecond)
	srv.Set("AKSB", "slow", iimmpacttest.ValidBill(iimmpacttest.Data{"BillerName": "x"}).After(time.Hour))
	code, page := lookup(t, h, url.Values{"product": {"AKSB"}, "account": {"slow"}})
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "hide", page.byID("bill").attr["data-action"])
	assert.Contains(t, page.byID("no-details").Text(), "not available right now")
	assert.False(t, disabled(page.byID("proceed")), "the deadline fails open")
}

// payFields returns the payment form's fields of a bill page, as the browser
// would send them.
func payFields(t *testing.T, page *node) url.Values {
	t.Helper()
	form := page.byID("pay")
	require.NotNil(t, form, "a pay form")
	v := url.Values{}
	for _, in := range form.all(func(c *node) bool { return c.name == "input" }) {
		v.Set(in.attr["name"], in.attr["value"])
	}
	return v
}

func TestPayDecidesAgainOnTheServer(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	srv.Set("AKSB", "1234567891", iimmpacttest.ValidBill(iimmpacttest.Data{"BillerName": "Air Kelantan", "Outstanding": json.Number("10.00")}),
		iimmpacttest.InvalidAccount(iimmpacttest.MsgInvalidAccountNo))
	_, page := lookup(t, h, url.Values{"product": {"AKSB"}, "account": {"1234567891"}})
	form := payFields(t, page) // a stale tab: the account was closed since
	code, page := post(t, h, "/pay", form)
	assert.Equal(t, http.StatusUnprocessableEntity, code, "an account the API now calls invalid is refused")
	require.NotNil(t, page.byID("block-message"))
	assert.Nil(t, page.byID("order"))
	code, _ = post(t, h, "/pay", form)
	assert.Equal(t, http.StatusUnprocessableEntity, code, "and refused again with the same refid")
	assert.Zero(t, srv.Payments(), "no payment was sent")

	code, _ = post(t, h, "/pay", url.Values{"product": {"AKSB"}})
	assert.Equal(t, http.StatusUnprocessableEntity, code)
}

// A pay form the checkout did not mint, or one a shopper changed, is refused
// before anything is sent: another refid (autopay's), another account,
// another biller, more than the bill, an expired form.
func TestPayTakesOnlyFormsItMinted(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	_, page := lookup(t, h, url.Values{"product": {"AKSB"}, "account": {"1234567890"}})
	form := payFields(t, page)
	other := func(key, value string) url.Values {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set(key, value)
		return f
	}
	for name, f := range map[string]url.Values{
		"autopay's refid":    other("refid", "water-kb-001-202701-1"),
		"a refid of its own": other("refid", h.mint.refID()),
		"another account":    other("account", "1234567899"),
		"another product":    other("product", "TNB"),
		"a larger limit":     other("max", "4594.00"),
		"a later expiry":     other("expires", "99999999999"),
		"no token":           other("token", ""),
		"a hand-made form":   {"product": {"AKSB"}, "account": {"1234567890"}, "refid": {"co-test-1"}, "pay_amount": {"10.00"}},
	} {
		code, page := post(t, h, "/pay", f)
		assert.Equal(t, http.StatusForbidden, code, name)
		assert.Contains(t, page.byID("refused").Text(), "not one this shop gave you", name)
	}
	code, page := post(t, h, "/pay", other("pay_amount", "45.95"))
	assert.Equal(t, http.StatusUnprocessableEntity, code, "more than the bill")
	assert.Contains(t, page.byID("err-pay_amount").Text(), "at most RM 45.94")
	assert.Zero(t, srv.Payments(), "nothing was sent")

	h.mint.now = func() time.Time { return time.Now().Add(formLife + time.Minute) }
	code, page = post(t, h, "/pay", form)
	assert.Equal(t, http.StatusForbidden, code)
	assert.Contains(t, page.byID("refused").Text(), "expired")
	assert.Zero(t, srv.Payments())
}

// The receipt names the biller paid, with its code and the account masked,
// even when an earlier attempt on the form was for another biller.
func TestReceiptNamesTheBillerPaid(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	srv.SetBalance("10.00")
	_, page := lookup(t, h, url.Values{"product": {"TNB"}, "account": {"220012345678"}, "checkout": {h.mint.refID()}})
	tnb := payFields(t, page)
	_, page = post(t, h, "/pay", tnb)
	require.Equal(t, "refused", page.byID("order").attr["data-state"], "TNB refused: the wallet is short")
	srv.SetBalance("100.00")
	_, page = lookup(t, h, url.Values{"product": {"AKSB"}, "account": {"1234567890"}, "checkout": {tnb.Get("refid")}})
	_, page = post(t, h, "/pay", payFields(t, page))
	require.Equal(t, "paid", page.byID("order").attr["data-state"])
	receipt := map[string]string{}
	for _, dd := range page.byID("receipt").all(func(c *node) bool { return c.name == "dd" }) {
		receipt[dd.attr["data-key"]] = dd.Text()
	}
	assert.Equal(t, "Air Kelantan", receipt["biller"])
	assert.Equal(t, "AKSB", receipt["biller_code"])
	assert.Equal(t, "••••••7890", receipt["account"])
}

// A payment outlives its pod: a new checkout on the same ledger (a
// restart, another pod) shows its page, and asks about it by itself.
func TestAPaymentOutlivesItsPod(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	srv.SetPaymentSteps(2)
	_, page := lookup(t, h, url.Values{"product": {"AKSB"}, "account": {"1234567890"}})
	form := payFields(t, page)
	_, page = post(t, h, "/pay", form)
	require.Equal(t, "processing", page.byID("order").attr["data-state"])

	again := NewHandler(srv.Client, Config{Timeout: time.Second, PayTimeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler),
		Billers: sandboxCatalog(srv), Secret: testSecret, Ledger: h.ledger})
	asked := len(topups(srv))
	again.resumeOnce(context.Background())
	assert.Len(t, topups(srv), asked, "a payment sent a moment ago is its own request's to answer")
	again.now = func() time.Time { return time.Now().Add(resumeEvery) }
	again.resumeOnce(context.Background())
	assert.Len(t, topups(srv), asked+1, "no page load needed: it asks by itself")
	again.resumeOnce(context.Background())
	code, page := get(t, again, "/payment/"+form.Get("refid"))
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "paid", page.byID("order").attr["data-state"])
	again.resumeOnce(context.Background())
	assert.Len(t, topups(srv), asked+2, "a paid payment is not asked about again")
	assert.Equal(t, 1, srv.Charges("1234567890"))
}

// A refused order's GET page holds no pay form, so no account in a hidden
// input; its language switch stays on the payment's page.
func TestOrderPagesKeepTheAccountOutAndSwitchInPlace(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	srv.SetBalance("10.00")
	_, page := lookup(t, h, url.Values{"product": {"AKSB"}, "account": {"1234567890"}})
	form := payFields(t, page)
	_, page = post(t, h, "/pay", form)
	require.Equal(t, "refused", page.byID("order").attr["data-state"])
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/payment/"+form.Get("refid"), nil))
	assert.NotContains(t, rec.Body.String(), "1234567890", "no account on a GET page")
	page = parseHTML(t, rec.Body)
	assert.Nil(t, page.byID("pay"))
	assert.Equal(t, "/payment/"+form.Get("refid")+"?lang=ms", page.byID("lang-switch").attr["href"])
}
func TestPayShowsAReceipt(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	_, page := lookup(t, h, url.Values{"product": {"AKSB"}, "account": {"1234567890"}})
	form := payFields(t, page)
	assert.Equal(t, "45.94", form.Get("pay_amount"), "the amount due, to pay")
	assert.Regexp(t, `^co-[a-z2-7]{32}$`, form.Get("refid"))
	code, page := post(t, h, "/pay", form)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "paid", page.byID("order").attr["data-state"])
	assert.Equal(t, "✓ Payment successful", page.byID("order-title").Text())
	assert.Equal(t, "RM 45.94", page.byID("paid-amount").Text())
	receipt := map[string]string{}
	for _, dd := range page.byID("receipt").all(func(c *node) bool { return c.name == "dd" }) {
		receipt[dd.attr["data-key"]] = dd.Text()
	}
	assert.Equal(t, "Air Kelantan", receipt["biller"])
	assert.Regexp(t, `^SBX\d+$`, receipt["serial"])
	assert.Equal(t, form.Get("refid"), receipt["refid"])
	assert.NotEmpty(t, receipt["time"])
	assert.Equal(t, 1, srv.Charges("1234567890"))

	// A double click, a refresh, a back-and-resubmit: the same refid.
	for range 3 {
		code, page = post(t, h, "/pay", form)
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "paid", page.byID("order").attr["data-state"])
	}
	assert.Equal(t, 1, srv.Charges("1234567890"), "charged once")
}

func TestPayConcurrentDoubleSubmitChargesOnce(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	_, page := lookup(t, h, url.Values{"product": {"TNB"}, "account": {"220012345678"}})
	form := payFields(t, page)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.Equal(t, http.StatusOK, send(h, "/pay", form).Code)
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, srv.Charges("220012345678"))
	assert.Equal(t, 1, srv.Payments())
}

func TestPayPendingThenPaid(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	srv.SetPaymentSteps(2)
	_, page := lookup(t, h, url.Values{"product": {"TNB"}, "account": {"220012345678"}, "lang": {"ms"}})
	form := payFields(t, page)
	_, page = post(t, h, "/pay", form)
	assert.Equal(t, "processing", page.byID("order").attr["data-state"])
	assert.Contains(t, page.byID("processing").Text(), "Jangan bayar sekali lagi")
	status := page.byID("check-status").attr["href"]
	assert.Equal(t, "/payment/"+form.Get("refid")+"?lang=ms", status)
	refresh := page.all(func(c *node) bool { return c.name == "meta" && c.attr["http-equiv"] == "refresh" })
	require.Len(t, refresh, 1, "the page asks again by itself, without JavaScript")
	assert.Equal(t, "5;url="+status, refresh[0].attr["content"])
	assert.Nil(t, page.byID("not-charged"), "never 'failed'")

	_, page = get(t, h, status)
	assert.Equal(t, "processing", page.byID("order").attr["data-state"])
	_, page = get(t, h, status)
	assert.Equal(t, "paid", page.byID("order").attr["data-state"])
	assert.Equal(t, "✓ Pembayaran berjaya", page.byID("order-title").Text())
	_, page = get(t, h, status)
	assert.Equal(t, "paid", page.byID("order").attr["data-state"])
	assert.Equal(t, 1, srv.Charges("220012345678"))
	assert.Len(t, topups(srv), 3, "a receipt is not asked about again")

	code, _ := get(t, h, "/payment/co-unknown")
	assert.Equal(t, http.StatusNotFound, code)
}

func topups(srv *iimmpacttest.Server) []iimmpacttest.Request {
	var out []iimmpacttest.Request
	for _, r := range srv.Requests() {
		if r.Path == "/v2/topup" {
			out = append(out, r)
		}
	}
	return out
}

func TestPayRefusedIsNotCharged(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	srv.SetBalance("1.00")
	_, page := lookup(t, h, url.Values{"product": {"AKSB"}, "account": {"1234567890"}})
	form := payFields(t, page)
	code, page := post(t, h, "/pay", form)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "refused", page.byID("order").attr["data-state"])
	assert.Equal(t, "This shop cannot take payments right now. You have not been charged.", page.byID("not-charged").Text())
	assert.Equal(t, form.Get("refid"), payFields(t, page).Get("refid"), "nothing was created: the same refid may be sent again")
	assert.Zero(t, srv.Charges("1234567890"))

	srv.SetBalance("100.00")
	_, page = post(t, h, "/pay", payFields(t, page))
	assert.Equal(t, "paid", page.byID("order").attr["data-state"], "topped up, the same refid pays")
	assert.Equal(t, 1, srv.Charges("1234567890"))
}

func TestPayFailedAtTheBillerOffersANewRefID(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	srv.Set("TNB", "60123450047", iimmpacttest.ValidBill(iimmpacttest.Data{"BillerName": "TNB", "Outstanding": json.Number("5.00")}))
	_, page := lookup(t, h, url.Values{"product": {"TNB"}, "account": {"60123450047"}})
	form := payFields(t, page)
	_, page = post(t, h, "/pay", form)
	assert.Equal(t, "failed", page.byID("order").attr["data-state"])
	assert.Equal(t, "The biller could not take this payment. You have not been charged.", page.byID("not-charged").Text(), "no vendor code for shoppers")
	assert.NotEqual(t, form.Get("refid"), payFields(t, page).Get("refid"), "another attempt needs a new refid")
}

// An answer lost after the API took the payment is never "failed, try
// again": the page says it is being processed, and asks again.
func TestPayOutcomeUnknownIsProcessing(t *testing.T) {
	srv := iimmpacttest.NewHandler()
	lose := true
	transport := roundTripper(func(r *http.Request) (*http.Response, error) {
		resp, err := srv.Responder()(r)
		if r.URL.Path == "/v2/topup" && lose {
			return nil, errors.New("connection reset by peer") // after the sandbox took it
		}
		return resp, err
	})
	client, err := iimmpact.NewClient(srv.APIKey, srv.HMACSecret, iimmpact.WithBaseURL(srv.URL), iimmpact.WithHTTPClient(&http.Client{Transport: transport}),
		iimmpact.WithRetryBackoff(time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	h := NewHandler(client, Config{Timeout: time.Second, PayTimeout: time.Second, Logger: slog.New(slog.DiscardHandler), Billers: sandboxCatalog(srv), Secret: testSecret, Ledger: testLedger(t, "")})
	_, page := lookup(t, h, url.Values{"product": {"AKSB"}, "account": {"1234567890"}})
	form := payFields(t, page)
	_, page = post(t, h, "/pay", form)
	assert.Equal(t, "processing", page.byID("order").attr["data-state"])
	assert.Nil(t, page.byID("not-charged"))
	assert.Equal(t, 1, srv.Charges("1234567890"))

	lose = false
	_, page = get(t, h, page.byID("check-status").attr["href"])
	assert.Equal(t, "paid", page.byID("order").attr["data-state"])
	assert.Equal(t, 1, srv.Charges("1234567890"), "asking again never pays again")
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestPayJomPAYNeedsTheICNumber(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	_, page := lookup(t, h, url.Values{"product": {"JOMPAY"}, "account": {"8800123456"}, "biller_code": {"5454"}, "ref2": {"PJ-2025-001"}})
	ic := page.byID("ic_number")
	require.NotNil(t, ic)
	assert.Equal(t, "password", ic.attr["type"], "masked on screen")
	form := payFields(t, page)
	code, page := post(t, h, "/pay", form)
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Equal(t, "Enter the payer's IC number, without dashes: JomPAY needs it.", page.byID("err-ic_number").Text())
	assert.Zero(t, srv.Payments())

	form.Set("ic_number", "900101-14-5678")
	code, page = post(t, h, "/pay", form)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "paid", page.byID("order").attr["data-state"])
	body := send(h, "/pay", form).Body.String()
	assert.NotContains(t, body, "900101145678", "the IC number is never shown whole")
	assert.Contains(t, body, "••••••••5678")
	for _, r := range srv.Requests() {
		assert.NotContains(t, r.Query.Encode(), "900101145678", "nor in a URL")
	}
}

// The sandbox calls the checkout back; the checkout confirms by asking.
func TestCallbackIsConfirmedByAsking(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	srv.SetPaymentSteps(1)
	_, page := lookup(t, h, url.Values{"product": {"TNB"}, "account": {"220012345678"}})
	form := payFields(t, page)
	_, page = post(t, h, "/pay", form)
	require.Equal(t, "processing", page.byID("order").attr["data-state"])

	callback := func(from, refid string) int { return succeeded(h, from, refid) }
	asked := len(topups(srv))
	assert.Equal(t, http.StatusForbidden, callback("203.0.113.9:4000", form.Get("refid")))
	assert.Equal(t, http.StatusOK, callback("127.0.0.1:4000", "co-not-ours"))
	assert.Len(t, topups(srv), asked, "neither a stranger's nor an unknown refid's callback asks anything")
	assert.Equal(t, http.StatusOK, callback("127.0.0.1:4000", form.Get("refid")))
	assert.Len(t, topups(srv), asked+1, "the callback is confirmed by asking")
	_, page = get(t, h, "/payment/"+form.Get("refid"))
	assert.Equal(t, "paid", page.byID("order").attr["data-state"])
}

func TestEveryAnswerRefusesFraming(t *testing.T) {
	h, _ := newCheckout(t, time.Second)
	for _, target := range []string{"/", "/style.css", "/payment/x"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		assert.Equal(t, "DENY", rec.Header().Get("X-Frame-Options"), target)
		assert.Contains(t, rec.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'", target)
		assert.NotContains(t, rec.Header().Get("Content-Security-Policy"), "unsafe-inline")
	}
	page, err := files.ReadFile("page.html")
	require.NoError(t, err)
	assert.NotContains(t, string(page), "<script", "no script, inline or not")
	assert.NotContains(t, string(page), "style=", "no inline style")
}

func TestFormsOnlyAndBounded(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	send := func(contentType, body string) int {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/bill", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	multipart := "--x\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\n" + strings.Repeat("a", 1<<20) + "\r\n--x--\r\n"
	assert.Equal(t, http.StatusUnsupportedMediaType, send("multipart/form-data; boundary=x", multipart))
	assert.Equal(t, http.StatusRequestEntityTooLarge, send("application/x-www-form-urlencoded", "product=AKSB&account="+strings.Repeat("1", 100<<10)))
	assert.Equal(t, http.StatusUnsupportedMediaType, send("application/json", `{}`))
	assert.Empty(t, srv.Requests())
}

func TestJomPAYFreeTextIsABillerCode(t *testing.T) {
	h, _ := newCheckout(t, time.Second)
	for lang, want := range map[string]string{"en": "Not listed? Biller code", "ms": "Tiada dalam senarai? Kod Biller"} {
		_, page := get(t, h, "/?tab=jompay&lang="+lang)
		assert.Equal(t, want, page.all(func(c *node) bool { return c.name == "label" && c.attr["for"] == "biller_other" })[0].Text())
	}
}

func TestDueDateAheadIsPayBy(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	due := time.Now().AddDate(0, 0, 10)
	srv.Set("TNB", "9", iimmpacttest.ValidBill(iimmpacttest.Data{"BillerName": "TNB", "Outstanding": json.Number("5.00"), "DueDate": due.Format("02/01/2006")}))
	_, page := lookup(t, h, url.Values{"product": {"TNB"}, "account": {"9"}})
	assert.True(t, strings.HasPrefix(page.byID("due-date").Text(), "Pay by "))
	assert.NotContains(t, page.byID("due-date").attr["class"], "overdue")
}

func TestCrossSitePostsAreRefused(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	for _, headers := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site"},
		{"Origin": "https://evil.example"},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/pay", strings.NewReader(url.Values{"product": {"AKSB"}, "account": {"1234567890"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusForbidden, rec.Code, "%v", headers)
		assert.Contains(t, parseHTML(t, rec.Body).byID("refused").Text(), "came from another site")
	}
	assert.Empty(t, srv.Requests())
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "http://shop.example/bill", strings.NewReader("product=AKSB&account=1234567890"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://shop.example")
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusOK, rec.Code, "the same origin is welcome")
}

// The account number travels in POST bodies only: no link or form action of
// any page holds it, and GET /bill does not exist.
func TestNoAccountNumberInAnyURL(t *testing.T) {
	h, _ := newCheckout(t, time.Second)
	pages := []*node{}
	for _, form := range []url.Values{
		{"product": {"AKSB"}, "account": {"1234567890"}},
		{"product": {"AKSB"}, "account": {"1234567890"}, "lang": {"ms"}},
		{"product": {"JOMPAY"}, "account": {"8800123456"}, "biller_code": {"5454"}, "ref2": {"PJ-2025-001"}},
	} {
		_, page := lookup(t, h, form)
		pages = append(pages, page)
	}
	for _, page := range pages {
		for _, n := range page.all(func(c *node) bool { return c.attr["href"] != "" || c.attr["action"] != "" || c.attr["src"] != "" }) {
			for _, u := range []string{n.attr["href"], n.attr["action"], n.attr["src"]} {
				assert.NotContains(t, u, "1234567890")
				assert.NotContains(t, u, "8800123456")
				assert.NotContains(t, u, "PJ-2025-001")
			}
		}
		for _, f := range page.all(func(c *node) bool { return c.name == "form" }) {
			assert.Equal(t, "post", f.attr["method"])
		}
	}
	code, _ := get(t, h, "/bill?product=AKSB&account=1234567890")
	assert.Equal(t, http.StatusMethodNotAllowed, code)
}

func TestLanguageSwitch(t *testing.T) {
	h, _ := newCheckout(t, time.Second)
	_, page := lookup(t, h, url.Values{"product": {"TNB"}, "account": {"220012345678"}, "lang": {"ms"}})
	assert.Equal(t, "ms", page.all(func(c *node) bool { return c.name == "html" })[0].attr["lang"])
	assert.Equal(t, []string{"Nama pelanggan", "Alamat", "Maklumat tambahan"}, labels(page))
	assert.Equal(t, "Jumlah perlu dibayar", page.byID("bill").all(func(c *node) bool { return c.attr["class"] == "due-label" })[0].Text())
	assert.Equal(t, "Tertunggak: perlu dibayar sebelum 28 Jun 2025", page.byID("due-date").Text())
	assert.Equal(t, "Bayar sekarang", page.byID("proceed").Text())
	sw := page.byID("lang-switch")
	assert.Equal(t, "English", sw.Text())
	assert.Equal(t, "/?lang=en", sw.attr["href"])
	hidden := page.all(func(c *node) bool { return c.attr["name"] == "lang" && c.attr["type"] == "hidden" })
	require.NotEmpty(t, hidden)
	for _, in := range hidden {
		assert.Equal(t, "ms", in.attr["value"], "the language goes with every form")
	}
	_, page = get(t, h, "/")
	assert.Equal(t, "Bahasa Malaysia", page.byID("lang-switch").Text())
	assert.Equal(t, "/?lang=ms", page.byID("lang-switch").attr["href"])
}

func TestBillersArePickedByName(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	_, page := get(t, h, "/")
	var options []string
	for _, o := range page.byID("product").all(func(c *node) bool { return c.name == "option" }) {
		options = append(options, o.Text())
	}
	assert.Contains(t, options, "Tenaga Nasional Berhad — TNB", "the name, with the code beside it")
	assert.Contains(t, options, "Air Kelantan — AKSB")

	_, page = lookup(t, h, url.Values{"product_other": {"tenaga nasional berhad"}, "account": {"220012345678"}})
	assert.Equal(t, "show", page.byID("bill").attr["data-action"], "a name typed is read as its code")
	srv.Set("PBAPP", "1", iimmpacttest.ValidBill(iimmpacttest.Data{"BillerName": "PBA Pulau Pinang", "Outstanding": "10.00"}))
	_, page = lookup(t, h, url.Values{"product_other": {"PBAPP"}, "account": {"1"}})
	assert.Equal(t, "PBA Pulau Pinang", page.byID("biller-name").Text(), "free text still works")
}

func TestJomPAYTab(t *testing.T) {
	h, _ := newCheckout(t, time.Second)
	names := func(page *node) []string {
		var out []string
		for _, in := range page.byID("lookup").all(func(c *node) bool { return (c.name == "input" || c.name == "select") && c.attr["type"] != "hidden" }) {
			out = append(out, in.attr["name"])
		}
		return out
	}
	_, page := get(t, h, "/")
	assert.Equal(t, []string{"product", "product_other", "account"}, names(page))
	assert.Equal(t, "/?tab=jompay&lang=en", page.byID("tab-jompay").attr["href"], "a plain link: no JavaScript")

	_, page = get(t, h, "/?tab=jompay")
	assert.Equal(t, []string{"biller_code", "biller_other", "account", "ref2", "amount"}, names(page))
	_, current := page.byID("tab-jompay").attr["aria-current"]
	assert.True(t, current)
	assert.Equal(t, "MBPJ Cukai Taksiran — 5454", page.byID("biller_code").all(func(c *node) bool { return c.name == "option" })[1].Text())

	_, page = lookup(t, h, url.Values{"product": {"JOMPAY"}, "tab": {"jompay"}, "account": {"8800123456"}, "biller_code": {"5454"}, "ref2": {"PJ-2025-001"}})
	assert.Equal(t, "show", page.byID("bill").attr["data-action"], "a JomPAY bill")
	assert.Equal(t, "RM 356.00", page.byID("amount-due").Text())
	assert.Equal(t, "MBPJ Cukai Taksiran", page.byID("biller-name").Text())
	pay := page.byID("pay").all(func(c *node) bool { return c.attr["name"] == "biller_code" })
	require.Len(t, pay, 1, "the JomPAY fields go to the payment step")
	assert.Equal(t, "5454", pay[0].attr["value"])
}

func TestCustomFieldReadsAsText(t *testing.T) {
	h, _ := newCheckout(t, time.Second)
	_, page := lookup(t, h, url.Values{"product": {"TNB"}, "account": {"220012345678"}})
	custom := page.all(func(c *node) bool { return c.name == "dd" && c.attr["data-key"] == "custom_field" })
	require.Len(t, custom, 1)
	assert.Equal(t, "Tariff: A (domestic) · Meter: M-0042 · kWh: 533", custom[0].Text())
}

func TestStylesheetIsServed(t *testing.T) {
	h, _ := newCheckout(t, time.Second)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/style.css", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Header().Get("Content-Type"), "text/css")
	css := rec.Body.String()
	assert.Contains(t, css, "@media (min-width: 40rem)", "mobile first, wider screens after")
	assert.Contains(t, css, "::placeholder", "placeholders look like placeholders")
	assert.Contains(t, css, `[aria-invalid="true"]`, "a field with an error looks it")
	_, page := get(t, h, "/")
	link := page.all(func(c *node) bool { return c.name == "link" })
	require.Len(t, link, 1)
	assert.Equal(t, "/style.css", link[0].attr["href"], "served by the example, no CDN")
}

func TestProductsFile(t *testing.T) {
	c, err := parseCatalog(strings.NewReader("product,name,biller_code,needs_ref2\ntnb,Tenaga Nasional Berhad,,\nJOMPAY,MBPJ Cukai Taksiran,5454,yes\n"))
	require.NoError(t, err)
	assert.Equal(t, []biller{{Product: "TNB", Name: "Tenaga Nasional Berhad"}}, c.Products)
	assert.Equal(t, []biller{{Product: "JOMPAY", Code: "5454", Name: "MBPJ Cukai Taksiran", NeedsRef2: true}}, c.JomPAY)
	for text, msg := range map[string]string{
		"product,name\nTNB,\n":                            "needs a product and a name",
		"product,name\nTNB\n":                             "line 2 has 1 fields",
		"product,name\nJOMPAY,MBPJ\n":                     "without its biller_code",
		"TNB,Tenaga Nasional Berhad\nAKSB,Air Kelantan\n": `the header names column "tnb"`, // no header: never a biller lost in silence
		"product,name\n":                                  "names no biller",
		"AKSB,Air Kelantan\n":                             `the header names column "aksb"`,
	} {
		_, err := parseCatalog(strings.NewReader(text))
		assert.ErrorContains(t, err, msg)
	}
}

// The refid is minted with the bill form and carried through: resubmitting
// the bill page (back, then "confirm resubmission") keeps it, so the
// payment it leads to is the same one.
func TestBillPageResubmitKeepsTheRefID(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	_, form := get(t, h, "/")
	checkout := form.all(func(c *node) bool { return c.attr["name"] == "checkout" })
	require.Len(t, checkout, 1)
	minted := checkout[0].attr["value"]
	q := url.Values{"product": {"AKSB"}, "account": {"1234567890"}, "checkout": {minted}}
	_, page := lookup(t, h, q)
	assert.Equal(t, minted, payFields(t, page).Get("refid"))
	_, page = post(t, h, "/pay", payFields(t, page))
	assert.Equal(t, "paid", page.byID("order").attr["data-state"])
	_, page = lookup(t, h, q) // back, and resubmit the bill page
	assert.Equal(t, "paid", page.byID("order").attr["data-state"], "the same payment's receipt")
	assert.Nil(t, page.byID("pay"), "and no form to pay it again")
	assert.Equal(t, 1, srv.Charges("1234567890"))
	another := page.all(func(c *node) bool { return c.attr["name"] == "checkout" })
	assert.Empty(t, another, "the receipt page has no bill form")

	q = url.Values{"product": {"TNB"}, "account": {"220012345678"}, "checkout": {"co-not/minted"}}
	_, page = lookup(t, h, q)
	assert.Regexp(t, `^co-[a-z2-7]{32}$`, payFields(t, page).Get("refid"), "a refid the checkout did not mint is replaced")
}

// A refused payment created nothing: the shopper may fix it (another amount)
// and send it with the same refid. A payment that was made keeps its refid.
func TestRefusedPaymentMayBeFixed(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	srv.SetBalance("40.00")
	_, page := lookup(t, h, url.Values{"product": {"AKSB"}, "account": {"1234567890"}})
	form := payFields(t, page)
	_, page = post(t, h, "/pay", form)
	require.Equal(t, "refused", page.byID("order").attr["data-state"])
	fixed := payFields(t, page)
	assert.Equal(t, form.Get("refid"), fixed.Get("refid"))
	fixed.Set("pay_amount", "30.00")
	_, page = post(t, h, "/pay", fixed)
	assert.Equal(t, "paid", page.byID("order").attr["data-state"])
	assert.Equal(t, "RM 30.00", page.byID("paid-amount").Text())

	fixed.Set("pay_amount", "31.00")
	code, page := post(t, h, "/pay", fixed)
	assert.Equal(t, http.StatusConflict, code, "a refid that paid is not reused for another payment")
	assert.Contains(t, page.byID("refused").Text(), "already used for another payment")
	assert.Equal(t, 1, srv.Charges("1234567890"))
}

// An ask that never left (a cancelled context, the quota) says nothing of a
// payment that exists: a processing payment stays processing, never "not
// charged".
func TestProcessingStaysProcessingWhenAnAskFails(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	srv.SetPaymentSteps(1) // the next ask would say paid
	_, page := lookup(t, h, url.Values{"product": {"AKSB"}, "account": {"1234567890"}})
	form := payFields(t, page)
	_, page = post(t, h, "/pay", form)
	require.Equal(t, "processing", page.byID("order").attr["data-state"])
	refused := `{"data":{"status":"Failed","statusCode":44,"refid":"` + form.Get("refid") + `","message":"Bad format or invalid product"}}`
	srv.FailTimes("AKSB", "1234567890", 1, iimmpacttest.Raw(http.StatusBadRequest, nil, refused))
	_, page = get(t, h, "/payment/"+form.Get("refid"))
	assert.Equal(t, "processing", page.byID("order").attr["data-state"], "a refused ask proves nothing of a payment that exists")
	assert.Nil(t, page.byID("not-charged"))
	_, page = post(t, h, "/pay", form)
	assert.Equal(t, "paid", page.byID("order").attr["data-state"], "the same form again asks about it")
	assert.Equal(t, 1, srv.Charges("1234567890"))
}

// The Malay page says "Penerima bayaran", not the English "Biller"; only
// "Kod Biller", as JomPAY bills print it, stays.
func TestMalayPageHasNoEnglishBiller(t *testing.T) {
	h, _ := newCheckout(t, time.Second)
	for _, form := range []url.Values{
		{"product": {"AKSB"}, "account": {"1234567890"}, "lang": {"ms"}},
		{"product": {"SYABAS"}, "account": {"3000000001"}, "lang": {"ms"}},
	} {
		_, page := lookup(t, h, form)
		text := strings.ReplaceAll(page.Text(), "Kod Biller", "")
		assert.NotContains(t, strings.ToLower(text), "biller", "%v", form)
	}
	_, page := get(t, h, "/?lang=ms")
	assert.NotContains(t, strings.ToLower(strings.ReplaceAll(page.Text(), "Kod Biller", "")), "biller")
}

// Every text of the page exists in both languages: each string field of
// words is set, from texts, in English and in Malay, and differs between
// them unless it is a name (JomPAY, Ref-2, Status).
func TestEveryTextInBothLanguages(t *testing.T) {
	sameInBoth := map[string]bool{"TabJomPAY": true, "Ref2": true, "Status": true}
	en, ms := reflect.ValueOf(pageWords[iimmpact.English]), reflect.ValueOf(pageWords[iimmpact.Malay])
	for i := range en.NumField() {
		f := en.Type().Field(i)
		if f.Type.Kind() != reflect.String {
			continue
		}
		assert.NotEmpty(t, en.Field(i).String(), "%s in English", f.Name)
		assert.NotEmpty(t, ms.Field(i).String(), "%s in Malay", f.Name)
		if !sameInBoth[f.Name] {
			assert.NotEqual(t, en.Field(i).String(), ms.Field(i).String(), "%s is translated", f.Name)
		}
	}
	assert.Len(t, texts.fields, en.NumField()-3, "texts names every string field, and no other")
}

// Two pods on one ledger: the bill on one, the payment on the other, the
// processing page and the callback on either, a double submit on both at
// once: one charge, and the same receipt on both.
func TestTwoPodsShareEveryPayment(t *testing.T) {
	a, srv := newCheckout(t, time.Second)
	b := NewHandler(srv.Client, Config{Timeout: time.Second, PayTimeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler), Billers: sandboxCatalog(srv),
		CallbackIPs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Secret: testSecret, Ledger: a.ledger})
	srv.SetPaymentSteps(1)
	_, bill := lookup(t, a, url.Values{"product": {"TNB"}, "account": {"220012345678"}})
	form := payFields(t, bill)

	var wg sync.WaitGroup
	answers := make([]*httptest.ResponseRecorder, 2)
	for i, pod := range []*Handler{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = send(pod, "/pay", form)
		}()
	}
	wg.Wait()
	for _, rec := range answers {
		assert.Equal(t, http.StatusOK, rec.Code)
		state := parseHTML(t, rec.Body).byID("order").attr["data-state"]
		assert.Contains(t, []string{"processing", "paid"}, state, "a double submit on two pods: the one payment on both, never refused")
	}
	code, _ := get(t, b, "/payment/"+form.Get("refid"))
	require.Equal(t, http.StatusOK, code, "either pod shows it")

	assert.Equal(t, http.StatusOK, succeeded(b, "127.0.0.1:4000", form.Get("refid")))
	history, err := a.ledger.History(context.Background(), form.Get("refid"))
	require.NoError(t, err)
	kinds := map[string]int{}
	for _, e := range history {
		kinds[e.Kind]++
	}
	assert.Equal(t, 1, kinds["callback"], "the callback is a row of the payment's history")

	receipts := make([]map[string]string, 2)
	for i, pod := range []*Handler{a, b} {
		_, page := get(t, pod, "/payment/"+form.Get("refid"))
		require.Equal(t, "paid", page.byID("order").attr["data-state"])
		receipts[i] = map[string]string{}
		for _, dd := range page.byID("receipt").all(func(c *node) bool { return c.name == "dd" }) {
			receipts[i][dd.attr["data-key"]] = dd.Text()
		}
	}
	assert.Equal(t, receipts[0], receipts[1], "the same receipt on both")
	assert.Regexp(t, `^SBX\d+$`, receipts[0]["serial"])
	assert.Equal(t, 1, srv.Charges("220012345678"))
	assert.Equal(t, 1, srv.Payments())
}
