package main

import (
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/iimmpact-go/iimmpact/iimmpacttest"
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

func newCheckout(t *testing.T, timeout time.Duration) (*Handler, *iimmpacttest.Server) {
	srv := iimmpacttest.Start(t)
	return NewHandler(srv.Client, timeout, slog.New(slog.DiscardHandler), []string{"AKSB", "TNB"}), srv
}

func lookup(v url.Values) string { return "/bill?" + v.Encode() }

func TestShow(t *testing.T) {
	h, _ := newCheckout(t, time.Second)
	code, page := get(t, h, lookup(url.Values{"product": {"AKSB"}, "account": {"1234567890"}}))
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "show", page.byID("bill").attr["data-action"])
	assert.Equal(t, []string{"Biller", "Customer name", "Outstanding amount", "Due date", "Address"}, labels(page))
	amount := page.all(func(c *node) bool { return c.name == "dd" && c.attr["data-key"] == "outstanding" })
	require.Len(t, amount, 1)
	assert.Equal(t, "RM 45.94", amount[0].Text())
	proceed := page.byID("proceed")
	require.NotNil(t, proceed)
	_, disabled := proceed.attr["disabled"]
	assert.False(t, disabled)
	assert.Nil(t, page.byID("block-message"))
}

func TestEBillIsALinkAndUnsafeLinksAreNeutralised(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	_, page := get(t, h, lookup(url.Values{"product": {"TNB"}, "account": {"220012345678"}}))
	inBill := func(c *node) bool { return c.name == "a" }
	links := page.byID("bill").all(inBill)
	require.Len(t, links, 1)
	assert.Equal(t, "https://sandbox.invalid/e-bill/220012345678.pdf", links[0].attr["href"])

	for _, unsafe := range []string{"javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "/relative.pdf"} {
		srv.Set("TNB", "js", iimmpacttest.ValidBill(iimmpacttest.Data{"BillerName": "TNB", "E-Bill": unsafe}))
		_, page = get(t, h, lookup(url.Values{"product": {"TNB"}, "account": {"js"}}))
		assert.Empty(t, page.byID("bill").all(inBill), "the SDK lists an e-bill only when it is an http or https URL: %s", unsafe)
	}
}

func TestHide(t *testing.T) {
	h, _ := newCheckout(t, time.Second)
	for _, account := range []url.Values{
		{"product": {"DIGI"}, "account": {"0123456789"}},
		{"product": {"SYABAS"}, "account": {"3000000001"}},
	} {
		_, page := get(t, h, lookup(account))
		assert.Equal(t, "hide", page.byID("bill").attr["data-action"])
		assert.Empty(t, labels(page), "no bill information")
		assert.NotNil(t, page.byID("no-details"))
		_, disabled := page.byID("proceed").attr["disabled"]
		assert.False(t, disabled, "the customer may still pay")
	}
}

func TestBlock(t *testing.T) {
	h, _ := newCheckout(t, time.Second)
	_, page := get(t, h, lookup(url.Values{"product": {"JOMPAY"}, "account": {"8800123456"}, "biller_code": {"5454"}}))
	assert.Equal(t, "block", page.byID("bill").attr["data-action"])
	assert.Equal(t, "This payment cannot go ahead. "+iimmpacttest.MsgRef2Required, page.byID("block-message").Text())
	assert.Empty(t, labels(page))
	_, disabled := page.byID("proceed").attr["disabled"]
	assert.True(t, disabled, "payment must stop")
}

func TestFieldLeftEmptyHasNoLabel(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	srv.Set("TNB", "77", iimmpacttest.ValidBill(iimmpacttest.Data{
		"BillerName": "TNB", "CustomerName": "", "Address": nil, "Balance": "  ", "Outstanding": "0",
	}))
	_, page := get(t, h, lookup(url.Values{"product": {"TNB"}, "account": {"77"}}))
	assert.Equal(t, []string{"Biller", "Outstanding amount"}, labels(page))
}

func TestSlowBillerDoesNotHangThePage(t *testing.T) {
	h, srv := newCheckout(t, 50*time.Millisecond)
	srv.Set("AKSB", "slow", iimmpacttest.ValidBill(iimmpacttest.Data{"BillerName": "x"}).After(time.Hour))
	code, page := get(t, h, lookup(url.Values{"product": {"AKSB"}, "account": {"slow"}}))
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "hide", page.byID("bill").attr["data-action"])
	assert.Contains(t, page.byID("no-details").Text(), "not available right now")
	_, disabled := page.byID("proceed").attr["disabled"]
	assert.False(t, disabled, "the deadline fails open")
}

func post(t *testing.T, h http.Handler, form url.Values) (int, *node) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/pay", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	h.ServeHTTP(rec, req)
	return rec.Code, parseHTML(t, rec.Body)
}

func TestBadFormIsWordedWithTheFormsLabels(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	tests := []struct {
		form url.Values
		want string
	}{
		{url.Values{"product": {"JOMPAY"}, "account": {"1"}}, "Biller code is required."},
		{url.Values{"product": {"JOMPAY"}, "biller_code": {"5454"}}, "Ref-1 (account number) is required."},
		{url.Values{"product": {"AKSB"}}, "Account number is required."},
		{url.Values{"account": {"1"}}, "Biller is required."},
		{url.Values{"product": {"JOMPAY"}, "account": {"1"}, "biller_code": {"5454"}, "amount": {"1.234"}}, "Amount (RM) must be an amount such as 45.90."},
		{url.Values{"product": {"JOMPAY"}, "account": {"1"}, "lang": {"ms"}}, "Kod pembekal diperlukan."},
	}
	for _, tt := range tests {
		code, page := get(t, h, lookup(tt.form))
		assert.Equal(t, http.StatusUnprocessableEntity, code)
		assert.Equal(t, tt.want, page.byID("problem").Text())
		assert.Nil(t, page.byID("bill"))
	}
	assert.Empty(t, srv.Requests(), "nothing sent for a bad form")
}

func TestPayDecidesAgainOnTheServer(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	code, page := post(t, h, url.Values{"product": {"AKSB"}, "account": {"0000000000"}})
	assert.Equal(t, http.StatusUnprocessableEntity, code, "a hand-made POST for a blocked account is refused")
	assert.Contains(t, page.byID("block-message").Text(), "Invalid account no")
	assert.Nil(t, page.byID("paid"))
	assert.Nil(t, page.byID("proceed"), "no button to try again")

	code, page = post(t, h, url.Values{"product": {"JOMPAY"}, "account": {"8800123456"}, "biller_code": {"5454"}})
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Contains(t, page.byID("block-message").Text(), iimmpacttest.MsgRef2Required)

	code, page = post(t, h, url.Values{"product": {"AKSB"}, "account": {"1234567890"}})
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, page.byID("paid").Text(), "AKSB 1234567890")

	code, page = post(t, h, url.Values{"product": {"DIGI"}, "account": {"0123456789"}})
	assert.Equal(t, http.StatusOK, code, "hide lets the customer pay")
	assert.NotNil(t, page.byID("paid"))

	code, _ = post(t, h, url.Values{"product": {"AKSB"}})
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Len(t, srv.Requests(), 4, "every valid /pay asked the API again")

	code, page = get(t, h, "/")
	assert.Equal(t, http.StatusOK, code)
	assert.NotNil(t, page.byID("lookup"))
}

func TestLanguageSwitch(t *testing.T) {
	h, _ := newCheckout(t, time.Second)
	_, page := get(t, h, lookup(url.Values{"product": {"AKSB"}, "account": {"1234567890"}, "lang": {"ms"}}))
	assert.Equal(t, "ms", page.all(func(c *node) bool { return c.name == "html" })[0].attr["lang"])
	assert.Equal(t, []string{"Biller", "Nama pelanggan", "Jumlah tertunggak", "Tarikh akhir bayaran", "Alamat"}, labels(page))
	assert.Equal(t, "Teruskan pembayaran", page.byID("proceed").Text())
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

func TestJomPAYFieldsOnlyForJomPAY(t *testing.T) {
	h, _ := newCheckout(t, time.Second)
	names := func(page *node) []string {
		var out []string
		for _, in := range page.byID("lookup").all(func(c *node) bool { return c.name == "input" && c.attr["type"] != "hidden" }) {
			out = append(out, in.attr["name"])
		}
		return out
	}
	_, page := get(t, h, "/")
	assert.Equal(t, []string{"product", "account"}, names(page))
	assert.Equal(t, "/?product=JOMPAY&lang=en", page.byID("tab-jompay").attr["href"], "a plain link: no JavaScript")
	var options []string
	for _, o := range page.all(func(c *node) bool { return c.name == "option" }) {
		options = append(options, o.attr["value"])
	}
	assert.Equal(t, []string{"AKSB", "TNB"}, options, "the products offered; free text still works")

	_, page = get(t, h, "/?product=JOMPAY")
	assert.Equal(t, []string{"biller_code", "account", "ref2", "amount"}, names(page))
	_, current := page.byID("tab-jompay").attr["aria-current"]
	assert.True(t, current)

	_, page = get(t, h, lookup(url.Values{"product": {"jompay"}, "account": {"8800123456"}, "biller_code": {"5454"}, "ref2": {"PJ-2025-001"}}))
	assert.Equal(t, "show", page.byID("bill").attr["data-action"], "a JomPAY bill")
	assert.Equal(t, []string{"biller_code", "account", "ref2", "amount"}, names(page))
	pay := page.byID("pay").all(func(c *node) bool { return c.attr["name"] == "biller_code" })
	require.Len(t, pay, 1, "the JomPAY fields go to the payment step")
	assert.Equal(t, "5454", pay[0].attr["value"])
}

func TestCustomFieldReadsAsText(t *testing.T) {
	h, _ := newCheckout(t, time.Second)
	_, page := get(t, h, lookup(url.Values{"product": {"TNB"}, "account": {"220012345678"}}))
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
	assert.Contains(t, rec.Body.String(), "@media (min-width: 40rem)", "mobile first, wider screens after")
	_, page := get(t, h, "/")
	link := page.all(func(c *node) bool { return c.name == "link" })
	require.Len(t, link, 1)
	assert.Equal(t, "/style.css", link[0].attr["href"], "served by the example, no CDN")
}
