package ledger

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/iimmpact-go/iimmpact"
)

// serveCallback posts body to h from the vendor's first callback IP.
func serveCallback(h http.Handler, body string) {
	r := httptest.NewRequest(http.MethodPost, "/iimmpact/callback", strings.NewReader(body))
	r.RemoteAddr = netip.AddrPortFrom(netip.MustParseAddr("18.140.170.98"), 4000).String()
	h.ServeHTTP(httptest.NewRecorder(), r)
}

var _ = iimmpact.Version

// path is the SQLite file of l (for a second pool on it).
func (l *Ledger) path(t testing.TB) string {
	var seq int
	var name, file string
	if err := l.db.QueryRow(`PRAGMA database_list`).Scan(&seq, &name, &file); err != nil {
		t.Fatal(err)
	}
	return file
}
