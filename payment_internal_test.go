package iimmpact

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testPayment = Payment{RefID: "order-1", Product: "TNB", Account: "220012345678", Amount: "45.94"}

func txBody(status string, code int) string {
	return `{"data":{"status":"` + status + `","statusCode":` + strconv.Itoa(code) + `,"refid":"order-1","amount":45.94}}`
}

func TestPayUntilFinalAsksAtTheVendorsCadence(t *testing.T) {
	h := payHarness(t, reply(200, txBody("Accepted", 0)), reply(503, `{}`), reply(200, txBody("Processing", 1)),
		reply(200, txBody("Succesful", 20)))
	h.c.maxRetries = 0 // each ask is one request here
	tx, err := h.c.PayUntilFinal(context.Background(), testPayment)
	require.NoError(t, err)
	assert.Equal(t, TransactionSucceeded, tx.Status)
	assert.Equal(t, 4, h.mt.GetTotalCallCount(), "an unknown outcome is asked again too")
	require.Len(t, h.sleeps, 3)
	for _, d := range h.sleeps {
		assert.GreaterOrEqual(t, d, 5*time.Second)
		assert.LessOrEqual(t, d, 10*time.Second)
	}
}

func TestPayUntilFinalStopsWithTheContext(t *testing.T) {
	h := payHarness(t, reply(200, txBody("Processing", 1)))
	ctx, cancel := context.WithCancel(context.Background())
	h.c.sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	tx, err := h.c.PayUntilFinal(ctx, testPayment)
	require.ErrorIs(t, err, ErrOutcomeUnknown, "still processing is not failed")
	require.NotNil(t, tx)
	assert.Equal(t, TransactionProcessing, tx.Status)
}

func TestPayUntilFinalReturnsARefusal(t *testing.T) {
	h := payHarness(t, reply(400, `{"data":{"status":"Failed","statusCode":43,"message":"Insufficient wallet credit"}}`))
	_, err := h.c.PayUntilFinal(context.Background(), testPayment)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 43, apiErr.Code)
	assert.NotErrorIs(t, err, ErrOutcomeUnknown)
	assert.Empty(t, h.sleeps)
}

func TestPayIsNeverCoalesced(t *testing.T) {
	h := newHarness(t, WithCoalescing())
	release := make(chan struct{})
	arrived := make(chan struct{}, 2)
	h.mt.RegisterResponder(http.MethodPost, ProductionURL+paymentPath, func(*http.Request) (*http.Response, error) {
		arrived <- struct{}{}
		<-release
		return httpmock.NewStringResponse(200, txBody("Succesful", 20)), nil
	})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := h.c.Pay(context.Background(), testPayment)
			assert.NoError(t, err)
		}()
	}
	<-arrived
	<-arrived // both reached the API: neither joined the other
	close(release)
	wg.Wait()
	assert.Equal(t, 2, h.mt.GetTotalCallCount())
}

// FuzzPayNeverFailsAfterACharge: whatever a server answers, over up to three
// attempts, a payment it took is never reported as an error that says nothing
// was created. The server takes the payment on an attempt only when its
// answer to that attempt could come from a server that took it (a refusal,
// 400, 401, 403 or 429, never does).
func FuzzPayNeverFailsAfterACharge(f *testing.F) {
	f.Add(uint8(0x11), uint16(503), uint16(400), []byte(`{}`))
	f.Add(uint8(0x01), uint16(200), uint16(200), []byte(txBody("Succesful", 20)))
	f.Add(uint8(0x03), uint16(0), uint16(429), []byte(`{"message":"slow"}`))
	f.Add(uint8(0x07), uint16(500), uint16(401), []byte(txBody("Failed", 47)))
	f.Fuzz(func(t *testing.T, takes uint8, first, then uint16, body []byte) {
		mt := httpmock.NewMockTransport()
		var mu sync.Mutex
		charged, n := false, 0
		mt.RegisterResponder(http.MethodPost, ProductionURL+paymentPath, func(*http.Request) (*http.Response, error) {
			mu.Lock()
			defer mu.Unlock()
			status := int(then)
			if n == 0 {
				status = int(first)
			}
			take := takes&(1<<n) != 0
			n++
			if status != 0 && (status < 100 || status > 599) {
				status = 200
			}
			if take && !refusedUncreated(status) {
				charged = true
			}
			if status == 0 {
				return nil, errors.New("connection reset by peer")
			}
			return httpmock.NewBytesResponse(status, body), nil
		})
		c := newTestClient(t, freshOrigins(), WithHTTPClient(&http.Client{Transport: mt}))
		c.sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
		_, err := c.Pay(context.Background(), testPayment)
		mu.Lock()
		defer mu.Unlock()
		if charged && err != nil && !errors.Is(err, ErrOutcomeUnknown) {
			t.Fatalf("the server took the payment, and Pay said nothing was created: %v", err)
		}
	})
}

// After an ask whose outcome is unknown, a later ask refused before it
// left (the quota) proves nothing about the payment: still unknown.
func TestPayUntilFinalNeverForgetsAnEarlierUnknown(t *testing.T) {
	h := payHarness(t, reply(503, `{}`), reply(429, `{"message":"slow down"}`))
	h.c.maxRetries = 0
	_, err := h.c.PayUntilFinal(context.Background(), testPayment)
	require.ErrorIs(t, err, ErrOutcomeUnknown, "the first ask may have paid")
	assert.Equal(t, 2, h.mt.GetTotalCallCount())
}

// When PayUntilFinal's context ends, its error says once that the payment
// may have been made, and names the deadline and the last ask.
func TestPayUntilFinalNamesItsCauseOnce(t *testing.T) {
	h := payHarness(t, reply(503, `{}`))
	h.c.maxRetries = 0
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(time.Hour))
	defer cancel()
	h.c.sleep = func(context.Context, time.Duration) error { return context.DeadlineExceeded }
	_, err := h.c.PayUntilFinal(ctx, testPayment)
	require.ErrorIs(t, err, ErrOutcomeUnknown)
	assert.Equal(t, 1, strings.Count(err.Error(), "may have been made"), err.Error())
	assert.Contains(t, err.Error(), "deadline exceeded")
	assert.Contains(t, err.Error(), "503")
}
