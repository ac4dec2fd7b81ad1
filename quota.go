package iimmpact

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/iimmpact-go/iimmpact/internal/quota"
)

// IIMMPACT allows 30,000 requests per five minutes per IP address, then blocks
// the IP for 240 minutes with HTTP 403. The default keeps 5 % of that for the
// merchant's other IIMMPACT traffic from the same IP and for the two clocks'
// disagreement at the window's edges.
const (
	defaultQuota       = 28_500
	defaultQuotaWindow = 5 * time.Minute
)

// QuotaStore counts requests for a fleet of processes that share one egress IP.
// A Redis Lua script serves it in one round trip: see the redisquota module.
type QuotaStore interface {
	// Reserve books the request member under key at the earliest moment, no
	// further than maxWait from now, when fewer than limit requests hold a
	// slot in the window that ends then. It reports ok and how long to wait before
	// sending (0: send now); or, when no such moment is within maxWait, !ok and
	// how long until a slot frees. An error means the store could not answer;
	// the client then counts in-process.
	Reserve(ctx context.Context, key string, limit int, window, maxWait time.Duration, member string) (ok bool, wait time.Duration, err error)
	// Release ends the booking of member. When its request was sent, the slot
	// stays counted until window after now, by the store's clock: the API
	// counts a request when it arrives, which may be well after its booking.
	// When it was never sent (its caller gave up while it waited), the
	// booking counts nothing. window is the client's quota window.
	Release(ctx context.Context, key, member string, sent bool, window time.Duration) error
}

// WithQuota makes the client send at most requests requests in any trailing
// window. Every request sent counts, retries and a re-signed request included.
// A request over the quota is not sent: the call fails at once with an error
// matching ErrQuotaExceeded, or waits for a slot with WithQuotaWait.
//
// The count is kept per API origin and shared by every Client of a Shared
// (DefaultShared unless WithShared: the process, one IP, one quota); each
// client applies its own limit to it. So a batch
// client given a lower limit than the checkout clients beside it leaves them
// the rest: with WithQuota(20_000, 5*time.Minute) and WithQuotaWait, a nightly
// job never takes the last 8,500 slots of the default 28,500.
//
// The quota is on by default for ProductionURL and StagingURL at 28,500 per 5
// minutes, and off for any other base URL: behind an egress proxy or API
// gateway, set it yourself, with a margin below the vendor's 30,000 per 5
// minutes for your other traffic.
func WithQuota(requests int, window time.Duration) Option {
	return func(o *options) error {
		if requests <= 0 || window <= 0 {
			return fmt.Errorf("iimmpact: WithQuota: want requests > 0 and window > 0, got %d and %s", requests, window)
		}
		o.quotaLimit, o.quotaWindow, o.quotaSet = requests, window, true
		return nil
	}
}

// WithQuotaWait makes a call the quota has no slot for wait for one, up to
// max, instead of failing at once: the pacing a batch (bill reminders,
// recurring payments) needs. A call never waits past max nor past its
// context's deadline: when the slot is further away than either allows, it
// fails at once with ErrQuotaExceeded. A call cancelled while it waits returns
// the context's error and counts nothing. Waiting calls are served in arrival
// order; a call of a client without WithQuotaWait (a checkout) still takes a
// free slot at once, before them. Nothing waits on the 403 breaker: while it
// is open, calls fail at once with ErrBlocked. A request is signed when it is
// admitted, after its wait.
func WithQuotaWait(max time.Duration) Option {
	return func(o *options) error {
		if max <= 0 {
			return fmt.Errorf("iimmpact: WithQuotaWait: %s is not positive", max)
		}
		o.quotaWait = max
		return nil
	}
}

// WithoutQuota turns the quota guard and the 403 breaker off.
func WithoutQuota() Option {
	return func(o *options) error {
		o.quotaOff = true
		return nil
	}
}

// WithQuotaStore counts requests through store, shared by every process that
// uses the same key (one key per egress IP), at the default numbers unless
// WithQuota says otherwise. When the store fails or takes over 50 ms, the
// client counts in-process at the fallback share (WithQuotaFallback), tries
// the store again after 5 seconds, and logs a Warn at most once a minute.
//
// Each process also keeps its own count of what it sent, and never sends past
// its own limit in any trailing window, whatever the store says. A store that
// forgets (Redis restarted without persistence, the key evicted, a failover to
// a replica that lagged) costs at most one window of double counting: in the
// window after it forgets, the fleet may send its limit again on top of what
// it sent before (twice the limit at most), while no single process passes
// its own limit. A limit of at most 15,000 (the vendor's 30,000 halved) keeps
// even that window under the vendor's block; or run Redis with persistence
// (appendonly yes) and maxmemory-policy noeviction.
func WithQuotaStore(store QuotaStore, key string) Option {
	return func(o *options) error {
		if store == nil || strings.TrimSpace(key) == "" {
			return errors.New("iimmpact: WithQuotaStore: want a store and a non-empty key")
		}
		o.quotaStore, o.quotaKey = store, key
		return nil
	}
}

// WithQuotaFallback sets how many requests per window a process may send while
// the QuotaStore is down. The default is a tenth of the quota, so a fleet of up
// to ten processes stays under it through an outage.
func WithQuotaFallback(requests int) Option {
	return func(o *options) error {
		if requests <= 0 {
			return fmt.Errorf("iimmpact: WithQuotaFallback: %d is not positive", requests)
		}
		o.fallback = requests
		return nil
	}
}

// newGuard builds the guard the options ask for, or reports their conflict.
// The 403 breaker is on for every base URL (a proxy in front of IIMMPACT
// passes its block on); the quota is on for the vendor's hosts, or when asked
// for. It returns a nil guard for WithoutQuota.
func newGuard(o *options) (*quota.Guard, error) {
	if o.quotaOff {
		if o.quotaSet || o.quotaStore != nil || o.fallback != 0 || o.quotaWait != 0 {
			return nil, errors.New("iimmpact: NewClient: WithoutQuota conflicts with WithQuota, WithQuotaStore, WithQuotaFallback and WithQuotaWait")
		}
		return nil, nil
	}
	cfg := quota.Config{Logger: o.logger, Store: o.quotaStore, Key: o.quotaKey}
	if o.quotaSet || o.quotaStore != nil || isAPIHost(o.baseURL) {
		cfg.Limit, cfg.Window = defaultQuota, defaultQuotaWindow
		if o.quotaSet {
			cfg.Limit, cfg.Window = o.quotaLimit, o.quotaWindow
		}
		cfg.Fallback = o.fallback
		if cfg.Fallback == 0 {
			cfg.Fallback = max(1, cfg.Limit/10)
		}
	}
	return quota.New(o.shared.origins.Origin(originOf(o.baseURL)), cfg), nil
}

// originOf names the origin of a base URL as the quota counts it: the case of
// the scheme and host, a trailing dot and a default port make no difference.
func originOf(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.TrimSuffix(strings.ToLower(u.Hostname()), "."), u.Port()
	if port == "" || (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		return scheme + "://" + host
	}
	return scheme + "://" + host + ":" + port
}

// isAPIHost reports whether base is one of the vendor's hosts, on any port.
func isAPIHost(base string) bool {
	u, err := url.Parse(base)
	if err != nil {
		return false
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	return host == strings.TrimPrefix(ProductionURL, "https://") || host == strings.TrimPrefix(StagingURL, "https://")
}
