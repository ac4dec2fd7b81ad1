package iimmpacttest

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"strings"
	"time"
)

// The network_status values the API documents (spelt apart from the SDK's
// on purpose, as the message texts are).
const (
	Healthy      = "Healthy"
	Interruption = "Interruption"
)

// Product is a product the server knows, for a checkout's biller list.
type Product struct {
	Code string // the product code, such as "TNB"
	Name string // the biller's name, such as "Tenaga Nasional Berhad"
}

// Products returns the products of the samples, with their billers' names.
func Products() []Product {
	return []Product{
		{"AKSB", "Air Kelantan"},
		{"TNB", "Tenaga Nasional Berhad"},
		{"SYABAS", "Air Selangor (SYABAS)"},
		{"DIGI", "Digi"},
		{"UNIFI", "Unifi"},
		{"JOMPAY", "JomPAY"},
	}
}

// SetNetworkStatus scripts product's network status: Healthy (every known
// product's unless set), Interruption, or any other text the API might send.
func (s *Server) SetNetworkStatus(product, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statuses[strings.ToUpper(product)] = status
}

// networkStatus answers GET /v2/networkstatus for product, which the server
// knows when a sample or a script names it; any other is answered 400, as
// the API is reported to do (unconfirmed).
func (s *Server) networkStatus(product string, now time.Time) (int, http.Header, []byte, time.Duration) {
	s.mu.Lock()
	status, scripted := s.statuses[product]
	_, perProduct := s.products[product]
	name, known := product, scripted || perProduct || s.knows(product)
	s.mu.Unlock()
	for _, p := range Products() {
		if p.Code == product {
			name, known = p.Name, true
		}
	}
	if !known {
		return jsonError(http.StatusBadRequest, "bad_request", "product not found")
	}
	if status == "" {
		status = Healthy
	}
	body, _ := json.Marshal(map[string]any{
		"data":     map[string]string{"product_code": product, "product_name": name, "product_img": s.URL + "/img/" + product + ".svg", "network_status": status},
		"metadata": map[string]any{"status_code": 200, "last_updated": now.In(gmt8).Format(lastUpdatedLayout)},
	})
	return http.StatusOK, nil, body, 0
}

// logo is a plain badge with a product's initials, the product_img the
// server answers with.
func logo(code string) (int, http.Header, []byte, time.Duration) {
	initials := strings.ToUpper(code)
	if len(initials) > 3 {
		initials = initials[:3]
	}
	svg := fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">`+
		`<rect width="64" height="64" rx="14" fill="#0b5cad"/><text x="32" y="40" font-family="sans-serif" font-size="20" `+
		`font-weight="700" fill="#fff" text-anchor="middle">%s</text></svg>`, html.EscapeString(initials))
	return http.StatusOK, http.Header{"Content-Type": {"image/svg+xml"}, "Cache-Control": {"max-age=3600"}}, []byte(svg), 0
}
