package iimmpact

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/iimmpact-go/iimmpact/internal/quota"
	"github.com/iimmpact-go/iimmpact/internal/retry"
)

// The API's environments, for WithBaseURL.
const (
	ProductionURL = "https://api.iimmpact.com"
	StagingURL    = "https://staging.iimmpact.com"
)

// Environment variables read by NewClientFromEnv.
const (
	envAPIKey     = "IIMMPACT_API_KEY"
	envHMACSecret = "IIMMPACT_HMAC_SECRET"
	envBaseURL    = "IIMMPACT_BASE_URL"
)

// Version is this release of the SDK, sent in the User-Agent.
const Version = "0.7.0"

// devKeyPrefix and prodKeyPrefix start the vendor's staging and production
// API keys: an iimm_dev_ key selects StagingURL by itself.
const (
	devKeyPrefix  = "iimm_dev_"
	prodKeyPrefix = "iimm_prod_"
)

// Client calls the IIMMPACT API. It is safe for concurrent use; create one and
// share it. Its credentials live in its Signer, where no fmt verb or slog
// handler reaches them.
type Client struct {
	baseURL    string
	hc         *http.Client
	signer     *Signer
	maxRetries int
	timeout    time.Duration
	userAgent  []string // one slice every request shares
	logger     *slog.Logger
	maxBody    int64
	backoff    retry.Backoff
	envHint    string   // why a 401 may come from a key meeting the other environment
	observer   Observer // nil: nothing to report to, nothing computed for it
	quotaWait  time.Duration
	pollMin    time.Duration // PayUntilFinal's cadence (WithPaymentPolling)
	pollMax    time.Duration
	guard      *quota.Guard // nil with WithoutQuota
	shared     *Shared      // the drift alarm's memory, with the clients sharing it
	flights    *flights     // nil unless WithCoalescing

	skew   atomic.Int64 // nanoseconds to add to our clock, learnt from the server's Date
	budget *retry.Budget

	// Replaced by tests.
	sleep  func(context.Context, time.Duration) error
	jitter func() float64
}

// NewClient returns a Client that signs every request with apiKey and hmacSecret
// (the Base64 secret from the dashboard). It goes to ProductionURL, or to
// StagingURL for an "iimm_dev_" key, unless WithBaseURL says otherwise.
func NewClient(apiKey, hmacSecret string, opts ...Option) (*Client, error) {
	signer, err := NewSigner(apiKey, hmacSecret)
	if err != nil {
		return nil, err
	}
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			return nil, errors.New("iimmpact: NewClient: nil Option")
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	return newClient(signer, apiKey, o)
}

// newClient builds a Client from validated options.
func newClient(signer *Signer, apiKey string, o options) (*Client, error) {
	if o.baseURL == "" {
		o.baseURL = ProductionURL
		if strings.HasPrefix(apiKey, devKeyPrefix) {
			o.baseURL = StagingURL
		}
	}
	guard, err := newGuard(&o)
	if err != nil {
		return nil, err
	}
	var hc *http.Client
	if o.hc != nil {
		copied := *o.hc
		hc = &copied
	} else {
		hc = &http.Client{Transport: newOwnTransport()}
	}
	hc.CheckRedirect = refuseRedirect
	c := &Client{
		baseURL: o.baseURL, hc: hc, signer: signer, maxRetries: o.maxRetries, timeout: o.timeout,
		userAgent: []string{o.userAgent}, logger: o.logger, maxBody: o.maxBody, backoff: o.backoff,
		observer: o.observer, quotaWait: o.quotaWait, pollMin: o.pollMin, pollMax: o.pollMax, guard: guard, shared: o.shared,
		budget: retry.NewBudget(), sleep: retry.Wait, jitter: rand.Float64,
	}
	if o.coalesce {
		c.flights = &flights{calls: map[string]*flight{}}
	}
	switch origin := originOf(c.baseURL); {
	case strings.HasPrefix(apiKey, devKeyPrefix) && origin == originOf(ProductionURL):
		c.envHint = "an " + devKeyPrefix + " key works only with StagingURL"
	case strings.HasPrefix(apiKey, prodKeyPrefix) && origin == originOf(StagingURL):
		c.envHint = "an " + prodKeyPrefix + " key works only with ProductionURL"
	}
	return c, nil
}

// NewClientFromEnv is NewClient with the key and secret from IIMMPACT_API_KEY
// and IIMMPACT_HMAC_SECRET, and the base URL from IIMMPACT_BASE_URL when it is
// set. Options given here come after, and so win over, the environment. Its
// errors name the variable at fault.
func NewClientFromEnv(opts ...Option) (*Client, error) {
	key, secret, base := os.Getenv(envAPIKey), os.Getenv(envHMACSecret), os.Getenv(envBaseURL)
	switch {
	case key == "":
		return nil, errors.New("iimmpact: environment variable " + envAPIKey + " is not set")
	case secret == "":
		return nil, errors.New("iimmpact: environment variable " + envHMACSecret + " is not set")
	}
	if err := checkAPIKey(key); err != nil {
		return nil, fmt.Errorf("iimmpact: environment variable %s: %s", envAPIKey, strings.TrimPrefix(err.Error(), "iimmpact: "))
	}
	if _, err := decodeSecret(strings.TrimSpace(secret)); err != nil {
		return nil, fmt.Errorf("iimmpact: environment variable %s: %s", envHMACSecret, strings.TrimPrefix(err.Error(), "iimmpact: "))
	}
	if base != "" {
		if _, err := parseBaseURL(base); err != nil {
			return nil, fmt.Errorf("iimmpact: environment variable %s: %w", envBaseURL, err)
		}
		opts = append([]Option{WithBaseURL(base)}, opts...)
	}
	return NewClient(key, secret, opts...)
}

// CloseIdleConnections closes the idle connections of the pool the client
// owns (one of its own, unless WithHTTPClient gave it a client, whose
// transport is the caller's to close), for tests that check for leaked
// goroutines (goleak) after using a client.
func (c *Client) CloseIdleConnections() {
	if t, ok := c.hc.Transport.(ownTransport); ok {
		t.CloseIdleConnections()
	}
}
