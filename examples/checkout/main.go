// Command checkout is a small web checkout that follows the vendor's flow: on
// "Check bill" it asks for the biller's network status and the bill at once,
// warns when the biller is having trouble without stopping the payment, shows
// the amount due and the due date first, only the fields the API returned,
// and the block message when the payment must stop; it decides again on the
// server before a payment starts, keeps the account number out of every URL,
// refuses cross-site posts, and never hangs on a slow biller. It speaks
// English and Bahasa Malaysia.
//
//	go -C examples run ./checkout            # then open http://127.0.0.1:8080
//	go -C examples run ./checkout -products billers.csv
//
// With none of IIMMPACT_API_KEY, IIMMPACT_HMAC_SECRET and IIMMPACT_BASE_URL set
// it uses the built-in sandbox and offers its billers; with only some of them
// set it refuses to start. SIGINT and SIGTERM shut it down gracefully.
package main

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/examples/internal/cli"
	"github.com/iimmpact-go/iimmpact/examples/internal/jobfile"
	"github.com/iimmpact-go/iimmpact/examples/internal/setup"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
	"github.com/iimmpact-go/iimmpact/ledger"
)

const usage = `usage: checkout [flags]

Serves a checkout page that follows the vendor's flow: check the bill (the
biller's network status and the bill at once), then pay it through the SDK's
Pay, exactly once: a receipt when paid, a page that asks again while the
payment is processed, "not charged" when it was refused. The vendor's
callbacks are taken at /iimmpact/callback.

Flags:
`

const moreUsage = `
Environment:
  IIMMPACT_API_KEY      the API key (iimm_prod_... or iimm_dev_...)
  IIMMPACT_HMAC_SECRET  the Base64 HMAC secret from the dashboard
  IIMMPACT_BASE_URL     optional: another server (an iimm_dev_ key calls staging by itself)
  With none of the three set, the checkout runs on the built-in sandbox,
  iimmpacttest, in-process: its billers are offered, its wallet pays, and it
  calls the checkout back from loopback. Setting only some of them is an error.
  CHECKOUT_SECRET       the key the checkout signs its refids and pay forms
                        with, Base64 of 32 random bytes, the same on every pod
                        (unset: one drawn for this process alone)
  DATABASE_URL          the ledger, when -db is not given
  IIMMPACT_LEDGER_KEY   the key that seals IC numbers and Ref-2 in the ledger,
                        Base64 of 32 random bytes (unset: one derived from
                        CHECKOUT_SECRET)

Several pods (-db):
  Every payment, its receipt and its callbacks live in the ledger, a SQLite
  file by default (one process) or PostgreSQL for a fleet: give every pod
  the same -db postgres://... and the same CHECKOUT_SECRET. Then any pod
  shows any payment's processing page and receipt; a callback reaching any
  pod is recorded and confirmed by asking; a double submit on two pods pays
  once (one request at a time decides and sends a refid, and the ledger
  refuses another payment under it); and every pod asks on its own, every
  5 s, about the payments still open, so one restarted mid-payment resumes
  by itself.

Paying only what it showed:
  A pay form carries a refid the checkout minted and a token over the refid,
  the bill (product, account, biller code, Ref-2), the most it may pay (the
  amount due, or -max-amount when the biller shows none) and an expiry (an
  hour). A form it did not mint, or one changed in any of these, is refused
  before anything is sent. A bill that owes nothing offers no payment.

Deploying:
  SIGINT or SIGTERM stops accepting connections, lets the requests in flight
  finish (up to 25 s: a payment in flight is never cut off), then exits.
  Behind a reverse proxy, name it with -trusted-proxies so the callback
  handler reads X-Forwarded-For from it, and set the callback URL in the
  vendor's dashboard to https://YOUR-HOST/iimmpact/callback (on the real API
  the checkout reads it at start and warns when it does not end so).

What the exit statuses mean for the checkout: 0, it was stopped by SIGINT or
SIGTERM and finished the requests in flight; 2, a bad flag or environment, or
an address it could not listen on; 3, a ledger that did not answer at start
(start it again, as a supervisor does).

Examples:
  checkout                                  # the sandbox, on http://127.0.0.1:8080
  checkout -addr :8443 -products billers.csv -trusted-proxies 10.0.0.0/8
`

// flags are the command line's settings.
type flags struct {
	addr, products, db string
	cfg                Config
}

func main() {
	f, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err == nil {
		f.cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		err = serve(ctx, f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "checkout:", err)
		os.Exit(exitOf(err))
	}
}

// errLedger marks the errors of opening the ledger.
var errLedger = errors.New("the ledger")

// exitOf is the exit status of a checkout that could not start.
func exitOf(err error) int {
	if errors.Is(err, errLedger) {
		return setup.LedgerExit(err)
	}
	return cli.ExitUsage
}

// parseFlags reads the command line; -h prints the usage to out.
func parseFlags(args []string, out io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("checkout", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&f.db, "db", "", "the ledger's `URL`, shared by every pod: sqlite:PATH or postgres://... (default: DATABASE_URL, else sqlite:"+defaultLedger+" in the working directory)")
	fs.DurationVar(&f.cfg.Timeout, "timeout", 5*time.Second, "deadline for a lookup: the network status and the bill together")
	fs.DurationVar(&f.cfg.PayTimeout, "pay-timeout", 20*time.Second, "deadline for one payment call; past it the page says the payment is being processed")
	fs.StringVar(&f.products, "products", "", "CSV `file` of the billers to offer, its first line naming the columns product,name[,biller_code,needs_ref2] (the sandbox's when it runs)")
	maxAmount := fs.String("max-amount", "1000.00", "the most a shopper may pay, in ringgit, when the biller shows no amount due (a shown bill caps it at what is owed)")
	callbackIPs := fs.String("callback-ips", "", "comma-separated `prefixes` to take callbacks from, instead of the vendor's callback IPs (staging and tests only)")
	proxies := fs.String("trusted-proxies", "", "comma-separated `prefixes` of the reverse proxies in front of the checkout")
	fs.Usage = func() {
		_, _ = io.WriteString(out, usage)
		fs.PrintDefaults()
		_, _ = io.WriteString(out, moreUsage)
		_, _ = io.WriteString(out, cli.ExitTable)
	}
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	var err error
	if f.cfg.CallbackIPs, err = prefixes(*callbackIPs); err == nil {
		f.cfg.TrustedProxies, err = prefixes(*proxies)
	}
	if err == nil {
		f.cfg.MaxAmount, err = iimmpact.ParseAmount(*maxAmount)
		if err != nil || f.cfg.MaxAmount.Sen() <= 0 {
			err = fmt.Errorf("-max-amount must be a positive amount such as 1000.00, not %q", *maxAmount)
		}
	}
	if err == nil {
		f.cfg.Secret, err = secretFromEnv()
	}
	return f, err
}

// secretFromEnv reads CHECKOUT_SECRET, the key every pod signs its refids
// and pay forms with: Base64 of at least 32 bytes. Unset, each process
// draws its own (forms do not survive a restart, nor cross pods).
func secretFromEnv() ([]byte, error) {
	v := os.Getenv("CHECKOUT_SECRET")
	if v == "" {
		return nil, nil
	}
	key, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(key) < 32 {
		return nil, errors.New("CHECKOUT_SECRET must be Base64 of at least 32 random bytes (openssl rand -base64 32)")
	}
	return key, nil
}

// prefixes reads a comma-separated list of addresses or prefixes; nil for "".
func prefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			a, aerr := netip.ParseAddr(item)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not an address or a prefix such as 10.0.0.0/8", item)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p)
	}
	return out, nil
}

// shutdownGrace is how long requests in flight may finish after a signal.
const shutdownGrace = 25 * time.Second

// defaultLedger is the SQLite ledger's file when neither -db nor
// DATABASE_URL names one.
const defaultLedger = "checkout-ledger.db"

// openLedger opens the ledger of -db (or DATABASE_URL, or the default). Its
// key seals IC numbers and Ref-2: IIMMPACT_LEDGER_KEY, or else one derived
// from the checkout's secret, which every pod shares.
func openLedger(ctx context.Context, db string, secret []byte) (*ledger.Ledger, error) {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("iimmpact-go checkout: the ledger's key"))
	return setup.Ledger(ctx, cmp.Or(db, os.Getenv("DATABASE_URL"), "sqlite:"+defaultLedger), mac.Sum(nil))
}

// serve runs the checkout until ctx ends, then shuts it down gracefully.
func serve(ctx context.Context, f flags) error {
	addr, products, cfg := f.addr, f.products, f.cfg
	client, sandbox, err := setup.Client(iimmpact.WithLogger(cfg.Logger))
	if err != nil {
		return fmt.Errorf("%w\n%s", err, setup.Hint)
	}
	if sandbox != nil {
		defer sandbox.Close()
	}
	if cfg.Secret == nil {
		if sandbox == nil {
			cfg.Logger.Warn(noSecret)
		}
		cfg.Secret = make([]byte, 32)
		_, _ = rand.Read(cfg.Secret) // never fails; see crypto/rand.Read
	}
	if cfg.Ledger, err = openLedger(ctx, f.db, cfg.Secret); err != nil {
		return fmt.Errorf("%w: %w", errLedger, err)
	}
	defer cfg.Ledger.Close()
	switch {
	case products != "":
		if cfg.Billers, err = readCatalog(products); err != nil {
			return err
		}
	case sandbox != nil:
		cfg.Billers = sandboxCatalog(sandbox)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if sandbox != nil {
		if cfg.CallbackIPs == nil {
			cfg.CallbackIPs = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
		}
		sandbox.SetCallbackURL("http://" + ln.Addr().String() + callbackPath)
		cfg.Logger.Info("no IIMMPACT_ variables are set: using the built-in sandbox", "sample_account", "AKSB 1234567890")
	}
	if sandbox == nil {
		checkCallbackURL(ctx, client, cfg.Logger, cfg.Timeout)
	}
	h := NewHandler(client, cfg)
	resumed := make(chan struct{})
	go func() { defer close(resumed); h.Resume(ctx) }()
	defer func() { <-resumed }()
	return run(ctx, ln, h, cfg.Logger, bodyTimeout)
}

// noSecret is the warning of a checkout on the real API without
// CHECKOUT_SECRET: it still pays safely, but what it minted is its own.
const noSecret = "CHECKOUT_SECRET is not set: this process signs its refids and pay forms with a key of its own, " +
	"so other pods, and this one after a restart, refuse the forms it served; unless IIMMPACT_LEDGER_KEY is set, " +
	"a JomPAY payment pending at a restart cannot be asked about either (set CHECKOUT_SECRET, the same on every pod)"

// callbackPath is where the checkout takes the vendor's callbacks.
const callbackPath = "/iimmpact/callback"

// checkCallbackURL reads the callback URL set at the vendor and warns when
// it does not lead to callbackPath: the vendor tries a callback 3 times, a
// minute apart, and then it is lost, so a wrong setting would leave every
// payment confirmed only by asking. It never stops the start.
func checkCallbackURL(ctx context.Context, client *iimmpact.Client, logger *slog.Logger, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	set, err := client.CallbackURL(ctx)
	want := "set the callback URL in the vendor's dashboard to https://YOUR-HOST" + callbackPath
	if err != nil {
		logger.Warn("the vendor's callback URL could not be read: "+want, "error", err.Error())
		return
	}
	u, err := url.Parse(set.URL)
	if err != nil {
		u = &url.URL{}
	}
	shown := u.Scheme + "://" + u.Host + u.Path // never its query or user: a token may hide there
	if u.Host == "" || !strings.HasSuffix(u.Path, callbackPath) {
		logger.Warn("the vendor's callback URL does not lead to this checkout, so callbacks are lost: "+want, "callback_url", shown)
		return
	}
	logger.Info("the vendor's callback URL leads to a checkout", "callback_url", shown, "method", set.Method)
}

// bodyTimeout bounds reading a whole request, its body included: a client
// that stalls mid-body does not hold its connection.
const bodyTimeout = 20 * time.Second

// run serves h on ln until ctx ends; then it stops accepting, lets the
// requests in flight finish within shutdownGrace, and returns.
func run(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger, readTimeout time.Duration) error {
	server := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       readTimeout,
		WriteTimeout:      60 * time.Second, // above the lookup's and the payment's own deadlines
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
	}
	done := make(chan error, 1)
	go func() {
		<-ctx.Done()
		logger.Info("stopping: finishing the requests in flight", "grace", shutdownGrace)
		shutdown, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		done <- server.Shutdown(shutdown)
	}()
	logger.Info("checkout listening", "url", "http://"+ln.Addr().String())
	if err := server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return <-done // Serve returns at once on Shutdown; the requests in flight end here
}

// sandboxCatalog offers the sandbox's products and JomPAY billers.
func sandboxCatalog(srv *iimmpacttest.Server) catalog {
	var c catalog
	for _, p := range iimmpacttest.Products() {
		if p.Code != "JOMPAY" {
			c.Products = append(c.Products, biller{Product: p.Code, Name: p.Name})
		}
	}
	for _, b := range srv.JomPAYBillers() {
		c.JomPAY = append(c.JomPAY, biller{Product: "JOMPAY", Code: b.Code, Name: b.Name, NeedsRef2: b.NeedsRef2})
	}
	return c
}

// readCatalog reads a -products file: a header, then product,name and, for
// JomPAY billers, biller_code and needs_ref2 (yes or no).
func readCatalog(name string) (catalog, error) {
	f, err := os.Open(name)
	if err != nil {
		return catalog{}, err
	}
	defer f.Close()
	return parseCatalog(f)
}

// catalogColumns are a -products file's columns; product and name are
// required.
var catalogColumns = []string{"product", "name", "biller_code", "needs_ref2"}

func parseCatalog(r io.Reader) (catalog, error) {
	rows, err := jobfile.ReadCSV(r, catalogColumns, catalogColumns[:2])
	if err != nil {
		return catalog{}, fmt.Errorf("-products: %w (the first line names the columns: %s)", err, strings.Join(catalogColumns, ","))
	}
	var c catalog
	for row := range rows {
		if row.Err != nil {
			return catalog{}, fmt.Errorf("-products: %w", row.Err)
		}
		f := row.Fields
		b := biller{Product: strings.ToUpper(strings.TrimSpace(f["product"])), Name: strings.TrimSpace(f["name"]), Code: strings.TrimSpace(f["biller_code"]),
			NeedsRef2: strings.EqualFold(strings.TrimSpace(f["needs_ref2"]), "yes")}
		switch {
		case b.Product == "" || b.Name == "":
			return catalog{}, fmt.Errorf("-products: line %d needs a product and a name", row.Line)
		case b.Product == "JOMPAY" && b.Code == "":
			return catalog{}, fmt.Errorf("-products: line %d is a JomPAY biller without its biller_code", row.Line)
		case b.Product == "JOMPAY":
			c.JomPAY = append(c.JomPAY, b)
		default:
			c.Products = append(c.Products, b)
		}
	}
	if len(c.Products)+len(c.JomPAY) == 0 {
		return catalog{}, errors.New("-products: the file names no biller: after the header line (product,name,biller_code,needs_ref2), one biller a line")
	}
	return c, nil
}
