package iimmpact

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact/internal/retry"
)

func TestBillPresentmentShow(t *testing.T) {
	h := newHarness(t, WithUserAgent("shop/1.2"))
	h.respond(t, func(req *http.Request) (*http.Response, error) {
		assert.Equal(t, "account=1234567890&product=AKSB", req.URL.RawQuery)
		assert.Equal(t, "iimmpact-go/"+Version+" shop/1.2", req.Header.Get("User-Agent"))
		assert.Equal(t, "application/json", req.Header.Get("Accept"))
		resp, err := jsonResponder(200, golden(t, "valid_aksb.json"))(req)
		resp.Header.Set("x-amzn-RequestId", "5f0c-aa12")
		return resp, err
	})
	bill, err := h.c.BillPresentment(context.Background(), aksb)
	require.NoError(t, err)
	assert.Equal(t, "5f0c-aa12", bill.RequestID, "to quote to IIMMPACT support")
	assert.Equal(t, 200, bill.StatusCode)
	assert.Equal(t, Decision{Action: ActionShow, CanProceed: true, Reason: ReasonValid}, bill.Decision())
	assert.Equal(t, "RM 45.94", bill.Fields()[2].Value)
	assert.Equal(t, 1, h.mt.GetTotalCallCount())
}

func TestBillPresentmentDocumented400IsAnOutcome(t *testing.T) {
	h := newHarness(t)
	h.respond(t, jsonResponder(400, golden(t, "invalid_account_jompay.json")))
	bill, err := h.c.BillPresentment(context.Background(), Query{Account: "1", Product: "JOMPAY", BillerCode: "99"})
	require.NoError(t, err)
	assert.Equal(t, 400, bill.StatusCode)
	assert.Equal(t, Decision{Action: ActionBlock, Message: "The provided biller code is invalid", Reason: ReasonInvalidAccount}, bill.Decision())
	assert.Equal(t, 1, h.mt.GetTotalCallCount())
}

// The documented answer for an invalid account is a 400, but whatever status
// carries an envelope that says so, the payment is blocked.
func TestInvalidAccountBlocksUnderAnyStatus(t *testing.T) {
	for _, status := range []int{422, 404, 500, 503, 302} {
		h := newHarness(t, WithMaxRetries(1))
		h.respond(t, jsonResponder(status, golden(t, "invalid_account_jompay.json")))
		bill, err := h.c.BillPresentment(context.Background(), aksb)
		require.NoError(t, err, status)
		assert.Equal(t, ActionBlock, bill.Decision().Action, status)
		assert.Equal(t, status, bill.StatusCode)
	}
	h := newHarness(t, WithMaxRetries(0))
	h.respond(t, jsonResponder(500, golden(t, "valid_aksb.json")))
	_, err := h.c.BillPresentment(context.Background(), aksb)
	var apiErr *APIError
	assert.ErrorAs(t, err, &apiErr, "a 500 that says the account is valid is still an error: nothing is shown")
}

func TestFinalErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   []byte
		calls  int
		code   string
		inBody string
	}{
		{"400 not the envelope", 400, golden(t, "bad_request_plain.json"), 1, "bad_request", "product is required"},
		{"401", 401, golden(t, "unauthorized.json"), 1, "unauthorized", "API key not found"},
		{"403 is never retried", 403, []byte(`{"error":"forbidden","message":"blocked"}`), 1, "forbidden", "blocked"},
		{"404", 404, []byte(`not found`), 1, "", "not found"},
		{"502 html after retries", 502, golden(t, "bad_gateway.html"), 3, "", "<title>502 Bad Gateway</title>"},
		{"503 after retries", 503, []byte(`{"error":"unavailable","message":"retry later"}`), 3, "unavailable", "retry later"},
		{"500 after retries", 500, []byte(`{}`), 3, "", "{}"},
		{"504 after retries", 504, []byte(`{"message":"Endpoint request timed out"}`), 3, "", "timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.respond(t, jsonResponder(tt.status, tt.body))
			bill, err := h.c.BillPresentment(context.Background(), aksb)
			require.Error(t, err)
			assert.Nil(t, bill)
			assert.Equal(t, Decision{Action: ActionHide, CanProceed: true, Reason: ReasonError}, bill.Decision())
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.Equal(t, tt.code, apiErr.Kind)
			assert.Contains(t, apiErr.Body, tt.inBody)
			assert.Equal(t, tt.calls, apiErr.Attempts)
			assert.Equal(t, tt.calls, h.mt.GetTotalCallCount())
			assert.Len(t, h.sleeps, tt.calls-1)
		})
	}
}

func TestRetriesResignEveryAttempt(t *testing.T) {
	h := newHarness(t)
	h.respond(t, jsonResponder(503, []byte(`{}`)).Then(jsonResponder(503, []byte(`{}`))).Then(jsonResponder(200, golden(t, "valid_aksb.json"))))
	bill, err := h.c.BillPresentment(context.Background(), aksb)
	require.NoError(t, err)
	assert.Equal(t, ActionShow, bill.Decision().Action)
	require.Len(t, h.nonces, 3)
	assert.Len(t, uniq(h.nonces), 3, "every attempt has a fresh nonce")
	assert.Len(t, uniq(h.sigs), 3, "every attempt has a fresh signature")
	require.Len(t, h.sleeps, 2)
	assert.True(t, h.sleeps[0] >= 100*time.Millisecond && h.sleeps[0] <= 200*time.Millisecond, "%s", h.sleeps[0])
	assert.True(t, h.sleeps[1] >= 200*time.Millisecond && h.sleeps[1] <= 400*time.Millisecond, "%s", h.sleeps[1])
}

func uniq(s []string) map[string]bool {
	m := map[string]bool{}
	for _, v := range s {
		m[v] = true
	}
	return m
}

func TestMaxRetries(t *testing.T) {
	for _, n := range []int{0, 1, 4} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			h := newHarness(t, WithMaxRetries(n))
			h.respond(t, jsonResponder(503, nil))
			_, err := h.c.BillPresentment(context.Background(), aksb)
			require.Error(t, err)
			assert.Equal(t, n+1, h.mt.GetTotalCallCount())
		})
	}
}

func TestTransportErrorsAreRetried(t *testing.T) {
	h := newHarness(t)
	h.respond(t, httpmock.NewErrorResponder(errors.New("connection reset by peer")).Once().Then(jsonResponder(200, golden(t, "valid_aksb.json"))))
	bill, err := h.c.BillPresentment(context.Background(), aksb)
	require.NoError(t, err)
	assert.Equal(t, ActionShow, bill.Decision().Action)
	assert.Equal(t, 2, h.mt.GetTotalCallCount())

	h2 := newHarness(t)
	h2.respond(t, httpmock.NewErrorResponder(errors.New("connection refused")))
	_, err = h2.c.BillPresentment(context.Background(), aksb)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "connection refused")
	assert.Equal(t, 3, h2.mt.GetTotalCallCount())
}

func TestRetryAfter(t *testing.T) {
	future := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		header string
		min    time.Duration
		max    time.Duration
	}{
		{"2", 2 * time.Second, 2 * time.Second},
		{"0", 0, 0},
		{"-5", 0, 0},
		{"99999999999999", retry.MaxRetryAfter, retry.MaxRetryAfter},
		{future, retry.MaxRetryAfter, retry.MaxRetryAfter},
		{"Wed, 21 Oct 2015 07:28:00 GMT", 0, 0},
		{"soon", 100 * time.Millisecond, 200 * time.Millisecond}, // unreadable: backoff
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			h := newHarness(t)
			h.respond(t, jsonResponder(429, nil).HeaderSet(http.Header{"Retry-After": {tt.header}}).Once().Then(jsonResponder(200, golden(t, "valid_aksb.json"))))
			_, err := h.c.BillPresentment(context.Background(), aksb)
			require.NoError(t, err)
			require.Len(t, h.sleeps, 1)
			assert.True(t, h.sleeps[0] >= tt.min && h.sleeps[0] <= tt.max, "waited %s", h.sleeps[0])
		})
	}
}

func TestRetryAfterBeyondDeadlineStopsAtOnce(t *testing.T) {
	h := newHarness(t)
	h.respond(t, jsonResponder(429, []byte(`{"message":"slow down"}`)).HeaderSet(http.Header{"Retry-After": {"20"}}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := h.c.BillPresentment(ctx, aksb)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 429, apiErr.StatusCode)
	assert.Empty(t, h.sleeps, "a wait that would outlast the context is not started")
	assert.Equal(t, 1, h.mt.GetTotalCallCount())
}

func TestCancelDuringBackoffReturnsAtOnce(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	waited := make(chan time.Duration, 1)
	h.c.sleep = func(ctx context.Context, d time.Duration) error {
		waited <- d
		cancel() // the caller gives up while the client backs off
		return retryWait(ctx, time.Hour)
	}
	h.respond(t, jsonResponder(503, []byte("{}")))
	bill, err := h.c.BillPresentment(ctx, aksb)
	assert.Nil(t, bill)
	assert.ErrorIs(t, err, context.Canceled)
	var apiErr *APIError
	assert.ErrorAs(t, err, &apiErr, "the last answer is kept")
	assert.Equal(t, 1, h.mt.GetTotalCallCount())
	assert.Positive(t, <-waited)
}

func TestPerAttemptTimeout(t *testing.T) {
	h := newHarness(t, WithTimeout(20*time.Millisecond), WithMaxRetries(1))
	h.respond(t, func(req *http.Request) (*http.Response, error) {
		<-req.Context().Done() // a biller that never answers
		return nil, req.Context().Err()
	})
	_, err := h.c.BillPresentment(context.Background(), aksb)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 2, h.mt.GetTotalCallCount())
}

func TestCallerDeadline(t *testing.T) {
	h := newHarness(t)
	h.respond(t, func(req *http.Request) (*http.Response, error) {
		<-req.Context().Done()
		return nil, req.Context().Err()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := h.c.BillPresentment(ctx, aksb)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 1, h.mt.GetTotalCallCount(), "the caller's deadline is not retried")
}

func TestRedirectIsRefused(t *testing.T) {
	h := newHarness(t)
	h.respond(t, func(*http.Request) (*http.Response, error) {
		resp := httpmock.NewStringResponse(http.StatusFound, "")
		resp.Header.Set("Location", "https://evil.example.com/collect")
		return resp, nil
	})
	h.mt.RegisterResponder(http.MethodGet, "=~^https://evil", httpmock.NewStringResponder(200, "{}"))
	_, err := h.c.BillPresentment(context.Background(), aksb)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrRedirect)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusFound, apiErr.StatusCode)
	assert.Equal(t, 1, h.mt.GetTotalCallCount(), "the redirect target is never called")
}

func TestOversizedBodies(t *testing.T) {
	big := append([]byte(`{"data":{"message":"Account no is valid","BillerName":"`), bytes.Repeat([]byte("x"), 1<<20)...)
	big = append(big, `"}}`...)
	for _, withLength := range []bool{false, true} {
		t.Run(fmt.Sprint("content-length ", withLength), func(t *testing.T) {
			h := newHarness(t)
			r := jsonResponder(200, big)
			if withLength {
				r = r.SetContentLength()
			}
			h.respond(t, r)
			_, err := h.c.BillPresentment(context.Background(), aksb)
			assert.ErrorIs(t, err, ErrResponseTooLarge)
			assert.Equal(t, 1, h.mt.GetTotalCallCount(), "not retried")
		})
	}
	h := newHarness(t, WithMaxResponseSize(int64(len(golden(t, "valid_aksb.json")))))
	h.respond(t, jsonResponder(200, golden(t, "valid_aksb.json")))
	_, err := h.c.BillPresentment(context.Background(), aksb)
	assert.NoError(t, err, "a body of exactly the limit is read")
}

func TestMalformed200(t *testing.T) {
	for _, body := range []string{"not json", `{"metadata":{}}`, `{"data":{"Outstanding":"x"}}`, ""} {
		h := newHarness(t)
		h.respond(t, jsonResponder(200, []byte(body)))
		bill, err := h.c.BillPresentment(context.Background(), aksb)
		assert.ErrorIs(t, err, ErrMalformedResponse, body)
		assert.Nil(t, bill)
		assert.Equal(t, 1, h.mt.GetTotalCallCount())
	}
}

func TestSigningFailureIsNotRetried(t *testing.T) {
	h := newHarness(t)
	h.c.signer.NewNonce = func() string { return "short" }
	h.respond(t, jsonResponder(200, golden(t, "valid_aksb.json")))
	_, err := h.c.BillPresentment(context.Background(), aksb)
	assert.ErrorContains(t, err, "NewNonce must return 16 to 128 printable ASCII characters")
	assert.Equal(t, 0, h.mt.GetTotalCallCount())
	assert.Empty(t, h.sleeps)
}

func TestNilContextIsAnError(t *testing.T) {
	h := newHarness(t)
	var ctx context.Context // a caller's bug, reported rather than panicking
	_, err := h.c.BillPresentment(ctx, aksb)
	assert.ErrorContains(t, err, "nil Context")
	assert.Equal(t, 0, h.mt.GetTotalCallCount())
}

func TestInvalidQuerySendsNothing(t *testing.T) {
	h := newHarness(t)
	h.respond(t, jsonResponder(200, golden(t, "valid_aksb.json")))
	_, err := h.c.BillPresentment(context.Background(), Query{Product: "JOMPAY", Account: "1"})
	assert.ErrorIs(t, err, ErrInvalidQuery)
	assert.Contains(t, err.Error(), "biller_code")
	assert.Equal(t, 0, h.mt.GetTotalCallCount())
}

func TestSecretsNeverLeak(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newHarness(t, WithLogger(logger))
	var sent []string
	echo := func(req *http.Request) (*http.Response, error) {
		// A misbehaving server that echoes everything it was sent.
		sent = append(sent, req.Header.Get("X-Signature")[3:])
		body := fmt.Sprintf(`{"error":"echo %s","message":"%s %s"}`, req.Header.Get("X-Api-Key"), req.Header.Get("X-Signature"), testSecret)
		return httpmock.NewStringResponse(401, body), nil
	}
	h.respond(t, echo)
	_, err := h.c.BillPresentment(context.Background(), aksb)
	require.Error(t, err)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)

	h5 := newHarness(t, WithLogger(logger))
	h5.respond(t, func(req *http.Request) (*http.Response, error) {
		_, _ = echo(req)
		return httpmock.NewStringResponse(503, req.Header.Get("X-Api-Key")+" "+req.Header.Get("X-Signature")), nil
	})
	_, err5 := h5.c.BillPresentment(context.Background(), aksb)
	require.Error(t, err5)

	var out strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		for _, v := range []any{err, err5, apiErr, h.c, h.c.signer, aksb} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
	}
	out.WriteString(logs.String())
	out.WriteString(apiErr.Body + apiErr.Message + apiErr.Kind)
	require.NotEmpty(t, sent)
	for _, secret := range append([]string{"TESTKEY0123456789", testSecret, "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY", "secret-key-for-tests"}, sent...) {
		assert.NotContains(t, out.String(), secret)
	}
	assert.Contains(t, apiErr.Body, "[REDACTED]")
	assert.Contains(t, logs.String(), "iimmpact: retrying", "the logs were written")
	assert.Contains(t, logs.String(), "msg=\"iimmpact: answer\" status=503 request_id=\"\" call=bill_presentment attempts=3")
}

func TestClockSkewIsCorrectedOnce(t *testing.T) {
	local := time.Unix(1_750_000_000, 0)
	for _, offset := range []time.Duration{10 * time.Minute, -7 * time.Minute} {
		t.Run(offset.String(), func(t *testing.T) {
			h := newHarness(t)
			h.c.signer.Now = func() time.Time { return local }
			server := local.Add(offset)
			h.serverNow = func() time.Time { return server }
			h.mt.RegisterResponder(http.MethodGet, endpoint, func(req *http.Request) (*http.Response, error) {
				h.nonces = append(h.nonces, req.Header.Get("X-Timestamp"))
				if h.check(req) != "" {
					resp := httpmock.NewStringResponse(401, `{"error":"unauthorized","message":"stale"}`)
					resp.Header.Set("Date", server.UTC().Format(http.TimeFormat))
					return resp, nil
				}
				return httpmock.NewBytesResponse(200, golden(t, "valid_aksb.json")), nil
			})
			_, err := h.c.BillPresentment(context.Background(), aksb)
			require.NoError(t, err)
			assert.Equal(t, 2, h.mt.GetTotalCallCount())
			assert.Equal(t, offset, time.Duration(h.c.skew.Load()))
			_, err = h.c.BillPresentment(context.Background(), aksb)
			require.NoError(t, err)
			assert.Equal(t, 3, h.mt.GetTotalCallCount(), "later calls sign with the offset at once")
			assert.Equal(t, fmt.Sprint(server.Unix()), h.nonces[2])
		})
	}

	t.Run("never loops", func(t *testing.T) {
		h := newHarness(t)
		h.mt.RegisterResponder(http.MethodGet, endpoint, func(*http.Request) (*http.Response, error) {
			resp := httpmock.NewStringResponse(401, `{}`)
			resp.Header.Set("Date", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
			return resp, nil
		})
		_, err := h.c.BillPresentment(context.Background(), aksb)
		require.Error(t, err)
		assert.Equal(t, 2, h.mt.GetTotalCallCount())
	})

	t.Run("small difference is not skew", func(t *testing.T) {
		h := newHarness(t)
		h.respond(t, func(*http.Request) (*http.Response, error) {
			resp := httpmock.NewStringResponse(401, `{}`)
			resp.Header.Set("Date", time.Now().Add(time.Minute).UTC().Format(http.TimeFormat))
			return resp, nil
		})
		_, err := h.c.BillPresentment(context.Background(), aksb)
		require.Error(t, err)
		assert.Equal(t, 1, h.mt.GetTotalCallCount())
		assert.Zero(t, time.Duration(h.c.skew.Load()))
	})
}

func TestRetryBudgetStopsRetryStorms(t *testing.T) {
	h := newHarness(t)
	h.respond(t, jsonResponder(503, nil))
	for range 10 {
		_, err := h.c.BillPresentment(context.Background(), aksb)
		require.Error(t, err)
	}
	// 3 attempts, then 2 while the bucket drains below half, then 1 a call.
	assert.Equal(t, 3+2+8, h.mt.GetTotalCallCount())
}

func TestAPIKeyEnvironmentHint(t *testing.T) {
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodGet, endpoint, jsonResponder(401, golden(t, "unauthorized.json")))
	c, err := NewClient("iimm_dev_abc", testSecret, WithBaseURL(ProductionURL), WithHTTPClient(&http.Client{Transport: mt}))
	require.NoError(t, err)
	_, err = c.BillPresentment(context.Background(), aksb)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "API key not found")
	assert.Contains(t, err.Error(), "iimm_dev_ key works only with StagingURL")
}

// hostileSecret decodes to bytes whose standard Base64 has "/" and "+", so the
// JSON escape \/ and the URL-safe alphabet both change how it is spelt.
var hostileKey = []byte("\xff\xff\xffsecret\xfb\xef\xbe-tail-0123456789")

func hostileTargets(sig, account string) []string {
	return []string{
		base64.StdEncoding.EncodeToString(hostileKey), base64.RawStdEncoding.EncodeToString(hostileKey),
		base64.URLEncoding.EncodeToString(hostileKey), base64.RawURLEncoding.EncodeToString(hostileKey),
		testKey, sig, account, url.QueryEscape(account), strings.ReplaceAll(account, "/", `\/`),
		url.PathEscape(account), strings.ToLower(url.QueryEscape(account)), strings.ReplaceAll(url.QueryEscape(account), "+", "%20"),
	}
}

func TestRedactionCoversEveryForm(t *testing.T) {
	secret := base64.StdEncoding.EncodeToString(hostileKey)
	require.True(t, strings.ContainsAny(secret, "/") && strings.ContainsAny(secret, "+"), secret)
	const account = "12 34/56+78"
	var logs bytes.Buffer
	mt := httpmock.NewMockTransport()
	c, err := NewClient(testKey, secret, WithHTTPClient(&http.Client{Transport: mt}), WithMaxRetries(0),
		WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	require.NoError(t, err)
	var sig string
	esc := func(s string) string { return strings.ReplaceAll(s, "/", `\/`) } // PHP's json_encode
	uni := func(s string) string {
		var b strings.Builder
		for _, r := range s {
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		return b.String()
	}
	for _, status := range []int{500, 404, 401} {
		mt.RegisterResponder(http.MethodGet, endpoint, func(req *http.Request) (*http.Response, error) {
			sig = strings.TrimPrefix(req.Header.Get("X-Signature"), "v1=")
			body := fmt.Sprintf(`{"error":"%s %s","message":"%s %s %s","detail":["%s","%s","%s",%q]}`,
				esc(secret), uni(testKey), esc(sig), uni(account), url.QueryEscape(account),
				base64.RawURLEncoding.EncodeToString(hostileKey), base64.URLEncoding.EncodeToString(hostileKey),
				base64.RawStdEncoding.EncodeToString(hostileKey), account)
			resp := httpmock.NewStringResponse(status, body)
			resp.Header.Set("X-Request-Id", sig)
			return resp, nil
		})
		_, err = c.BillPresentment(context.Background(), Query{Product: "AKSB", Account: account})
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		out := fmt.Sprintf("%v|%+v|%#v|%s|%s|%s|%s|%s", err, apiErr, *apiErr, apiErr.Kind, apiErr.Message, apiErr.Body, apiErr.RequestID, logs.String())
		for _, leak := range hostileTargets(sig, account) {
			assert.NotContains(t, out, leak, "status %d", status)
		}
		assert.Contains(t, apiErr.Body, redacted)
		assert.Contains(t, apiErr.Body, `"detail":[`, "the rest of the body stays readable")
	}
}

func TestAttemptsCountTheResignedRequest(t *testing.T) {
	h := newHarness(t)
	h.mt.RegisterResponder(http.MethodGet, endpoint, func(*http.Request) (*http.Response, error) {
		resp := httpmock.NewStringResponse(401, `{"message":"stale"}`)
		resp.Header.Set("Date", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
		return resp, nil
	})
	_, err := h.c.BillPresentment(context.Background(), aksb)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 2, h.mt.GetTotalCallCount())
	assert.Equal(t, 2, apiErr.Attempts, "the re-signed request was sent too")
}

func TestCancelledContextSendsNothing(t *testing.T) {
	for _, opts := range [][]Option{nil, {WithCoalescing()}} {
		h := newHarness(t, opts...)
		h.respond(t, jsonResponder(200, golden(t, "valid_aksb.json")))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := h.c.BillPresentment(ctx, aksb)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 0, h.mt.GetTotalCallCount())
	}
}

// FuzzNoSecretInErrors: whatever a server answers, and however it echoes what
// it was sent, no error text or APIError field holds a credential, a signature
// or the account number.
func FuzzNoSecretInErrors(f *testing.F) {
	f.Add(500, []byte(`{"message":"%s"}`), uint8(0xff))
	f.Add(404, []byte(`<html>%s</html>`), uint8(0x0f))
	f.Add(200, []byte(`{"data":"%s"}`), uint8(0x33))
	f.Add(302, []byte(`%s`), uint8(0x81))
	secret := base64.StdEncoding.EncodeToString(hostileKey)
	const account = "12 34/56+78"
	f.Fuzz(func(t *testing.T, status int, tmpl []byte, mask uint8) {
		if status < 200 || status > 599 {
			return
		}
		mt := httpmock.NewMockTransport()
		c, err := NewClient(testKey, secret, WithHTTPClient(&http.Client{Transport: mt}), WithMaxRetries(0), WithoutQuota())
		if err != nil {
			t.Fatal(err)
		}
		var sig string
		mt.RegisterResponder(http.MethodGet, endpoint, func(req *http.Request) (*http.Response, error) {
			sig = strings.TrimPrefix(req.Header.Get("X-Signature"), "v1=")
			var echo []string
			for i, v := range hostileTargets(sig, account) {
				if mask&(1<<(i%8)) != 0 {
					echo = append(echo, v, strings.ReplaceAll(v, "/", `\/`))
				}
			}
			body := strings.ReplaceAll(string(tmpl), "%s", strings.Join(echo, " "))
			return httpmock.NewStringResponse(status, body), nil
		})
		_, err = c.BillPresentment(context.Background(), Query{Product: "AKSB", Account: account})
		if err == nil {
			return
		}
		out := err.Error()
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			out += apiErr.Kind + apiErr.Message + apiErr.Body + apiErr.RequestID
		}
		for _, leak := range hostileTargets(sig, account) {
			if strings.Contains(out, leak) {
				t.Fatalf("%q leaks %q", out, leak)
			}
		}
	})
}

func TestHostileBodyMeetsTheDeadline(t *testing.T) {
	body := `{"data":{"message":"Account no is valid","CustomField":` + deep(10_000, 1<<20-200) + `}}`
	for _, status := range []int{200, 401} {
		h := newHarness(t, WithMaxResponseSize(2<<20))
		h.respond(t, jsonResponder(status, []byte(body)))
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		start := time.Now()
		_, _ = h.c.BillPresentment(ctx, aksb)
		cancel()
		// Before, a 783 KiB body 300 deep kept the call 4 s past its deadline.
		assert.Less(t, time.Since(start), 300*time.Millisecond+time.Second, "status %d", status)
	}
}
