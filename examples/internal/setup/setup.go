// Package setup chooses what the examples talk to: IIMMPACT when the
// environment says so, the built-in sandbox when it says nothing at all.
package setup

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/examples/internal/cli"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
	"github.com/iimmpact-go/iimmpact/ledger"
)

// Client returns a client for IIMMPACT_API_KEY, IIMMPACT_HMAC_SECRET and
// IIMMPACT_BASE_URL. Only when none of the three is set does it start the
// sandbox, returned too so the caller can close it. Any other incomplete or
// invalid setting is an error that names the variable, so a typo never turns
// into fake bills.
func Client(opts ...iimmpact.Option) (*iimmpact.Client, *iimmpacttest.Server, error) {
	if os.Getenv("IIMMPACT_API_KEY") == "" && os.Getenv("IIMMPACT_HMAC_SECRET") == "" && os.Getenv("IIMMPACT_BASE_URL") == "" {
		srv := iimmpacttest.NewServer(iimmpacttest.WithClientOptions(opts...))
		return srv.Client, srv, nil
	}
	client, err := iimmpact.NewClientFromEnv(opts...)
	return client, nil, err
}

// Hint follows a configuration error: what the user can do about it.
const Hint = "set IIMMPACT_API_KEY and IIMMPACT_HMAC_SECRET (an iimm_dev_ key calls staging by itself; IIMMPACT_BASE_URL only for another server), or none of the three to use the built-in sandbox"

// Ledger opens the payment ledger at url, with the key IIMMPACT_LEDGER_KEY
// holds, or else with fallback (nil: no key, so IC numbers and Ref-2 are not
// kept), within ledgerTimeout.
func Ledger(ctx context.Context, url string, fallback []byte) (*ledger.Ledger, error) {
	key, err := ledger.KeyFromEnv()
	if err != nil {
		return nil, err
	}
	if key == nil {
		key = fallback
	}
	var opts []ledger.Option
	if key != nil {
		opts = append(opts, ledger.WithKey(key))
	}
	ctx, cancel := context.WithTimeout(ctx, ledgerTimeout)
	defer cancel()
	return ledger.Open(ctx, url, opts...)
}

// LedgerExit is the exit status of a ledger Ledger could not open, or that
// failed a read: 2 for a setting to fix (the URL, the key), 3 for a database
// that did not answer or refused, which the same command may get past later.
func LedgerExit(err error) int {
	if errors.Is(err, ledger.ErrInvalidConfig) {
		return cli.ExitUsage
	}
	return cli.ExitAgain
}

// ledgerTimeout bounds opening the ledger: a database that does not answer
// is an error, not a hang.
const ledgerTimeout = 10 * time.Second
