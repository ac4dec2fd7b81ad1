package iimmpact

import "net/http"

// The client's transport: a connection pool it owns, mocks installed the
// usual way, and no redirect followed.

// stdTransport is net/http's own DefaultTransport, as the process started.
var stdTransport = http.DefaultTransport

// ownTransport is a client's own connection pool, sized so 64 concurrent
// callers reuse connections; the API's headers are small, so a flood is
// refused. It sends through http.DefaultTransport instead once something
// replaced it (httpmock.Activate, gock, an APM agent's wrapper), so that a
// mock or an agent installed the usual way sees the client's requests.
type ownTransport struct{ pool *http.Transport }

func newOwnTransport() ownTransport {
	std, ok := stdTransport.(*http.Transport)
	if !ok {
		return ownTransport{} // something replaced it before this package was initialised
	}
	t := std.Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	t.MaxResponseHeaderBytes = 64 << 10
	return ownTransport{pool: t}
}

func (t ownTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if rt := http.DefaultTransport; rt != stdTransport || t.pool == nil {
		return rt.RoundTrip(req)
	}
	return t.pool.RoundTrip(req)
}

// CloseIdleConnections closes the pool's idle connections, never those of a
// transport the client does not own.
func (t ownTransport) CloseIdleConnections() {
	if t.pool != nil {
		t.pool.CloseIdleConnections()
	}
}

// refuseRedirect hands back the 3xx response, so the credential headers are
// never sent to the redirect's target.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
