package iimmpact_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

const callbackBody = `{"data":{"statusCode":20,"status":"Succesful","refid":"order-1001","account":"220012345678","product":"TNB","amount":45.94,"sn":"SN123","timestamp":"2026-12-04 10:00:00"}}`

// serveCallback sends one request to a callback handler and returns the
// status and what handle was given (nil when it was not called).
func serveCallback(t *testing.T, r *http.Request, opts ...iimmpact.CallbackOption) (int, *iimmpact.Callback) {
	t.Helper()
	var got *iimmpact.Callback
	h := iimmpact.NewCallbackHandler(func(_ context.Context, cb *iimmpact.Callback) { got = cb }, opts...)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, got
}

func post(from, body string, xff ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/iimmpact/callback", strings.NewReader(body))
	r.RemoteAddr = from
	for _, v := range xff {
		r.Header.Add("X-Forwarded-For", v)
	}
	return r
}

func TestCallbackFromTheVendor(t *testing.T) {
	status, cb := serveCallback(t, post("18.140.170.98:41000", callbackBody))
	require.Equal(t, http.StatusOK, status)
	require.NotNil(t, cb)
	assert.Equal(t, "order-1001", cb.RefID)
	assert.Equal(t, iimmpact.TransactionSucceeded, cb.Status)
	assert.Equal(t, 20, cb.Code)
	assert.Equal(t, int64(4594), cb.Amount.Sen())
	assert.Equal(t, "SN123", cb.SerialNumber)
	assert.Equal(t, netip.MustParseAddr("18.140.170.98"), cb.From)
	assert.False(t, cb.Time.IsZero())

	status, _ = serveCallback(t, post("3.1.120.89:1", callbackBody))
	assert.Equal(t, http.StatusOK, status, "staging's callback IPs are allowed by default")
}

func TestCallbackSenders(t *testing.T) {
	proxy := iimmpact.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8"))
	for _, tt := range []struct {
		name string
		r    *http.Request
		opts []iimmpact.CallbackOption
		want int
	}{
		{"anyone else", post("192.0.2.7:1", callbackBody), nil, 403},
		{"a forged X-Forwarded-For from an untrusted peer", post("192.0.2.7:1", callbackBody, "18.140.170.98"), nil, 403},
		{"loopback is not a trusted proxy by default", post("127.0.0.1:1", callbackBody, "18.140.170.98"), nil, 403},
		{"the vendor through a trusted proxy", post("10.1.2.3:1", callbackBody, "18.140.170.98"), []iimmpact.CallbackOption{proxy}, 200},
		{"through two trusted proxies", post("10.1.2.3:1", callbackBody, "18.140.170.98, 10.9.9.9"), []iimmpact.CallbackOption{proxy}, 200},
		{"a spoofed leftmost hop is ignored", post("10.1.2.3:1", callbackBody, "6.6.6.6, 18.140.170.98"), []iimmpact.CallbackOption{proxy}, 200},
		{"the rightmost untrusted hop is the sender", post("10.1.2.3:1", callbackBody, "18.140.170.98, 6.6.6.6"), []iimmpact.CallbackOption{proxy}, 403},
		{"hops across two headers", post("10.1.2.3:1", callbackBody, "18.140.170.98", "6.6.6.6"), []iimmpact.CallbackOption{proxy}, 403},
		{"a hop that is no address", post("10.1.2.3:1", callbackBody, "18.140.170.98, evil"), []iimmpact.CallbackOption{proxy}, 403},
		{"a trusted proxy itself is not the vendor", post("10.1.2.3:1", callbackBody), []iimmpact.CallbackOption{proxy}, 403},
		{"an IPv4-mapped IPv6 peer", post("[::ffff:18.140.170.98]:1", callbackBody), nil, 200},
		{"WithCallbackIPs replaces the list", post("18.140.170.98:1", callbackBody),
			[]iimmpact.CallbackOption{iimmpact.WithCallbackIPs(netip.MustParsePrefix("127.0.0.1/32"))}, 403},
		{"no refid", post("18.140.170.98:1", `{"data":{"status":"Succesful"}}`), nil, 400},
		{"not JSON", post("18.140.170.98:1", `status=ok`), nil, 400},
		{"over 1 MiB", post("18.140.170.98:1", `{"data":{"refid":"`+strings.Repeat("a", 1<<20)+`"}}`), nil, 413},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, cb := serveCallback(t, tt.r, tt.opts...)
			assert.Equal(t, tt.want, status)
			assert.Equal(t, tt.want == 200, cb != nil, "handle is called only for an accepted callback")
		})
	}
}

func TestCallbackGET(t *testing.T) {
	inner := `{"statusCode":0,"status":"Processing","refid":"order-7"}`
	for name, message := range map[string]string{"whole": `{"data":` + inner + `}`, "inner": inner} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/cb?"+url.Values{"refid": {"order-7"}, "status": {"1"}, "price": {"45.94"}, "message": {message}}.Encode(), nil)
			r.RemoteAddr = "43.217.31.158:9"
			status, cb := serveCallback(t, r)
			require.Equal(t, http.StatusOK, status)
			assert.Equal(t, "order-7", cb.RefID)
			assert.Equal(t, iimmpact.TransactionProcessing, cb.Status)
		})
	}
	r := httptest.NewRequest(http.MethodGet, "/cb?refid=order-8&status=20", nil)
	r.RemoteAddr = "43.217.31.158:9"
	status, cb := serveCallback(t, r)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, iimmpact.TransactionSucceeded, cb.Status, "the numeric status alone")
}

func TestCallbackTextAndCodeDisagree(t *testing.T) {
	_, cb := serveCallback(t, post("18.140.170.98:1", `{"data":{"statusCode":47,"status":"Succesful","refid":"r"}}`))
	require.NotNil(t, cb)
	assert.Empty(t, cb.Status, "neither is believed")
}

// The sandbox posts a callback on each status change; a handler behind the
// sandbox's loopback allowlist receives them.
func TestSandboxCallbacks(t *testing.T) {
	got := make(chan *iimmpact.Callback, 8)
	cbSrv := httptest.NewServer(iimmpact.NewCallbackHandler(func(_ context.Context, cb *iimmpact.Callback) { got <- cb },
		iimmpact.WithCallbackIPs(netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128"))))
	defer cbSrv.Close()
	srv := iimmpacttest.NewServer()
	defer srv.Close()
	srv.SetCallbackURL(cbSrv.URL)
	srv.SetPaymentSteps(1)
	for range 2 {
		_, err := srv.Client.Pay(context.Background(), tnbPayment)
		require.NoError(t, err)
	}
	var statuses []iimmpact.TransactionStatus
	for range 2 {
		select {
		case cb := <-got:
			assert.Equal(t, tnbPayment.RefID, cb.RefID)
			statuses = append(statuses, cb.Status)
		case <-time.After(10 * time.Second):
			t.Fatal("no callback")
		}
	}
	assert.ElementsMatch(t, []iimmpact.TransactionStatus{iimmpact.TransactionAccepted, iimmpact.TransactionSucceeded}, statuses)
}

// The vendor may hang up once it has its answer: handle's context is not
// cancelled with the connection, so its confirmation still goes out.
func TestCallbackHandleOutlivesTheHangUp(t *testing.T) {
	ctx, hangUp := context.WithCancel(context.Background())
	r := post("18.140.170.98:1", callbackBody).WithContext(ctx)
	var errAfter error
	h := iimmpact.NewCallbackHandler(func(ctx context.Context, _ *iimmpact.Callback) {
		hangUp() // the vendor read its 200 and closed the connection
		errAfter = ctx.Err()
	})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.NoError(t, errAfter)
}

// A callback Pay would not read is handed over as "ask": no status, no code;
// one whose refid is in doubt is refused.
func TestAmbiguousCallbacksAreNeverASuccess(t *testing.T) {
	const rest = `"refid":"order-1001","account":"220012345678","product":"TNB","amount":45.94`
	for _, tt := range []struct {
		name, body string
		refused    bool
	}{
		{"status twice", `{"data":{"status":"Failed","status":"Succesful","statusCode":20,` + rest + `}}`, false},
		{"statusCode twice", `{"data":{"status":"Succesful","statusCode":47,"statusCode":20,` + rest + `}}`, false},
		{"a code that is no number", `{"data":{` + rest + `,"status":"Succesful","statusCode":"forty-three"}}`, false},
		{"a second envelope after it", `{"data":{"status":"Failed","statusCode":47,` + rest + `}}{"data":{"status":"Succesful","statusCode":20,` + rest + `}}`, false},
		{"two data objects", `{"data":{"status":"Failed","statusCode":47,` + rest + `},"data":{"status":"Succesful","statusCode":20,` + rest + `}}`, true},
		{"refid twice", `{"data":{"status":"Succesful","statusCode":20,"refid":"order-1002",` + rest + `}}`, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, cb := serveCallback(t, post("18.140.170.98:41000", tt.body))
			if tt.refused {
				assert.Equal(t, http.StatusBadRequest, status)
				assert.Nil(t, cb)
				return
			}
			require.Equal(t, http.StatusOK, status)
			require.NotNil(t, cb)
			assert.Equal(t, "order-1001", cb.RefID)
			assert.Empty(t, cb.Status, "only asking tells")
			assert.Equal(t, -1, cb.Code)
		})
	}
}

// The callback's 200 is whole (it has a length) before handle returns: a
// vendor with a short timeout reads all of it while handle still confirms.
func TestCallbackAnswerIsWholeBeforeHandleReturns(t *testing.T) {
	release := make(chan struct{})
	returned := make(chan struct{})
	h := iimmpact.NewCallbackHandler(func(context.Context, *iimmpact.Callback) {
		<-release
		close(returned)
	}, iimmpact.WithCallbackIPs(netip.MustParsePrefix("127.0.0.0/8")))
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer func() { close(release); <-returned }()
	client := &http.Client{Timeout: 10 * time.Second} // a vendor with a short timeout, so a failure cannot hang
	resp, err := client.Post(srv.URL, "application/json", strings.NewReader(callbackBody))
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body) // with a chunked answer this waits for handle
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, int64(len(body)), resp.ContentLength)
	assert.JSONEq(t, `{"status":"ok"}`, string(body))
	select {
	case <-returned:
		t.Fatal("handle returned before the answer was read")
	default:
	}
}
