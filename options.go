package iimmpact

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/iimmpact-go/iimmpact/internal/retry"
)

// Option configures a Client. An option given a bad value makes NewClient fail
// with an error that names the option and the rule.
type Option func(*options) error

// The client's own defaults. Those of the retries and of the quota are kept
// beside their code, in internal/retry and quota.go.
const (
	// DefaultTimeout bounds one attempt (WithTimeout changes it): above the
	// API's own 29 s limit on a slow biller, so its 504 arrives before the
	// client gives up.
	DefaultTimeout = 35 * time.Second
	// defaultMaxBody bounds a response body.
	defaultMaxBody = 1 << 20
)

// options is what the options said, collected before NewClient validates it
// once and builds the Client from it; nothing of it stays on the Client.
type options struct {
	baseURL    string
	hc         *http.Client
	maxRetries int
	timeout    time.Duration
	userAgent  string
	logger     *slog.Logger
	maxBody    int64
	backoff    retry.Backoff
	observer   Observer
	coalesce   bool

	quotaLimit  int
	quotaWindow time.Duration
	quotaSet    bool
	quotaOff    bool
	quotaStore  QuotaStore
	quotaKey    string
	fallback    int
	quotaWait   time.Duration
	shared      *Shared

	pollMin, pollMax time.Duration // PayUntilFinal's cadence
}

func defaultOptions() options {
	return options{
		maxRetries: retry.DefaultMaxRetries,
		timeout:    DefaultTimeout,
		userAgent:  "iimmpact-go/" + Version,
		logger:     slog.New(slog.DiscardHandler),
		maxBody:    defaultMaxBody,
		backoff:    retry.DefaultBackoff,
		shared:     DefaultShared,
		pollMin:    pollMin,
		pollMax:    pollMax,
	}
}

// WithPaymentPolling sets PayUntilFinal's cadence: it asks again after a
// wait drawn between min and max. The default is the vendor's, 5 to 10
// seconds; a test against iimmpacttest shortens it (to milliseconds) so a
// payment left pending resolves at once. In production keep the default:
// every ask is a request the quota counts.
func WithPaymentPolling(min, max time.Duration) Option {
	return func(o *options) error {
		if min <= 0 || max < min {
			return fmt.Errorf("iimmpact: WithPaymentPolling: want 0 < min <= max, not %s and %s", min, max)
		}
		o.pollMin, o.pollMax = min, max
		return nil
	}
}

// WithBaseURL sets the API's origin, such as StagingURL or an httptest server's
// URL; each endpoint's path ("/v2/bill-presentment", "/v2/networkstatus",
// "/v2/topup", "/v2/balance") is appended. A trailing "/" or "/v2" is dropped.
// Plain http is accepted only for loopback hosts, so credentials never cross a
// network unencrypted.
func WithBaseURL(u string) Option {
	return func(o *options) error {
		base, err := parseBaseURL(u)
		if err != nil {
			return fmt.Errorf("iimmpact: WithBaseURL: %w", err)
		}
		o.baseURL = base
		return nil
	}
}

func parseBaseURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", errors.New("not a URL")
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return "", errors.New("scheme must be https (or http for a loopback host)")
	case u.Host == "":
		return "", errors.New("host is missing")
	case u.User != nil:
		return "", errors.New("must not contain a user or password")
	case u.RawQuery != "" || u.Fragment != "":
		return "", errors.New("must not have a query or fragment")
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return "", errors.New("plain http is allowed only for loopback hosts; use https")
	}
	path := strings.TrimRight(u.Path, "/")
	path = strings.TrimSuffix(path, "/v2")
	return u.Scheme + "://" + u.Host + strings.TrimRight(path, "/"), nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// WithHTTPClient makes the client send through hc: its Transport, Timeout and Jar
// are used as given. hc is not modified; the client works on a copy whose
// redirect rule refuses every redirect.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) error {
		if hc == nil {
			return errors.New("iimmpact: WithHTTPClient: client is nil")
		}
		o.hc = hc
		return nil
	}
}

// WithMaxRetries sets how many times a failed attempt is retried (0 disables
// retries; at most 10). The default is 2.
func WithMaxRetries(n int) Option {
	return func(o *options) error {
		if n < 0 || n > retry.MaxRetriesLimit {
			return fmt.Errorf("iimmpact: WithMaxRetries: %d is not between 0 and %d", n, retry.MaxRetriesLimit)
		}
		o.maxRetries = n
		return nil
	}
}

// WithTimeout bounds each attempt, from sending the request to reading the last
// byte of the body. The caller's context still bounds the whole call. The default,
// 35 s, is above the API's own 29 s limit on a slow biller, so the API's 504
// arrives before the client gives up. An attempt it cuts short is reported to
// observers with ErrorType timeout.
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("iimmpact: WithTimeout: %s is not positive", d)
		}
		o.timeout = d
		return nil
	}
}

// WithRetryBackoff sets the backoff between attempts: the wait before retry n is
// between half and all of min(base·2ⁿ⁻¹, max). The default is 200 ms and 4 s. A
// Retry-After from the server takes precedence.
func WithRetryBackoff(base, max time.Duration) Option {
	return func(o *options) error {
		if base <= 0 || max < base {
			return fmt.Errorf("iimmpact: WithRetryBackoff: want 0 < base <= max, got %s and %s", base, max)
		}
		o.backoff = retry.Backoff{Base: base, Max: max}
		return nil
	}
}

// WithUserAgent appends s to the User-Agent "iimmpact-go/VERSION".
func WithUserAgent(s string) Option {
	return func(o *options) error {
		if !validHeaderValue(s) {
			return errors.New("iimmpact: WithUserAgent: contains control characters")
		}
		if s = strings.TrimSpace(s); s != "" {
			o.userAgent = "iimmpact-go/" + Version + " " + s
		}
		return nil
	}
}

// WithLogger sends the client's logs to l: attempts, answers and unreadable
// fields at Debug; retries (with why), clock corrections, a quota store that
// failed and the first sight of a message the SDK does not know at Warn. They
// use the caller's context and never hold a credential, a signature, an
// account number or Ref-2. By default nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("iimmpact: WithLogger: logger is nil")
		}
		o.logger = l
		return nil
	}
}

// WithMaxResponseSize bounds a response body; a larger one is ErrResponseTooLarge
// and is read no further. The default is 1 MiB.
func WithMaxResponseSize(n int64) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("iimmpact: WithMaxResponseSize: %d is not positive", n)
		}
		o.maxBody = n
		return nil
	}
}
