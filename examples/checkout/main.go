// Command checkout is a small web checkout that uses bill presentment the way it
// is meant to be used: it shows only the fields the API returned, shows the
// block message when the payment must stop, and enables "Proceed to payment"
// exactly when the decision allows it. A slow biller never hangs the page: the
// upstream call has a deadline, and when it passes the customer can still pay.
//
//	go run ./examples/checkout            # then open http://127.0.0.1:8080
//
// Without IIMMPACT_API_KEY and IIMMPACT_HMAC_SECRET it uses the built-in sandbox.
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
	"time"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	timeout := flag.Duration("timeout", 5*time.Second, "deadline for the bill presentment call")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	client, err := iimmpact.NewClientFromEnv(iimmpact.WithLogger(logger))
	if err != nil {
		srv := iimmpacttest.NewServer()
		defer srv.Close()
		client = srv.Client
		logger.Info("IIMMPACT_API_KEY and IIMMPACT_HMAC_SECRET are not set: using the built-in sandbox", "sample_account", "AKSB 1234567890")
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "checkout:", err)
		os.Exit(2)
	}
	server := &http.Server{
		Handler:           NewHandler(client, *timeout, logger),
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
