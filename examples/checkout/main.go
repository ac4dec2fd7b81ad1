// Command checkout is a small web checkout that follows the vendor's flow: on
// "Check bill" it asks for the biller's network status and the bill at once,
// warns when the biller is having trouble without stopping the payment, shows
// the amount due and the due date first, only the fields the API returned,
// and the block message when the payment must stop; it decides again on the
// server before a payment starts, keeps the account number out of every URL,
// refuses cross-site posts, and never hangs on a slow biller. It speaks
// English and Bahasa Malaysia.
//
//	go run ./examples/checkout            # then open http://127.0.0.1:8080
//	go run ./examples/checkout -products billers.csv
//
// With none of IIMMPACT_API_KEY, IIMMPACT_HMAC_SECRET and IIMMPACT_BASE_URL set
// it uses the built-in sandbox and offers its billers; with only some of them
// set it refuses to start. SIGINT and SIGTERM shut it down gracefully.
package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/examples/internal/setup"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	timeout := flag.Duration("timeout", 5*time.Second, "deadline for a lookup: the network status and the bill together")
	products := flag.String("products", "", "CSV `file` of the billers to offer: product,name[,biller_code,needs_ref2] (the sandbox's when it runs)")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := serve(*addr, *timeout, *products, logger); err != nil {
		fmt.Fprintln(os.Stderr, "checkout:", err)
		os.Exit(2)
	}
}

func serve(addr string, timeout time.Duration, products string, logger *slog.Logger) error {
	client, sandbox, err := setup.Client(iimmpact.WithLogger(logger))
	if err != nil {
		return fmt.Errorf("%w\n%s", err, setup.Hint)
	}
	var billers catalog
	switch {
	case products != "":
		if billers, err = readCatalog(products); err != nil {
			return err
		}
	case sandbox != nil:
		billers = sandboxCatalog(sandbox)
	}
	if sandbox != nil {
		defer sandbox.Close()
		logger.Info("no IIMMPACT_ variables are set: using the built-in sandbox", "sample_account", "AKSB 1234567890")
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	server := &http.Server{Handler: NewHandler(client, timeout, logger, billers), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(shutdown)
	}()
	logger.Info("checkout listening", "url", "http://"+ln.Addr().String())
	if err := server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
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

func parseCatalog(r io.Reader) (catalog, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	records, err := cr.ReadAll()
	if err != nil {
		return catalog{}, fmt.Errorf("-products: %w", err)
	}
	var c catalog
	for i, rec := range records {
		if i == 0 {
			continue // the header
		}
		for len(rec) < 4 {
			rec = append(rec, "")
		}
		b := biller{Product: strings.ToUpper(strings.TrimSpace(rec[0])), Name: strings.TrimSpace(rec[1]), Code: strings.TrimSpace(rec[2]),
			NeedsRef2: strings.EqualFold(strings.TrimSpace(rec[3]), "yes")}
		switch {
		case b.Product == "" || b.Name == "":
			return catalog{}, fmt.Errorf("-products: line %d needs a product and a name", i+1)
		case b.Product == "JOMPAY" && b.Code == "":
			return catalog{}, fmt.Errorf("-products: line %d is a JomPAY biller without its biller_code", i+1)
		case b.Product == "JOMPAY":
			c.JomPAY = append(c.JomPAY, b)
		default:
			c.Products = append(c.Products, b)
		}
	}
	return c, nil
}
