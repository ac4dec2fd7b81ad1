// Package browser drives the checkout in a real headless Chromium, as a
// shopper would use it, and keeps a screenshot of every state. It is a module
// of its own so that chromedp never enters the SDK's requirements.
//
//	cd examples/checkout/browser && go test ./...
//
// The screenshots land in SCREENSHOTS (default: ./screenshots).
package browser

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

// chromium is the browser .ci/run installs (Debian's), or the test is skipped
// with the reason when it runs elsewhere; under CI its absence is a failure.
func chromium(t *testing.T) string {
	for _, p := range []string{os.Getenv("IIMMPACT_TEST_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed: .ci/run installs Debian's chromium")
	}
	t.Skip("chromium is not installed; bash .ci/run installs it")
	return ""
}

// startCheckout builds and runs the checkout on the built-in sandbox and
// returns its URL.
func startCheckout(t *testing.T) string {
	t.Helper()
	return startCheckoutWith(t, nil)
}

// startCheckoutWith runs the checkout with env (nil: no IIMMPACT_ variable,
// the built-in sandbox) and args.
func startCheckoutWith(t *testing.T, env []string, args ...string) string {
	t.Helper()
	url, _ := runCheckout(t, buildCheckout(t), env, append([]string{"-db", "sqlite:" + filepath.Join(t.TempDir(), "ledger.db")}, args...)...)
	return url
}

// buildCheckout builds the checkout and returns the binary's path.
func buildCheckout(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "checkout")
	build := exec.Command("go", "build", "-o", bin, "./checkout")
	build.Dir = ".." + string(filepath.Separator) + ".." // the examples module
	build.Env = append(os.Environ(), "GOWORK=off")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// runCheckout runs the checkout binary with env and args until the test
// ends (SIGINT), and returns its URL and its process.
func runCheckout(t *testing.T, bin string, env []string, args ...string) (string, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	found := make(chan string, 1)
	var logMu sync.Mutex
	var logs []string
	t.Cleanup(func() { // the checkout's log, to read when a test failed
		if t.Failed() {
			logMu.Lock()
			t.Logf("the checkout's log:\n%s", strings.Join(logs, "\n"))
			logMu.Unlock()
		}
	})
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`checkout listening" url=(\S+)`)
		for sc.Scan() {
			logMu.Lock()
			logs = append(logs, sc.Text())
			logMu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case u := <-found:
		return u, cmd
	case <-time.After(30 * time.Second):
		t.Fatal("the checkout did not start")
		return "", nil
	}
}

// shopper is one browser tab of a given size, recording every URL it asks
// for.
type shopper struct {
	ctx  context.Context
	mu   sync.Mutex
	urls []string
}

func newShopper(t *testing.T, exe string, width, height int) *shopper {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(width, height))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	s := &shopper{ctx: ctx}
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			s.mu.Lock()
			s.urls = append(s.urls, e.Request.URL)
			s.mu.Unlock()
		}
	}))
	_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
	require.NoError(t, err)
	s.do(t, chromedp.EmulateViewport(int64(width), int64(height)))
	return s
}

func (s *shopper) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, steps...))
}

// eval runs a JavaScript expression in the page.
func eval[T any](t *testing.T, s *shopper, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	require.NoError(t, err, js)
	return v
}

func (s *shopper) text(t *testing.T, sel string) string {
	return strings.Join(strings.Fields(eval[string](t, s, fmt.Sprintf(`document.querySelector(%q).innerText`, sel))), " ")
}

// visible reports whether sel is on the screen without scrolling.
func (s *shopper) visible(t *testing.T, sel string) bool {
	return eval[bool](t, s, fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0 })()`, sel))
}

// visibleText is what the shopper reads, pseudo-elements included.
func (s *shopper) visibleText(t *testing.T, sel string) string {
	return strings.Join(strings.Fields(eval[string](t, s, fmt.Sprintf(
		`(() => { const e = document.querySelector(%q); return getComputedStyle(e, '::before').content.replace(/^"|"$/g, '') + e.innerText })()`, sel))), " ")
}

func (s *shopper) screenshot(t *testing.T, name string) {
	dir := os.Getenv("SCREENSHOTS")
	if dir == "" {
		dir = "screenshots"
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	png, err := chromedp.Run(s.ctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	path := filepath.Join(dir, name+".png")
	require.NoError(t, os.WriteFile(path, png, 0o644))
	abs, _ := filepath.Abs(path)
	t.Logf("screenshot: %s", abs)
}

// lookUp fills the bills form as a shopper does and checks the bill.
func (s *shopper) lookUp(t *testing.T, base, lang, product, account string) {
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(base + "/?lang=" + lang), chromedp.WaitVisible(chromedp.CSS("#lookup")),
		chromedp.SetValue(chromedp.CSS("#product"), product),
	}
	if account != "" {
		steps = append(steps, chromedp.SendKeys(chromedp.CSS("#account"), account))
	}
	s.do(t, append(steps, chromedp.Click(chromedp.CSS("#check")), chromedp.WaitVisible(chromedp.CSS("#bill, .field-error")))...)
}

func TestTheCheckoutAsAShopperSeesIt(t *testing.T) {
	exe := chromium(t)
	base := startCheckout(t)
	type state struct {
		name            string
		product, acct   string
		jompay          bool
		action          string
		amount          string
		canPay, warning bool
	}
	states := []state{
		{name: "show", product: "AKSB", acct: "1234567890", action: "show", amount: "RM 45.94", canPay: true},
		{name: "hide", product: "DIGI", acct: "0123456789", action: "hide", canPay: true},
		{name: "block", product: "AKSB", acct: "0000000000", action: "block"},
		{name: "interruption", product: "SYABAS", acct: "3000000001", action: "hide", canPay: true, warning: true},
		{name: "jompay", jompay: true, action: "show", amount: "RM 356.00", canPay: true},
		{name: "nothing-due", product: "TNB", acct: "220000000000", action: "show"},
	}
	for _, size := range [][2]int{{390, 844}, {1280, 800}} {
		for _, lang := range []string{"en", "ms"} {
			t.Run(fmt.Sprintf("%s-%d", lang, size[0]), func(t *testing.T) {
				s := newShopper(t, exe, size[0], size[1])
				for _, st := range states {
					if st.jompay {
						s.do(t, chromedp.Navigate(base+"/?lang="+lang), chromedp.Click(chromedp.CSS("#tab-jompay")),
							chromedp.WaitVisible(chromedp.CSS("#biller_code")),
							chromedp.SetValue(chromedp.CSS("#biller_code"), "5454"),
							chromedp.SendKeys(chromedp.CSS("#account"), "8800123456"),
							chromedp.SendKeys(chromedp.CSS("#ref2"), "PJ-2025-001"),
							chromedp.Click(chromedp.CSS("#check")), chromedp.WaitVisible(chromedp.CSS("#bill")))
					} else {
						s.lookUp(t, base, lang, st.product, st.acct)
					}
					assert.Equal(t, st.action, eval[string](t, s, `document.querySelector('#bill').dataset.action`), st.name)
					if st.name == "nothing-due" {
						nothing := map[string]string{"en": "Nothing to pay", "ms": "Tiada apa-apa perlu dibayar"}[lang]
						assert.Equal(t, nothing, s.text(t, "#amount-due"), "never RM 0.00 to pay")
						assert.False(t, eval[bool](t, s, `!!document.querySelector('#proceed') || !!document.querySelector('#due-date')`), "no pay button, no date to pay by")
						s.screenshot(t, fmt.Sprintf("%s-%s-%d", st.name, lang, size[0]))
						continue
					}
					assert.Equal(t, st.canPay, !eval[bool](t, s, `document.querySelector('#proceed').disabled`), "%s: the button's state", st.name)
					assert.True(t, s.visible(t, "#proceed"), "%s: the button is on screen without scrolling", st.name)
					if st.amount != "" {
						assert.Equal(t, st.amount, s.text(t, "#amount-due"), st.name)
						assert.True(t, eval[bool](t, s, `(() => { const a = document.querySelector('#amount-due').getBoundingClientRect(), f = document.querySelector('#fields'); return !f || a.top < f.getBoundingClientRect().top })()`),
							"%s: the amount comes before the other fields", st.name)
						assert.True(t, eval[bool](t, s, `parseFloat(getComputedStyle(document.querySelector('#amount-due')).fontSize) >= 1.8 * parseFloat(getComputedStyle(document.body).fontSize)`),
							"%s: the amount is the largest text", st.name)
						assert.True(t, s.visible(t, "#amount-due"))
					}
					if st.warning {
						assert.True(t, s.visible(t, "#interruption"), "the interruption banner")
					}
					if st.action == "block" {
						want := map[string]string{"en": "The account number is not valid.", "ms": "Nombor akaun tidak sah."}[lang]
						assert.Contains(t, s.text(t, "#block-message"), want)
					}
					s.screenshot(t, fmt.Sprintf("%s-%s-%d", st.name, lang, size[0]))
				}

				// A form error, on its field.
				s.lookUp(t, base, lang, "AKSB", "")
				assert.Equal(t, "true", eval[string](t, s, `document.querySelector('#account').getAttribute('aria-invalid')`))
				assert.Equal(t, map[string]string{"en": "⚠ Account number is required.", "ms": "⚠ Nombor akaun diperlukan."}[lang], s.visibleText(t, "#err-account"))
				assert.Equal(t, "rgb(180, 35, 24)", eval[string](t, s, `getComputedStyle(document.querySelector('#account')).borderTopColor`), "the field looks wrong")
				assert.Equal(t, "400", eval[string](t, s, `getComputedStyle(document.querySelector('#account')).fontWeight`), "an empty field does not look filled in")
				assert.True(t, s.visible(t, "#err-account"))
				s.screenshot(t, fmt.Sprintf("form-error-%s-%d", lang, size[0]))

				s.mu.Lock()
				defer s.mu.Unlock()
				require.NotEmpty(t, s.urls)
				for _, u := range s.urls {
					for _, secret := range []string{"1234567890", "0000000000", "0123456789", "3000000001", "8800123456", "PJ-2025-001"} {
						assert.NotContains(t, u, secret, "no account number in any URL the browser visited")
					}
				}
			})
		}
	}
}

// TestPayingAsAShopper pays through the checkout in a real browser, against
// a sandbox of the test's own so it can count the charges: paid, pending
// then paid, refused for a short wallet, and a double submit that charges
// once, in English and Bahasa Malaysia on a phone.
func TestPayingAsAShopper(t *testing.T) {
	exe := chromium(t)
	srv := iimmpacttest.NewServer()
	t.Cleanup(srv.Close)
	// Each payment has a bill of its own: a bill paid owes nothing after,
	// and a bill that owes nothing offers no payment.
	accounts := map[string]map[string]string{}
	for i, lang := range []string{"en", "ms"} {
		accounts[lang] = map[string]string{}
		for j, use := range []string{"paid", "processing", "refused", "double"} {
			product, owed := "AKSB", "45.94"
			if use == "processing" || use == "double" {
				product, owed = "TNB", "120.50"
			}
			account := fmt.Sprintf("10000000%d%d", i, j)
			srv.Set(product, account, iimmpacttest.ValidBill(iimmpacttest.Data{"Outstanding": json.Number(owed)}))
			accounts[lang][use] = account
		}
	}
	base := startCheckoutWith(t, []string{"IIMMPACT_API_KEY=" + srv.APIKey, "IIMMPACT_HMAC_SECRET=" + srv.HMACSecret, "IIMMPACT_BASE_URL=" + srv.URL},
		"-callback-ips", "127.0.0.1/32,::1/128", "-products", writeProducts(t))
	srv.SetCallbackURL(base + "/iimmpact/callback")
	titles := map[string][4]string{ // paid, processing, refused: the titles; and "not charged"
		"en": {"✓ Payment successful", "Payment being processed", "Payment not made", "You have not been charged."},
		"ms": {"✓ Pembayaran berjaya", "Pembayaran sedang diproses", "Pembayaran tidak dibuat", "Anda tidak dicaj."},
	}
	for _, lang := range []string{"en", "ms"} {
		t.Run(lang, func(t *testing.T) {
			s := newShopper(t, exe, 390, 844)
			want := titles[lang]
			acct := accounts[lang]
			// pay checks a bill and pays amount, at most what it owes.
			pay := func(product, account, amount string) {
				s.lookUp(t, base, lang, product, account)
				require.True(t, s.visible(t, "#proceed"), "the pay button is on screen")
				s.do(t, chromedp.SetValue(chromedp.CSS("#pay-amount"), amount), chromedp.Click(chromedp.CSS("#proceed")),
					chromedp.WaitVisible(chromedp.CSS("#order")))
			}

			pay("AKSB", acct["paid"], "45.94")
			assert.Equal(t, "paid", eval[string](t, s, `document.querySelector('#order').dataset.state`))
			assert.Equal(t, want[0], s.text(t, "#order-title"))
			assert.Equal(t, "RM 45.94", s.text(t, "#paid-amount"))
			assert.True(t, s.visible(t, "#paid-amount"))
			assert.Equal(t, "••••••"+acct["paid"][6:], eval[string](t, s, `document.querySelector('#receipt dd[data-key="account"]').textContent`))
			assert.Equal(t, 1, srv.Charges(acct["paid"]))
			s.screenshot(t, "paid-"+lang+"-390")
			// The language switch keeps the receipt, in the other language.
			other := map[string]string{"en": "ms", "ms": "en"}[lang]
			s.do(t, chromedp.Click(chromedp.CSS("#lang-switch")), chromedp.WaitVisible(chromedp.CSS(`html[lang="`+other+`"] #order[data-state="paid"]`)))
			assert.Equal(t, titles[other][0], s.text(t, "#order-title"))

			srv.SetPaymentSteps(1)
			loads := s.pageLoads(t)
			pay("TNB", acct["processing"], "120.50")
			srv.SetPaymentSteps(0) // for the payments after this one
			assert.Equal(t, "processing", eval[string](t, s, `document.querySelector('#order').dataset.state`))
			assert.Equal(t, want[1], s.text(t, "#order-title"))
			s.screenshot(t, "processing-"+lang+"-390")
			// The page asks again by itself (a meta refresh; no script):
			// each page it loads is read until one says paid.
			s.waitForState(t, loads, "paid")
			assert.Equal(t, want[0], s.text(t, "#order-title"))
			s.screenshot(t, "processing-then-paid-"+lang+"-390")

			srv.SetBalance("1.00")
			pay("AKSB", acct["refused"], "45.94")
			assert.Equal(t, "refused", eval[string](t, s, `document.querySelector('#order').dataset.state`))
			assert.Equal(t, want[2], s.text(t, "#order-title"))
			assert.Contains(t, s.text(t, "#not-charged"), want[3])
			assert.Zero(t, srv.Charges(acct["refused"]), "not charged")
			s.screenshot(t, "refused-"+lang+"-390")
			srv.SetBalance("1000.00")

			// A double click, then back and submit the bill page again: one
			// charge, and the resubmitted page is that payment's receipt.
			account := acct["double"]
			s.lookUp(t, base, lang, "TNB", account)
			s.do(t, chromedp.SetValue(chromedp.CSS("#pay-amount"), "10.00"), chromedp.DoubleClick(chromedp.CSS("#proceed")),
				chromedp.WaitVisible(chromedp.CSS(`#order[data-state="paid"]`)))
			// Back to the bill page (a POST answered no-store: Chromium asks to
			// resubmit it), then resubmit it.
			back, cancel := context.WithTimeout(s.ctx, 30*time.Second)
			_ = chromedp.Do(back, chromedp.NavigateBack()) // net::ERR_CACHE_MISS until it is resubmitted
			cancel()
			s.do(t, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#order[data-state="paid"]`)))
			assert.False(t, eval[bool](t, s, `!!document.querySelector('#proceed')`), "no pay button on the receipt")
			assert.Equal(t, 1, srv.Charges(account), "a double submit and a resubmit charge once")
			s.screenshot(t, "double-submit-"+lang+"-390")

			s.mu.Lock()
			defer s.mu.Unlock()
			for _, u := range s.urls {
				for _, secret := range acct {
					assert.NotContains(t, u, secret, "no account number in any URL the browser visited")
				}
			}
		})
	}
}

// pageLoads reports every page the tab finishes loading, the ones the page
// loads by itself included.
func (s *shopper) pageLoads(t *testing.T) <-chan struct{} {
	loads := make(chan struct{}, 64)
	require.NoError(t, chromedp.Listen(s.ctx, func(ev any) {
		if _, ok := ev.(*page.EventLoadEventFired); ok {
			select {
			case loads <- struct{}{}:
			default:
			}
		}
	}))
	return loads
}

// waitForState reads the order's state after each page load until it is
// want, for at most 30 s.
func (s *shopper) waitForState(t *testing.T, loads <-chan struct{}, want string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case <-loads:
			ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
			state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const o = document.querySelector('#order'); return o ? o.dataset.state : '' })()`))
			cancel()
			if err == nil && state == want {
				return
			}
		case <-deadline:
			t.Fatalf("the page never showed %s", want)
		}
	}
}

// writeProducts is the billers the checkout offers when it runs on a
// sandbox of the test's own.
func writeProducts(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "billers.csv")
	require.NoError(t, os.WriteFile(path, []byte("product,name\nAKSB,Air Kelantan\nTNB,Tenaga Nasional Berhad\n"), 0o600))
	return path
}
