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
	return NewHandler(srv.Client, timeout, slog.New(slog.DiscardHandler)), srv
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
	links := page.all(func(c *node) bool { return c.name == "a" })
	require.Len(t, links, 1)
	assert.Equal(t, "https://sandbox.invalid/e-bill/220012345678.pdf", links[0].attr["href"])

	srv.Set("TNB", "js", iimmpacttest.ValidBill(iimmpacttest.Data{"E-Bill": "javascript:alert(1)"}))
	_, page = get(t, h, lookup(url.Values{"product": {"TNB"}, "account": {"js"}}))
	links = page.all(func(c *node) bool { return c.name == "a" })
	require.Len(t, links, 1)
	assert.NotContains(t, links[0].attr["href"], "javascript", "html/template refuses a script URL from the biller")
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
	assert.Equal(t, iimmpacttest.MsgRef2Required, page.byID("block-message").Text())
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

func TestBadFormAndPay(t *testing.T) {
	h, srv := newCheckout(t, time.Second)
	code, page := get(t, h, lookup(url.Values{"product": {"JOMPAY"}, "account": {"1"}}))
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Contains(t, page.byID("problem").Text(), "biller_code field is required")
	assert.Nil(t, page.byID("bill"))
	assert.Empty(t, srv.Requests(), "nothing sent for a bad form")

	code, page = get(t, h, "/")
	assert.Equal(t, http.StatusOK, code)
	assert.NotNil(t, page.byID("lookup"))

	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/pay", strings.NewReader("product=AKSB&account=1234567890"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	h.ServeHTTP(rec, req)
	assert.Contains(t, parseHTML(t, rec.Body).byID("paid").Text(), "AKSB 1234567890")
}
