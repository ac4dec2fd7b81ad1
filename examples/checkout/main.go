// Command checkout is a small web checkout that uses bill presentment the way it
// is meant to be used: it shows only the fields the API returned, shows the
// block message when the payment must stop, decides again on the server before
// a payment starts, and never hangs on a slow biller. It speaks English and
// Bahasa Malaysia.
//
//	go run ./examples/checkout            # then open http://127.0.0.1:8080
//
// With none of IIMMPACT_API_KEY, IIMMPACT_HMAC_SECRET and IIMMPACT_BASE_URL set
// it uses the built-in sandbox; with only some of them set it refuses to start.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/examples/internal/setup"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	timeout := flag.Duration("timeout", 5*time.Second, "deadline for the bill presentment call")
	products := flag.String("products", "", "comma-separated product codes to offer in the list (the sandbox's when it runs)")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	client, sandbox, err := setup.Client(iimmpact.WithLogger(logger))
	if err != nil {
		fmt.Fprintf(os.Stderr, "checkout: %v\n%s\n", err, setup.Hint)
		os.Exit(2)
	}
	offered := strings.FieldsFunc(*products, func(r rune) bool { return r == ',' || r == ' ' })
	if sandbox != nil {
		defer sandbox.Close()
		for _, s := range iimmpacttest.Samples() {
			if s.Product != "JOMPAY" && !slices.Contains(offered, s.Product) {
				offered = append(offered, s.Product)
			}
		}
		logger.Info("no IIMMPACT_ variables are set: using the built-in sandbox", "sample_account", "AKSB 1234567890")
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "checkout:", err)
		os.Exit(2)
	}
	server := &http.Server{
		Handler:           NewHandler(client, *timeout, logger, offered),
		ReadHeaderTimeout: 10 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(shutdown)
	}()
	logger.Info("checkout listening", "url", "http://"+ln.Addr().String())
	if err := server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "checkout:", err)
		os.Exit(1)
	}
}
