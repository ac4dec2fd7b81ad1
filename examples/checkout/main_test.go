package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact/examples/internal/cli"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
	"github.com/iimmpact-go/iimmpact/ledger/ledgertest"
)

// On SIGTERM the checkout stops accepting and lets a request in flight
// finish: a lookup or a payment under way is never cut off by a deploy.
func TestShutdownLetsRequestsInFlightFinish(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "paid")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- run(ctx, ln, slow, slog.New(slog.DiscardHandler), bodyTimeout) }()

	answer := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			answer <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		answer <- string(body)
	}()
	<-started
	cancel() // SIGTERM
	for {    // the listener closes first; no new connection is taken
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			break
		}
		c.Close()
	}
	close(release)
	assert.Equal(t, "paid", <-answer, "the request in flight got its answer")
	assert.NoError(t, <-served)
}

func TestHelpDocumentsTheSandboxAndTheEnvironment(t *testing.T) {
	var out strings.Builder
	_, err := parseFlags([]string{"-h"}, &out)
	assert.True(t, errors.Is(err, flag.ErrHelp))
	for _, want := range []string{"-addr", "-timeout", "-pay-timeout", "-products", "-callback-ips", "-trusted-proxies",
		"IIMMPACT_API_KEY", "IIMMPACT_HMAC_SECRET", "IIMMPACT_BASE_URL", "built-in sandbox", "SIGTERM", "/iimmpact/callback",
		"-max-amount", "CHECKOUT_SECRET", cli.ExitTable} {
		assert.Contains(t, out.String(), want)
	}
	f, err := parseFlags([]string{"-callback-ips", "127.0.0.1, 10.0.0.0/8", "-trusted-proxies", "::1"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}, f.cfg.CallbackIPs)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("::1/128")}, f.cfg.TrustedProxies)
	_, err = parseFlags([]string{"-callback-ips", "nope"}, io.Discard)
	assert.ErrorContains(t, err, `"nope" is not an address`)
	_, err = parseFlags([]string{"-max-amount", "RM 10"}, io.Discard)
	assert.ErrorContains(t, err, "-max-amount must be a positive amount")
	t.Setenv("CHECKOUT_SECRET", "c2hvcnQ=")
	_, err = parseFlags(nil, io.Discard)
	assert.ErrorContains(t, err, "CHECKOUT_SECRET must be Base64 of at least 32 random bytes")
}

// A POST whose body stalls does not hold its connection: the read timeout
// ends it.
func TestStalledBodyIsCutOff(t *testing.T) {
	h, _ := newCheckout(t, time.Second)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- run(ctx, ln, h, slog.New(slog.DiscardHandler), 200*time.Millisecond) }()
	defer func() { cancel(); assert.NoError(t, <-served) }()

	conn, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /bill HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nproduct=")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second))) // a guard: the server must act well before
	start := time.Now()
	_, err = io.ReadAll(conn)
	assert.NoError(t, err, "the server ended the connection; the guard did not fire")
	assert.Less(t, time.Since(start), 5*time.Second)
}

// On the real API without CHECKOUT_SECRET the checkout says at start what
// it cannot do (cross pods, survive a restart); with it, or on the sandbox,
// it says nothing.
func TestStartWithoutASecretIsWarned(t *testing.T) {
	api := iimmpacttest.NewServer()
	t.Cleanup(api.Close)
	for _, c := range []struct {
		name, apiKey, secret string
		warned               bool
	}{
		{"real API, no secret", api.APIKey, "", true},
		{"real API, a secret", api.APIKey, base64.StdEncoding.EncodeToString(make([]byte, 32)), false},
		{"sandbox", "", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("IIMMPACT_API_KEY", c.apiKey)
			t.Setenv("IIMMPACT_HMAC_SECRET", "")
			t.Setenv("IIMMPACT_BASE_URL", "")
			if c.apiKey != "" {
				t.Setenv("IIMMPACT_HMAC_SECRET", api.HMACSecret)
				t.Setenv("IIMMPACT_BASE_URL", api.URL)
			}
			t.Setenv("CHECKOUT_SECRET", c.secret)
			t.Setenv("IIMMPACT_LEDGER_KEY", "")
			f, err := parseFlags([]string{"-addr", "127.0.0.1:0", "-db", "sqlite:" + filepath.Join(t.TempDir(), "l.db")}, io.Discard)
			require.NoError(t, err)
			log := startAndStop(t, f)
			assert.Equal(t, c.warned, strings.Contains(log, "CHECKOUT_SECRET is not set"), log)
		})
	}
}

// startAndStop serves f until the checkout listens, then stops it as
// SIGTERM does, and returns what it logged.
func startAndStop(t *testing.T, f flags) string {
	t.Helper()
	log := &startLog{listening: make(chan struct{})}
	f.cfg.Logger = slog.New(slog.NewTextHandler(log, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- serve(ctx, f) }()
	select {
	case <-log.listening:
	case err := <-served:
		t.Fatalf("serve returned before listening: %v", err)
	}
	cancel() // SIGTERM
	require.NoError(t, <-served)
	return log.String()
}

// startLog is a log that says when the checkout is listening.
type startLog struct {
	strings.Builder
	listening chan struct{}
}

func (l *startLog) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "checkout listening") {
		close(l.listening)
	}
	return l.Builder.Write(p)
}

// A ledger setting to fix is 2; a database that did not answer at start is
// 3, what a supervisor restarts; any other start failure is 2.
func TestStartFailuresHaveTheTablesStatus(t *testing.T) {
	t.Setenv("IIMMPACT_API_KEY", "")
	t.Setenv("IIMMPACT_HMAC_SECRET", "")
	t.Setenv("IIMMPACT_BASE_URL", "")
	down := ledgertest.Down(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0") // an address already taken
	require.NoError(t, err)
	defer busy.Close()
	sqlite := "sqlite:" + filepath.Join(t.TempDir(), "l.db")
	for _, c := range []struct {
		addr, db string
		code     int
	}{
		{"127.0.0.1:0", "mysql://checkout@db/payments", cli.ExitUsage},
		{"127.0.0.1:0", down, cli.ExitAgain},
		{busy.Addr().String(), sqlite, cli.ExitUsage},
	} {
		f, err := parseFlags([]string{"-addr", c.addr, "-db", c.db}, io.Discard)
		require.NoError(t, err)
		f.cfg.Logger = slog.New(slog.DiscardHandler)
		err = serve(context.Background(), f)
		require.Error(t, err, c.db)
		assert.Equal(t, c.code, exitOf(err), "%s: %v", c.db, err)
	}
}

// On the real API the checkout reads the vendor's callback URL at start and
// warns when callbacks would not reach it; it never logs the URL's query.
func TestStartChecksTheCallbackURL(t *testing.T) {
	api := iimmpacttest.NewServer()
	t.Cleanup(api.Close)
	t.Setenv("IIMMPACT_API_KEY", api.APIKey)
	t.Setenv("IIMMPACT_HMAC_SECRET", api.HMACSecret)
	t.Setenv("IIMMPACT_BASE_URL", api.URL)
	t.Setenv("CHECKOUT_SECRET", base64.StdEncoding.EncodeToString(make([]byte, 32)))
	for set, warned := range map[string]bool{
		"":                                    true,
		"https://shop.example/hooks/iimmpact": true,
		"https://shop.example/iimmpact/callback?token=s3cret":     false,
		"https://shop.example/pay/iimmpact/callback?token=s3cret": false,
		"not a URL at all": true,
	} {
		api.SetCallbackURL(set)
		f, err := parseFlags([]string{"-addr", "127.0.0.1:0", "-db", "sqlite:" + filepath.Join(t.TempDir(), "l.db")}, io.Discard)
		require.NoError(t, err)
		log := startAndStop(t, f)
		assert.Equal(t, warned, strings.Contains(log, "callbacks are lost"), "%s: %s", set, log)
		assert.Equal(t, !warned, strings.Contains(log, "leads to a checkout"), set)
		assert.NotContains(t, log, "s3cret")
	}
}
