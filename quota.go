package iimmpact

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// IIMMPACT allows 30,000 requests per five minutes per IP address, then blocks
// the IP for 240 minutes with HTTP 403. The default keeps 5 % of that for the
// merchant's other IIMMPACT traffic from the same IP and for the two clocks'
// disagreement at the window's edges.
const (
	defaultQuota       = 28_500
	defaultQuotaWindow = 5 * time.Minute
)

const (
	storeTimeout    = 50 * time.Millisecond // a store slower than this counts as down
	storeRetryAfter = 5 * time.Second       // how long to count locally before trying the store again
	warnEvery       = time.Minute
	breakerTrips    = 3 // consecutive calls answered 403
	breakerFirst    = time.Minute
	breakerMax      = 30 * time.Minute
)

// ErrQuotaExceeded is matched by the error of a call the quota guard refused:
// sending it would have exceeded the client's quota. Nothing was sent for the
// refused request. errors.As gives a *QuotaError.
var ErrQuotaExceeded = errors.New("iimmpact: request quota exceeded")

// ErrBlocked is matched by the error of a call refused because the API
// answered 403 to 3 calls in a row, which is how it blocks an IP that exceeded
// its quota. The client sends nothing for a cool-down of 1 minute, doubling up
// to 30 minutes while the one request it then tries is answered 403 again.
// errors.As gives the last 403 *APIError.
var ErrBlocked = errors.New("iimmpact: IIMMPACT answers 403 (IP blocked?); not sending during the cool-down")

// QuotaError says when the quota frees the next slot. It matches
// ErrQuotaExceeded; when the refused request was a retry, errors.As also gives
// the *APIError of the answer before it.
type QuotaError struct {
	// RetryAfter is how long until a request fits the quota again.
	RetryAfter time.Duration

	last *APIError
}

// Error says the quota is spent and when it frees.
func (e *QuotaError) Error() string {
	s := "iimmpact: request quota exceeded; next request allowed in " + e.RetryAfter.Round(time.Millisecond).String()
	if e.last != nil {
		s += " (last answer: HTTP " + strconv.Itoa(e.last.StatusCode) + ")"
	}
	return s
}

// Is makes errors.Is(err, ErrQuotaExceeded) true.
func (e *QuotaError) Is(target error) bool { return target == ErrQuotaExceeded }

// Unwrap returns the last answer's *APIError, if any.
func (e *QuotaError) Unwrap() error {
	if e.last == nil {
		return nil
	}
	return e.last
}

// blockedError is the error of a call the 403 breaker refused.
type blockedError struct {
	wait time.Duration
	last *APIError
}

func (e *blockedError) Error() string {
	return fmt.Sprintf("%s (%s left)", ErrBlocked.Error(), e.wait.Round(time.Second))
}

func (e *blockedError) Is(target error) bool { return target == ErrBlocked }

func (e *blockedError) Unwrap() error {
	if e.last == nil {
		return nil
	}
	return e.last
}

// QuotaStore counts requests for a fleet of processes that share one egress IP.
// A Redis Lua script serves it in one round trip: see the redisquota module.
type QuotaStore interface {
	// Reserve records the request member under key when fewer than limit
	// requests were recorded in the trailing window, and reports whether it did.
	// When it did not, retryAfter is the time until a slot frees. An error means
	// the store could not answer; the client then counts in-process.
	Reserve(ctx context.Context, key string, limit int, window time.Duration, member string) (ok bool, retryAfter time.Duration, err error)
}

// WithQuota makes the client send at most requests requests in any trailing
// window. Every request sent counts, retries and a re-signed request included.
// A request over the quota is not sent: the call fails at once with an error
// matching ErrQuotaExceeded. The count is kept per API origin and shared by
// every Client of the process (one IP, one quota); each client applies its own
// numbers to it.
//
// The quota is on by default for ProductionURL and StagingURL at defaultQuota
// per defaultQuotaWindow, and off for any other base URL. Set your own numbers
// with a margin below the vendor's 30,000 per 5 minutes for your other traffic.
func WithQuota(requests int, window time.Duration) Option {
	return func(c *Client) error {
		if requests <= 0 || window <= 0 {
			return fmt.Errorf("iimmpact: WithQuota: want requests > 0 and window > 0, got %d and %s", requests, window)
		}
		c.quota.limit, c.quota.window, c.quota.set = requests, window, true
		return nil
	}
}

// WithoutQuota turns the quota guard and the 403 breaker off.
func WithoutQuota() Option {
	return func(c *Client) error {
		c.quota.off = true
		return nil
	}
}

// WithQuotaStore counts requests through store, shared by every process that
// uses the same key (one key per egress IP), at the default numbers unless
// WithQuota says otherwise. When the store fails or takes over 50 ms, the
// client counts in-process at the fallback share (WithQuotaFallback), tries
// the store again after 5 seconds, and logs a Warn at most once a minute.
func WithQuotaStore(store QuotaStore, key string) Option {
	return func(c *Client) error {
		if store == nil || strings.TrimSpace(key) == "" {
			return errors.New("iimmpact: WithQuotaStore: want a store and a non-empty key")
		}
		c.quota.store, c.quota.key = store, key
		return nil
	}
}

// WithQuotaFallback sets how many requests per window a process may send while
// the QuotaStore is down. The default is a tenth of the quota, so a fleet of up
// to ten processes stays under it through an outage.
func WithQuotaFallback(requests int) Option {
	return func(c *Client) error {
		if requests <= 0 {
			return fmt.Errorf("iimmpact: WithQuotaFallback: %d is not positive", requests)
		}
		c.quota.fallback = requests
		return nil
	}
}

// quotaConfig is what the options said; setupGuard turns it into a guard.
type quotaConfig struct {
	limit    int
	window   time.Duration
	set, off bool
	store    QuotaStore
	key      string
	fallback int
}

// guard is a client's view of its origin's shared quota log and breaker.
type guard struct {
	*originState
	limit, fallback int
	window          time.Duration
	store           QuotaStore
	key             string
	logger          *slog.Logger
	now             func() time.Time
}

// originState is shared by every Client of the process for one API origin.
type originState struct {
	log     slidingLog
	breaker breaker

	mu        sync.Mutex
	storeDown time.Time // the store is skipped until then
	lastWarn  time.Time
}

var origins sync.Map // origin → *originState

// setupGuard applies the quota options, or reports their conflict.
func (c *Client) setupGuard(q quotaConfig) error {
	if q.off {
		if q.set || q.store != nil || q.fallback != 0 {
			return errors.New("iimmpact: NewClient: WithoutQuota conflicts with WithQuota, WithQuotaStore and WithQuotaFallback")
		}
		return nil
	}
	u, err := url.Parse(c.baseURL)
	if err != nil {
		return err
	}
	if !q.set && q.store == nil && !isAPIHost(u.Hostname()) {
		return nil // tests, the sandbox, benchmarks
	}
	if !q.set {
		q.limit, q.window = defaultQuota, defaultQuotaWindow
	}
	if q.fallback == 0 {
		q.fallback = max(1, q.limit/10)
	}
	origin := strings.ToLower(u.Scheme + "://" + u.Host)
	if u.Port() == "" {
		origin += map[string]string{"https": ":443", "http": ":80"}[u.Scheme]
	}
	st, _ := origins.LoadOrStore(origin, &originState{})
	c.guard = &guard{
		originState: st.(*originState), limit: q.limit, fallback: q.fallback, window: q.window,
		store: q.store, key: q.key, logger: c.logger, now: time.Now,
	}
	return nil
}

func isAPIHost(host string) bool {
	host = strings.TrimSuffix(host, ".")
	for _, u := range [...]string{ProductionURL, StagingURL} {
		if strings.EqualFold(host, strings.TrimPrefix(u, "https://")) {
			return true
		}
	}
	return false
}

// ticket is a request the guard let through.
type ticket struct{ probe bool }

// done records what a request admitted with t came to: status 0 for no answer.
func (g *guard) done(t ticket, status int) {
	now := g.now()
	g.log.finish(now)
	g.breaker.observe(t, status, now)
}

// admit decides whether one more request may be sent now: the breaker first,
// then the quota, through the store when there is one.
func (g *guard) admit(ctx context.Context) (ticket, error) {
	now := g.now()
	t, err := g.breaker.admit(now)
	if err != nil {
		return t, err
	}
	if err := g.reserve(ctx, now); err != nil {
		g.breaker.observe(t, 0, now) // no answer: the probe slot frees
		return t, err
	}
	return t, nil
}

func (g *guard) reserve(ctx context.Context, now time.Time) error {
	limit := g.limit
	if g.store != nil {
		g.mu.Lock()
		useStore := !now.Before(g.storeDown)
		g.mu.Unlock()
		if useStore {
			sctx, cancel := context.WithTimeout(ctx, storeTimeout)
			ok, after, err := g.store.Reserve(sctx, g.key, g.limit, g.window, rand.Text())
			cancel()
			switch {
			case err == nil && ok:
				g.log.start() // so a switch to the fallback starts from a true count
				return nil
			case err == nil:
				return &QuotaError{RetryAfter: after}
			case ctx.Err() != nil:
				return ctx.Err()
			}
			g.storeFailed(ctx, now, err)
		}
		limit = g.fallback
	}
	if after, ok := g.log.reserve(now, limit, g.window); !ok {
		return &QuotaError{RetryAfter: after}
	}
	return nil
}

func (g *guard) storeFailed(ctx context.Context, now time.Time, err error) {
	g.mu.Lock()
	g.storeDown = now.Add(storeRetryAfter)
	warn := now.Sub(g.lastWarn) >= warnEvery
	if warn {
		g.lastWarn = now
	}
	g.mu.Unlock()
	if warn {
		g.logger.LogAttrs(ctx, slog.LevelWarn, "iimmpact: quota store failed; counting in-process at the fallback share",
			slog.String("error", err.Error()), slog.Int("fallback", g.fallback), slog.Duration("window", g.window))
	}
}

// slidingLog counts the requests of the trailing window: those in flight, and
// those finished within the window, by the time they finished. The API counts
// a request when it arrives, which is after it was sent, so a slot is held
// until a window after the answer: never earlier than the API frees it. The
// count is exact, and memory is for the requests in the window only.
type slidingLog struct {
	mu       sync.Mutex
	times    []time.Time // when requests finished, in order
	inflight int
	keep     time.Duration // the longest window any client asked for
}

// reserve admits one request when fewer than limit are in the window, or says
// when the next slot frees.
func (l *slidingLog) reserve(now time.Time, limit int, window time.Duration) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now, window)
	first := sort.Search(len(l.times), func(i int) bool { return l.times[i].After(now.Add(-window)) })
	done := len(l.times) - first
	if excess := done + l.inflight - limit; excess >= 0 {
		if excess < done { // the slot frees when the excess+1'th oldest leaves the window
			return max(l.times[first+excess].Add(window).Sub(now), time.Millisecond), false
		}
		return window, false // requests in flight hold every slot: at most a window after they end
	}
	l.inflight++
	return 0, true
}

// start counts a request admitted elsewhere (by the store).
func (l *slidingLog) start() {
	l.mu.Lock()
	l.inflight++
	l.mu.Unlock()
}

// finish records that a request admitted by reserve or start ended at now.
func (l *slidingLog) finish(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	i := len(l.times)
	for i > 0 && l.times[i-1].After(now) { // requests end nearly in order: a short walk
		i--
	}
	l.times = slices.Insert(l.times, i, now)
}

// prune drops what no window reaches any more; copying the rest down keeps the
// slice from growing without bound.
func (l *slidingLog) prune(now time.Time, window time.Duration) {
	l.keep = max(l.keep, window)
	n := sort.Search(len(l.times), func(i int) bool { return l.times[i].After(now.Add(-l.keep)) })
	if n > 0 && n >= len(l.times)/2 {
		l.times = append(l.times[:0], l.times[n:]...)
	}
}

// breaker stops sending after breakerTrips calls in a row were answered 403.
type breaker struct {
	mu          sync.Mutex
	consecutive int
	openUntil   time.Time // zero when closed
	cooldown    time.Duration
	probing     bool
	last        *APIError
}

func (b *breaker) admit(now time.Time) (ticket, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.openUntil.IsZero():
		return ticket{}, nil
	case now.Before(b.openUntil) || b.probing:
		return ticket{}, &blockedError{wait: max(0, b.openUntil.Sub(now)), last: b.last}
	}
	b.probing = true
	return ticket{probe: true}, nil
}

// observe records what a request admitted with t came to: status 0 for no answer.
func (b *breaker) observe(t ticket, status int, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case status == 0:
		if t.probe {
			b.probing = false
		}
	case status != 403:
		b.consecutive, b.openUntil, b.cooldown, b.probing = 0, time.Time{}, 0, false
	case t.probe:
		b.cooldown = min(2*b.cooldown, breakerMax)
		b.openUntil, b.probing = now.Add(b.cooldown), false
	case b.openUntil.IsZero():
		if b.consecutive++; b.consecutive >= breakerTrips {
			b.cooldown, b.openUntil = breakerFirst, now.Add(breakerFirst)
		}
	} // a 403 from a request sent before the breaker opened changes nothing
}

// remember keeps the last 403 for the errors of refused calls.
func (b *breaker) remember(e *APIError) {
	copied := *e
	b.mu.Lock()
	b.last = &copied
	b.mu.Unlock()
}
