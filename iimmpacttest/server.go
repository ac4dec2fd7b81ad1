package iimmpacttest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/internal/verify"
)

// Server is a fake IIMMPACT on a loopback address. Its methods are safe for
// concurrent use, also while it serves.
type Server struct {
	// URL is the base URL, for iimmpact.WithBaseURL.
	URL string
	// APIKey and HMACSecret are credentials the server accepts.
	APIKey     string
	HMACSecret string
	// Client is an *iimmpact.Client bound to the server, with short retry
	// backoff so tests that script failures stay fast.
	Client *iimmpact.Client

	ts  *httptest.Server
	cfg config

	mu       sync.Mutex
	keys     [][]byte          // decoded HMAC secrets
	scripts  map[key][]Outcome // each used once in turn; the last one stays
	failures map[key][]Outcome // each used once, before anything else
	products map[string]Outcome
	statuses map[string]string // network status by product
	billers  map[string]JomPAYBiller
	nonces   *verify.Nonces
	ips      map[string]*ipCount
	requests []Request

	// Payments.
	txns           map[string]*transaction // by refid
	paid           map[key]int64           // sen paid by succeeded payments, by product and account
	wallet         int64                   // sen
	paySteps       int
	callbackURL    string
	callbackMethod string
	callbacks      sync.WaitGroup
	order          []*transaction // every transaction, in the order taken: the history
	lines          []bookLine     // the wallet's movements: the statement
	voidSteps      int
	callbackClient *http.Client
}

type key struct{ product, account string }

// Request is what the server received, recorded for assertions.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	// Body is the request's body (a payment's JSON).
	Body []byte
	// Authenticated reports whether the request passed the checks; AuthError
	// says why not.
	Authenticated bool
	AuthError     string
	// Status is the HTTP status the server answered.
	Status int
	Time   time.Time
}

// Option configures a Server.
type Option func(*config)

type config struct {
	secrets       []string
	skipAuth      bool
	now           func() time.Time
	tolerance     time.Duration
	noSamples     bool
	clientOptions []iimmpact.Option
	rate          rateLimit
	// noHistoryRefIDs leaves the refid out of the history's rows.
	noHistoryRefIDs bool
}

// rateLimit is the vendor's rule: at most requests per window per IP address,
// then 403 for block.
type rateLimit struct {
	requests      int
	window, block time.Duration
}

// WithSecrets makes the server also accept signatures made with these Base64
// secrets, as during a key rotation. HMACSecret stays the one the Client uses.
func WithSecrets(secrets ...string) Option {
	return func(c *config) { c.secrets = append(c.secrets, secrets...) }
}

// WithoutAuth skips every authentication check.
func WithoutAuth() Option { return func(c *config) { c.skipAuth = true } }

// WithClock sets the server's clock, used for the timestamp window and the Date
// header; to test clock skew, give it one far from the client's.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithTolerance sets the timestamp window (default five minutes).
func WithTolerance(d time.Duration) Option { return func(c *config) { c.tolerance = d } }

// WithRateLimit sets the vendor's rate limit to smaller numbers, to test how a
// checkout handles the block: past requests in any trailing window from one IP
// address, every request from it is answered 403 {"message":"Forbidden"} for
// block. The default is IIMMPACT's: 30,000 per 5 minutes, then 240 minutes.
func WithRateLimit(requests int, window, block time.Duration) Option {
	return func(c *config) { c.rate = rateLimit{requests, window, block} }
}

// WithoutSamples starts the server with no sample accounts.
func WithoutSamples() Option { return func(c *config) { c.noSamples = true } }

// WithClientOptions adds options to the ready Client.
func WithClientOptions(opts ...iimmpact.Option) Option {
	return func(c *config) { c.clientOptions = append(c.clientOptions, opts...) }
}

// NewServer starts a server. Close it when done. Like httptest.NewServer it
// panics rather than return an error, and only for a set-up bug: no loopback
// interface, or an invalid option given to WithClientOptions or WithSecrets.
func NewServer(opts ...Option) *Server {
	s := newServer(opts...)
	s.ts = httptest.NewServer(s)
	s.URL = s.ts.URL
	if err := s.newClient(s.ts.Client()); err != nil {
		s.ts.Close()
		panic("iimmpacttest: " + err.Error())
	}
	return s
}

// NewHandler returns a Server that does not listen: use it as an http.Handler,
// through Responder, or through its Client, which reaches it in memory. Its URL
// is a placeholder no request is sent to, its own for each handler so that no
// two share a quota count or a 403 breaker, and it needs no Close.
func NewHandler(opts ...Option) *Server {
	s := newServer(opts...)
	s.URL = "https://sandbox-" + strings.ToLower(rand.Text()) + ".iimmpact.invalid"
	if err := s.newClient(&http.Client{Transport: roundTripper(s.Responder())}); err != nil {
		panic("iimmpacttest: " + err.Error())
	}
	return s
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (s *Server) newClient(hc *http.Client) error {
	client, err := iimmpact.NewClient(s.APIKey, s.HMACSecret, append([]iimmpact.Option{
		iimmpact.WithBaseURL(s.URL),
		iimmpact.WithHTTPClient(hc),
		iimmpact.WithRetryBackoff(time.Millisecond, 10*time.Millisecond),
	}, s.cfg.clientOptions...)...)
	s.Client = client
	return err
}

// TB is the part of testing.TB that Start needs.
type TB interface {
	Helper()
	Cleanup(func())
}

// Start is NewServer for a test: the server is closed when the test ends.
func Start(t TB, opts ...Option) *Server {
	t.Helper()
	s := NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// newServer builds the server state without a listener; Responder uses it too.
func newServer(opts ...Option) *Server {
	s := &Server{
		scripts:        map[key][]Outcome{},
		failures:       map[key][]Outcome{},
		products:       map[string]Outcome{},
		statuses:       map[string]string{},
		billers:        map[string]JomPAYBiller{},
		ips:            map[string]*ipCount{},
		txns:           map[string]*transaction{},
		paid:           map[key]int64{},
		wallet:         100_000, // RM 1,000.00
		callbackClient: &http.Client{Timeout: 30 * time.Second},
		cfg: config{
			now: time.Now, tolerance: verify.DefaultTolerance,
			rate: rateLimit{30_000, 5 * time.Minute, 240 * time.Minute},
		},
	}
	for _, o := range opts {
		o(&s.cfg)
	}
	s.nonces = verify.NewNonces(2 * s.cfg.tolerance)
	s.APIKey = "iimm_dev_sandbox_" + strings.ToLower(rand.Text())
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // never fails; see crypto/rand.Read
	s.HMACSecret = base64.StdEncoding.EncodeToString(secret)
	s.keys = [][]byte{secret}
	for _, sec := range s.cfg.secrets {
		key, err := decodeSecret(sec)
		if err != nil {
			panic("iimmpacttest: WithSecrets: " + err.Error())
		}
		s.keys = append(s.keys, key)
	}
	if !s.cfg.noSamples {
		s.loadSamples()
	}
	return s
}

// Close stops the server and closes its client's idle connections.
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.Close()
	}
	s.callbacks.Wait()
	s.callbackClient.CloseIdleConnections()
}

// Set scripts the answers for one product and account. With several outcomes,
// each answers one request in turn and the last answers every request after.
// The product is compared without regard to case.
func (s *Server) Set(product, account string, outcomes ...Outcome) {
	if len(outcomes) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[key{strings.ToUpper(product), account}] = append([]Outcome(nil), outcomes...)
}

// SetProduct scripts the answer for every account of product that has no script
// of its own, such as Unavailable() for a product without bill presentment.
func (s *Server) SetProduct(product string, o Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.products[strings.ToUpper(product)] = o
}

// FailTimes makes the next n requests for product and account, bill
// presentments and payments alike, answer fail, then go on as before
// (scripted, per product, or invalid): "fail N times, then succeed". Failures
// come first, as an outage does, before any JomPAY rule. A payment answered
// a failure was not made, unless the failure is fail.AfterPaying().
//
// An unknown outcome, to test that a payment is never made twice: with n
// above the client's retries (3 by default),
//
//	srv.FailTimes("TNB", account, 4, iimmpacttest.Raw(503, nil, "").AfterPaying())
//
// makes Pay return an error matching iimmpact.ErrOutcomeUnknown after the
// payment was made; asking again (Pay with the same Payment, or
// PayUntilFinal under iimmpact.WithPaymentPolling for a fast test) answers it.
func (s *Server) FailTimes(product, account string, n int, fail Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{strings.ToUpper(product), account}
	for range n {
		s.failures[k] = append(s.failures[k], fail)
	}
}

// JomPAYBiller is a JomPAY biller the server knows.
type JomPAYBiller struct {
	Code      string
	Name      string
	NeedsRef2 bool
}

// AddJomPAYBiller makes the server accept biller code b.Code for product JOMPAY.
// Requests for an unknown biller code answer MsgBillerCodeInvalid.
func (s *Server) AddJomPAYBiller(b JomPAYBiller) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.billers[b.Code] = b
}

// Requests returns a copy of the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// ServeHTTP answers GET /v2/bill-presentment, GET /v2/networkstatus, POST
// /v2/topup and GET /v2/balance as the API does, and GET /img/CODE.svg with a
// logo for the products' product_img; any other path is 404 and any other
// method 405.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := s.cfg.now()
	var reqBody []byte
	if r.Body != nil { // a client's request, through Responder, may have none
		reqBody, _ = io.ReadAll(io.LimitReader(r.Body, 1<<20))
	}
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: reqBody, Time: now}
	status, header, body, delay := s.answer(r, reqBody, now, &rec)
	rec.Status = status
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()

	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
	h := w.Header()
	for k, vs := range header {
		h[k] = append([]string(nil), vs...)
	}
	if h.Get("Date") == "" {
		h.Set("Date", now.UTC().Format(http.TimeFormat))
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// answer decides the response and fills in rec's authentication result.
func (s *Server) answer(r *http.Request, body []byte, now time.Time, rec *Request) (int, http.Header, []byte, time.Duration) {
	if code, ok := strings.CutPrefix(r.URL.Path, "/img/"); ok && r.Method == http.MethodGet {
		return logo(strings.TrimSuffix(code, ".svg"))
	}
	method, known := endpoints[r.URL.Path]
	switch {
	case !known:
		return jsonError(http.StatusNotFound, "not_found", "no such endpoint")
	case !strings.Contains(method, r.Method):
		return jsonError(http.StatusMethodNotAllowed, "method_not_allowed", "use "+method)
	case s.limited(r, now):
		return http.StatusForbidden, nil, []byte(`{"message":"Forbidden"}`), 0
	}
	if !s.cfg.skipAuth {
		if msg := s.authenticate(r, body, now); msg != "" {
			rec.AuthError = msg
			return jsonError(http.StatusUnauthorized, "unauthorized", msg)
		}
	}
	rec.Authenticated = true
	if status, h, b, d, ok := s.money(r, body, now); ok {
		return status, h, b, d
	}
	q := r.URL.Query()
	for name, vs := range q {
		if len(vs) > 1 { // the API could read it either way
			return jsonError(http.StatusBadRequest, "bad_request", name+" is given more than once")
		}
	}
	product, account := strings.ToUpper(strings.TrimSpace(q.Get("product"))), q.Get("account")
	switch {
	case product == "":
		return jsonError(http.StatusBadRequest, "bad_request", "product is required")
	case r.URL.Path == "/v2/networkstatus":
		return s.networkStatus(product, now)
	case account == "":
		return jsonError(http.StatusBadRequest, "bad_request", "account is required")
	}
	o := s.outcome(product, account, q)
	return s.render(s.lessPaid(o, product, account), product, now)
}

// authenticate returns "" for a request the API would accept, or the message of
// its 401. It checks with its own code, not the client's, so it can catch the
// client's signing bugs. A nonce is remembered only once the signature is good,
// so a forged request cannot burn a real one.
func (s *Server) authenticate(r *http.Request, body []byte, now time.Time) string {
	if msg := verify.Request(r, body, s.APIKey, s.keys, now, s.cfg.tolerance); msg != "" {
		return msg
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.nonces.Add(r.Header.Get("X-Nonce"), now) {
		return verify.ReplayedNonce
	}
	return ""
}

// endpoints are the paths the server serves, with their methods.
var endpoints = map[string]string{
	"/v2/bill-presentment":   http.MethodGet,
	"/v2/networkstatus":      http.MethodGet,
	"/v2/balance":            http.MethodGet,
	"/v2/topup":              http.MethodPost,
	"/v2/transactions":       http.MethodGet,
	"/v2/balance-statement":  http.MethodGet,
	"/v2/transactions/void":  http.MethodPost,
	"/v2/transactions/check": http.MethodPost,
	"/v2/callback-url":       http.MethodGet + " " + http.MethodPost,
}

// ipCount is one IP address's requests in the rate limit's window.
type ipCount struct {
	times        []time.Time
	blockedUntil time.Time
}

// limited applies the vendor's rate limit to r's IP address.
func (s *Server) limited(r *http.Request, now time.Time) bool {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.ips[ip]
	if c == nil {
		c = &ipCount{}
		s.ips[ip] = c
	}
	if now.Before(c.blockedUntil) {
		return true
	}
	i := 0
	for i < len(c.times) && now.Sub(c.times[i]) >= s.cfg.rate.window {
		i++
	}
	c.times = append(c.times[i:], now)
	if len(c.times) > s.cfg.rate.requests {
		c.blockedUntil = now.Add(s.cfg.rate.block)
		c.times = nil
		return true
	}
	return false
}

func decodeSecret(secret string) ([]byte, error) {
	secret = strings.TrimSpace(secret)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(secret); err == nil && len(key) > 0 {
			return key, nil
		}
	}
	return nil, errors.New("secret is not Base64")
}

// takeFailure returns the next failure FailTimes queued for product and
// account, if any.
func (s *Server) takeFailure(product, account string) (Outcome, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{strings.ToUpper(product), account}
	fails := s.failures[k]
	if len(fails) == 0 {
		return Outcome{}, false
	}
	s.failures[k] = fails[1:]
	return fails[0], true
}

// payOrFail answers a payment, or the failure FailTimes queued for it.
func (s *Server) payOrFail(body []byte, now time.Time) (int, http.Header, []byte, time.Duration) {
	req, _, _ := readPayment(body)
	fail, failing := s.takeFailure(req.Product, req.Account)
	if !failing {
		return s.pay(body, now)
	}
	if fail.paidFirst {
		s.pay(body, now)
	}
	return s.render(fail, strings.ToUpper(req.Product), now)
}

// outcome picks the scripted answer, after the JomPAY rules.
func (s *Server) outcome(product, account string, q url.Values) Outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{product, account}
	if fails := s.failures[k]; len(fails) > 0 {
		s.failures[k] = fails[1:]
		return fails[0]
	}
	if product == "JOMPAY" {
		biller, ok := s.billers[q.Get("biller_code")]
		switch {
		case !ok:
			return InvalidAccount(MsgBillerCodeInvalid)
		case q.Get("amount") != "" && !validAmount(q.Get("amount")):
			return InvalidAccount(MsgAmountInvalid)
		case biller.NeedsRef2 && strings.TrimSpace(q.Get("ref2")) == "":
			return InvalidAccount(MsgRef2Required)
		}
	}
	if seq := s.scripts[k]; len(seq) > 0 {
		if len(seq) > 1 {
			s.scripts[k] = seq[1:]
		}
		return seq[0]
	}
	if o, ok := s.products[product]; ok {
		return o
	}
	if s.knows(product) {
		return InvalidAccount(MsgInvalidAccountNo)
	}
	// The API's only signal for a product without bill presentment.
	return Unavailable()
}

// knows reports whether any script or JomPAY biller names product.
func (s *Server) knows(product string) bool {
	if product == "JOMPAY" {
		return true
	}
	for k := range s.scripts {
		if k.product == product {
			return true
		}
	}
	return false
}

func validAmount(a string) bool {
	return iimmpact.Query{Account: "-", Product: "JOMPAY", BillerCode: "-", Amount: a}.Validate() == nil
}

// render turns an outcome into a response; an envelope gets its metadata here.
func (s *Server) render(o Outcome, product string, now time.Time) (int, http.Header, []byte, time.Duration) {
	if o.envelope == nil {
		return o.Status, o.Header, o.Body, o.Delay
	}
	e := o.envelope
	msg := e.transactionMessage
	if msg == nil && e.validity != nil && *e.validity {
		msg = ptr("Account validation successful with " + product + ".")
	}
	body, err := json.Marshal(wireEnvelope{
		Data:                e.data,
		Metadata:            wireMetadata{o.Status, product, now.In(gmt8).Format(lastUpdatedLayout)},
		TransactionValidity: e.validity,
		TransactionMessage:  msg,
		ErrorMessage:        e.errorMessage,
	})
	if err != nil { // a Data value json cannot encode: say so, as a 500
		return jsonError(http.StatusInternalServerError, "sandbox_error", "iimmpacttest: cannot encode Data: "+err.Error())
	}
	return o.Status, o.Header, body, o.Delay
}

// wireEnvelope is the body of a bill presentment answer, in the API's key order.
type wireEnvelope struct {
	Data                Data         `json:"data"`
	Metadata            wireMetadata `json:"metadata"`
	TransactionValidity *bool        `json:"transaction_validity"`
	TransactionMessage  *string      `json:"transaction_message"`
	ErrorMessage        string       `json:"error_message"`
}

type wireMetadata struct {
	StatusCode  int    `json:"status_code"`
	ProductCode string `json:"product_code"`
	LastUpdated string `json:"last_updated"`
}

// The API's zone and its metadata.last_updated layout, spelt here apart from
// the SDK's on purpose, as the message texts are.
var gmt8 = time.FixedZone("GMT+8", 8*60*60)

const lastUpdatedLayout = "02-01-2006 15:04:05"

func jsonError(status int, code, message string) (int, http.Header, []byte, time.Duration) {
	body, _ := json.Marshal(map[string]string{"error": code, "message": message})
	return status, nil, body, 0
}

// Responder returns an httpmock-compatible responder (a plain
// func(*http.Request) (*http.Response, error)) that answers like the server,
// scripts, samples and authentication included, without a network. Register it
// for iimmpact.ProductionURL+"/v2/bill-presentment" or any other URL.
func (s *Server) Responder() func(*http.Request) (*http.Response, error) {
	return func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, r)
		if err := r.Context().Err(); err != nil {
			return nil, err
		}
		resp := rec.Result()
		resp.Request = r
		return resp, nil
	}
}

// JomPAYBillers returns the JomPAY billers the server knows, by code.
func (s *Server) JomPAYBillers() []JomPAYBiller {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JomPAYBiller, 0, len(s.billers))
	for _, b := range s.billers {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b JomPAYBiller) int { return strings.Compare(a.Code, b.Code) })
	return out
}
