package browser

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact/iimmpacttest"
	"github.com/iimmpact-go/iimmpact/ledger"
	"github.com/iimmpact-go/iimmpact/ledger/ledgertest"
)

// roundRobin is a load balancer in front of the pods: each page request
// (the stylesheet and the favicon aside) goes to the next pod in turn. It
// records which pod served which request.
type roundRobin struct {
	mu     sync.Mutex
	pods   []*url.URL
	next   int
	served []string // "METHOD PATH -> pod N"
}

func (rr *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rr.mu.Lock()
	n := 0
	if r.URL.Path != "/style.css" && r.URL.Path != "/favicon.ico" {
		n = rr.next % len(rr.pods)
		rr.next++
		rr.served = append(rr.served, r.Method+" "+r.URL.Path+" -> pod "+string(rune('A'+n)))
	}
	target := rr.pods[n]
	rr.mu.Unlock()
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host // the page's own origin, as a load balancer keeps it
	}}
	proxy.ServeHTTP(w, r)
}

func (rr *roundRobin) log() []string {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return append([]string(nil), rr.served...)
}

// asks signals each payment request (a pay or an ask) the sandbox receives.
type asks struct {
	srv *iimmpacttest.Server
	ch  chan struct{}
}

func (a asks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v2/topup" {
		select {
		case a.ch <- struct{}{}:
		default:
		}
	}
	a.srv.ServeHTTP(w, r)
}

// Two checkouts on one PostgreSQL behind a round-robin proxy: the bill on
// one pod, the payment on the other, the processing page and the callback
// on either, one charge, the same receipt on both; then both pods killed
// during a payment, and one restarted asks about it by itself, with no page
// load, within 20 s.
func TestTwoPodsBehindARoundRobinProxy(t *testing.T) {
	exe := chromium(t)
	pg := os.Getenv("IIMMPACT_TEST_POSTGRES")
	if pg == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI sets IIMMPACT_TEST_POSTGRES: the pods share a real PostgreSQL")
		}
		t.Skip("IIMMPACT_TEST_POSTGRES is not set: no PostgreSQL for the pods to share")
	}
	db := ledgertest.Postgres(t, pg)
	srv := iimmpacttest.NewServer()
	t.Cleanup(srv.Close)
	front := asks{srv: srv, ch: make(chan struct{}, 64)}
	sandbox := httptest.NewServer(front)
	t.Cleanup(sandbox.Close)
	env := []string{"IIMMPACT_API_KEY=" + srv.APIKey, "IIMMPACT_HMAC_SECRET=" + srv.HMACSecret, "IIMMPACT_BASE_URL=" + sandbox.URL,
		"DATABASE_URL=" + db, "CHECKOUT_SECRET=" + base64.StdEncoding.EncodeToString([]byte("the pods' shared secret, 32 bytes"))}
	args := []string{"-callback-ips", "127.0.0.1/32,::1/128", "-products", writeProducts(t)}
	bin := buildCheckout(t)
	var pods []*url.URL
	var procs []*exec.Cmd
	for range 2 {
		u, cmd := runCheckout(t, bin, env, args...)
		parsed, err := url.Parse(u)
		require.NoError(t, err)
		pods, procs = append(pods, parsed), append(procs, cmd)
	}
	rr := &roundRobin{pods: pods}
	lb := httptest.NewServer(rr)
	t.Cleanup(lb.Close)
	srv.SetCallbackURL(lb.URL + "/iimmpact/callback")
	srv.Set("TNB", "100000000501", iimmpacttest.ValidBill(iimmpacttest.Data{"Outstanding": json.Number("88.20")}))
	srv.SetPaymentSteps(1)

	s := newShopper(t, exe, 390, 844)
	loads := s.pageLoads(t)
	s.lookUp(t, lb.URL, "en", "TNB", "100000000501")
	s.do(t, chromedp.Click(chromedp.CSS("#proceed")), chromedp.WaitVisible(chromedp.CSS(`#order[data-state="processing"]`)))
	s.waitForState(t, loads, "paid") // the page refreshes itself, through the load balancer
	refid := s.text(t, `#receipt dd[data-key="refid"]`)
	s.screenshot(t, "pods-paid-en-390")
	served := rr.log()
	t.Logf("the load balancer: %v", served)
	byPath := map[string]string{}
	for _, line := range served {
		req, pod, _ := strings.Cut(line, " -> ")
		if _, seen := byPath[req]; !seen {
			byPath[req] = pod
		}
	}
	require.Contains(t, byPath, "POST /bill")
	require.Contains(t, byPath, "POST /pay")
	assert.NotEqual(t, byPath["POST /bill"], byPath["POST /pay"], "the bill on one pod, the payment on the other")
	assert.Equal(t, 1, srv.Charges("100000000501"))

	// The same receipt on each pod, asked directly.
	var receipts []string
	for _, pod := range pods {
		s.do(t, chromedp.Navigate(pod.String()+"/payment/"+refid), chromedp.WaitVisible(chromedp.CSS(`#order[data-state="paid"]`)))
		receipts = append(receipts, s.text(t, "#receipt"))
	}
	assert.Equal(t, receipts[0], receipts[1], "the same receipt everywhere")
	assert.Contains(t, receipts[0], "RM 88.20")

	// The callback reached a pod through the load balancer, and is a row of
	// the payment's history.
	l, err := ledger.Open(context.Background(), db)
	require.NoError(t, err)
	defer l.Close()
	history, err := l.History(context.Background(), refid)
	require.NoError(t, err)
	callbacks := 0
	for _, e := range history {
		if e.Kind == "callback" {
			callbacks++
		}
	}
	assert.GreaterOrEqual(t, callbacks, 1, "the vendor's callback is in the ledger")

	// Both pods killed while a payment is processed; one restarted asks
	// about it by itself.
	srv.Set("TNB", "100000000502", iimmpacttest.ValidBill(iimmpacttest.Data{"Outstanding": json.Number("12.00")}))
	srv.SetPaymentSteps(2) // accepted, then processing: only an ask moves it on
	srv.SetCallbackURL("") // and no callback asks for it
	s.lookUp(t, lb.URL, "en", "TNB", "100000000502")
	s.do(t, chromedp.Click(chromedp.CSS("#proceed")), chromedp.WaitVisible(chromedp.CSS(`#order[data-state="processing"]`)))
	s.do(t, chromedp.Navigate("about:blank")) // the shopper leaves: no page loads from here on
	for _, p := range procs {
		require.NoError(t, p.Process.Kill())
		_ = p.Wait()
	}
	for drained := false; !drained; {
		select {
		case <-front.ch:
		default:
			drained = true
		}
	}
	restarted := time.Now()
	runCheckout(t, bin, env, args...)
	select {
	case <-front.ch:
		t.Logf("the restarted pod asked after %s", time.Since(restarted).Round(time.Millisecond))
		assert.Less(t, time.Since(restarted), 20*time.Second)
	case <-time.After(20 * time.Second):
		t.Fatal("the restarted pod did not ask about the payment within 20 s")
	}
	assert.Equal(t, 1, srv.Charges("100000000502"))
}
