package iimmpact_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

// The README's httpmock paths, each as a new user writes it.

// validBody is the README's httpmock recipe's body, to the byte.
const validBody = `{"data":{"message":"Account no is valid","BillerName":"Air Kelantan",` +
	`"Outstanding":45.94,"DueDate":"13/06/2025"},"metadata":{"status_code":200,"product_code":"AKSB",` +
	`"last_updated":"16-05-2025 10:49:36"},"transaction_validity":true,` +
	`"transaction_message":"Account validation successful with AKSB.","error_message":""}`

// The README's recipe holds the body these tests use, so a newcomer's copy
// works as it is.
func TestREADMEHTTPMockRecipeIsTested(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	start := strings.Index(string(readme), "httpmock.NewStringResponder(200, `")
	require.Positive(t, start)
	end := strings.Index(string(readme)[start:], "))")
	var body strings.Builder
	for i, part := range strings.Split(string(readme)[start:start+end], "`") {
		if i%2 == 1 {
			body.WriteString(part)
		}
	}
	assert.Equal(t, validBody, body.String())
}

func TestHTTPMockActivate(t *testing.T) {
	httpmock.Activate(t)
	httpmock.RegisterResponder(http.MethodGet, "https://staging.iimmpact.com/v2/bill-presentment",
		httpmock.NewStringResponder(200, validBody))

	client, err := iimmpact.NewClient("iimm_dev_test", "c2VjcmV0", iimmpact.WithMaxRetries(0))
	require.NoError(t, err, "NewClient never panics, whatever http.DefaultTransport holds")
	bill, err := client.BillPresentment(context.Background(), aksb)
	require.NoError(t, err)
	assert.Equal(t, iimmpact.ActionShow, bill.Decision().Action)
	assert.Equal(t, 1, httpmock.GetTotalCallCount(), "Activate intercepts the SDK")
}

func TestHTTPMockActivateThenTheSandboxResponder(t *testing.T) {
	httpmock.Activate(t)
	srv := iimmpacttest.NewHandler() // does not panic under Activate either
	httpmock.RegisterResponder(http.MethodGet, iimmpact.ProductionURL+"/v2/bill-presentment", srv.Responder())

	client, err := iimmpact.NewClient(srv.APIKey, srv.HMACSecret, iimmpact.WithBaseURL(iimmpact.ProductionURL))
	require.NoError(t, err)
	bill, err := client.BillPresentment(context.Background(), iimmpact.Query{Product: "AKSB", Account: "0000000000"})
	require.NoError(t, err)
	assert.Equal(t, iimmpact.ActionBlock, bill.Decision().Action, "the sandbox's scripted outcomes, signatures checked")
	assert.True(t, srv.Requests()[0].Authenticated)
}

func TestHTTPMockActivateNonDefault(t *testing.T) {
	hc := &http.Client{}
	httpmock.ActivateNonDefault(hc)
	t.Cleanup(httpmock.DeactivateAndReset)
	httpmock.RegisterResponder(http.MethodGet, "https://api.iimmpact.com/v2/bill-presentment", httpmock.NewStringResponder(200, validBody))

	client, err := iimmpact.NewClient("iimm_prod_test", "c2VjcmV0", iimmpact.WithHTTPClient(hc))
	require.NoError(t, err)
	bill, err := client.BillPresentment(context.Background(), aksb)
	require.NoError(t, err)
	assert.Equal(t, iimmpact.ActionShow, bill.Decision().Action)
}

func TestHTTPMockNewMockTransport(t *testing.T) {
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodGet, "https://api.iimmpact.com/v2/bill-presentment", httpmock.NewStringResponder(200, validBody))

	client, err := iimmpact.NewClient("iimm_prod_test", "c2VjcmV0", iimmpact.WithHTTPClient(&http.Client{Transport: mt}))
	require.NoError(t, err)
	bill, err := client.BillPresentment(context.Background(), aksb)
	require.NoError(t, err)
	assert.Equal(t, "RM 45.94", bill.Fields()[1].Value)
	assert.Equal(t, 1, mt.GetTotalCallCount())
}

// Without Activate, http.DefaultTransport is net/http's own again and the
// client keeps its tuned pool: a request to nowhere fails as a real one does.
func TestHTTPMockDeactivatedUsesTheRealTransport(t *testing.T) {
	httpmock.Activate()
	httpmock.DeactivateAndReset()
	srv := iimmpacttest.Start(t)
	client, err := iimmpact.NewClient(srv.APIKey, srv.HMACSecret, iimmpact.WithBaseURL(srv.URL))
	require.NoError(t, err)
	t.Cleanup(client.CloseIdleConnections)
	bill, err := client.BillPresentment(context.Background(), aksb)
	require.NoError(t, err)
	assert.Equal(t, iimmpact.ActionShow, bill.Decision().Action)
}
