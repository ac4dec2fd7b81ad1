package iimmpact

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBaseURL(t *testing.T) {
	tests := []struct {
		key, base, want string
	}{
		{"iimm_prod_x", "", ProductionURL + "/v2/bill-presentment"},
		{"iimm_dev_x", "", StagingURL + "/v2/bill-presentment"},
		{"other", "", ProductionURL + "/v2/bill-presentment"},
		{"iimm_dev_x", ProductionURL, ProductionURL + "/v2/bill-presentment"},
		{"k", "https://staging.iimmpact.com/v2", StagingURL + "/v2/bill-presentment"},
		{"k", "https://staging.iimmpact.com/v2/", StagingURL + "/v2/bill-presentment"},
		{"k", "https://staging.iimmpact.com/", StagingURL + "/v2/bill-presentment"},
		{"k", "http://127.0.0.1:8080", "http://127.0.0.1:8080/v2/bill-presentment"},
		{"k", "http://localhost:9", "http://localhost:9/v2/bill-presentment"},
		{"k", "http://[::1]:9/", "http://[::1]:9/v2/bill-presentment"},
		{"k", "https://proxy.example.com/iimmpact/v2", "https://proxy.example.com/iimmpact/v2/bill-presentment"},
	}
	for _, tt := range tests {
		t.Run(tt.key+" "+tt.base, func(t *testing.T) {
			var opts []Option
			if tt.base != "" {
				opts = append(opts, WithBaseURL(tt.base))
			}
			c, err := NewClient(tt.key, testSecret, opts...)
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.baseURL+billPath)
		})
	}
}

func TestOptionsRejectBadValues(t *testing.T) {
	tests := []struct {
		name string
		opt  Option
		want string
	}{
		{"plain http remote", WithBaseURL("http://api.iimmpact.com"), "plain http is allowed only for loopback"},
		{"no scheme", WithBaseURL("api.iimmpact.com"), "scheme must be https"},
		{"ftp", WithBaseURL("ftp://x"), "scheme must be https"},
		{"no host", WithBaseURL("https://"), "host is missing"},
		{"user info", WithBaseURL("https://u:p@x.com"), "user or password"},
		{"query", WithBaseURL("https://x.com?a=1"), "query or fragment"},
		{"bad url", WithBaseURL("https://x.com/%zz"), "not a URL"},
		{"nil http client", WithHTTPClient(nil), "client is nil"},
		{"negative retries", WithMaxRetries(-1), "WithMaxRetries"},
		{"too many retries", WithMaxRetries(11), "WithMaxRetries"},
		{"zero timeout", WithTimeout(0), "WithTimeout"},
		{"user agent newline", WithUserAgent("a\r\nX-Evil: 1"), "WithUserAgent"},
		{"nil logger", WithLogger(nil), "WithLogger"},
		{"zero body limit", WithMaxResponseSize(0), "WithMaxResponseSize"},
		{"nil option", nil, "nil Option"},
		{"no polling", WithPaymentPolling(0, time.Second), "WithPaymentPolling"},
		{"polling backwards", WithPaymentPolling(2*time.Second, time.Second), "WithPaymentPolling"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(testKey, testSecret, tt.opt)
			assert.Nil(t, c)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestNewClientRejectsCredentials(t *testing.T) {
	_, err := NewClient("", testSecret)
	assert.ErrorContains(t, err, "API key is empty")
	_, err = NewClient(testKey, "")
	assert.ErrorContains(t, err, "HMAC secret is empty")
	_, err = NewClient(testKey, "%%%")
	assert.ErrorContains(t, err, "not valid Base64")
}

func TestNewClientFromEnv(t *testing.T) {
	t.Setenv(envAPIKey, "")
	t.Setenv(envHMACSecret, "")
	t.Setenv(envBaseURL, "")
	_, err := NewClientFromEnv()
	assert.ErrorContains(t, err, envAPIKey)

	t.Setenv(envAPIKey, "iimm_dev_x")
	_, err = NewClientFromEnv()
	assert.ErrorContains(t, err, envHMACSecret)

	t.Setenv(envHMACSecret, testSecret)
	c, err := NewClientFromEnv()
	require.NoError(t, err)
	assert.Equal(t, StagingURL+"/v2/bill-presentment", c.baseURL+billPath)

	t.Setenv(envBaseURL, "http://127.0.0.1:1/v2")
	c, err = NewClientFromEnv()
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:1/v2/bill-presentment", c.baseURL+billPath)

	c, err = NewClientFromEnv(WithBaseURL(ProductionURL))
	require.NoError(t, err)
	assert.Equal(t, ProductionURL+"/v2/bill-presentment", c.baseURL+billPath, "options win over the environment")

	t.Setenv(envBaseURL, "http://example.com")
	_, err = NewClientFromEnv()
	assert.ErrorContains(t, err, "environment variable IIMMPACT_BASE_URL: plain http is allowed only for loopback hosts")

	t.Setenv(envBaseURL, "")
	t.Setenv(envHMACSecret, "not base64!!")
	_, err = NewClientFromEnv()
	assert.ErrorContains(t, err, "environment variable IIMMPACT_HMAC_SECRET: HMAC secret is not valid Base64")
	assert.NotContains(t, err.Error(), "not base64!!")
	t.Setenv(envHMACSecret, testSecret)
	t.Setenv(envAPIKey, "key\nwith newline")
	_, err = NewClientFromEnv()
	assert.ErrorContains(t, err, "environment variable IIMMPACT_API_KEY: API key contains characters not allowed")
}

func TestRetryBackoffOption(t *testing.T) {
	for _, bad := range [][2]time.Duration{{0, time.Second}, {time.Second, time.Millisecond}, {-1, -1}} {
		_, err := NewClient(testKey, testSecret, WithRetryBackoff(bad[0], bad[1]))
		assert.ErrorContains(t, err, "WithRetryBackoff")
	}
	c := newTestClient(t, WithRetryBackoff(time.Millisecond, 2*time.Millisecond))
	assert.Equal(t, 2*time.Millisecond, c.backoff.Max)
}
