package iimmpact

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// seedResponses adds every golden response to f's corpus.
func seedResponses(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "responses", "*"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no golden responses: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzDecodeBill(f *testing.F) {
	seedResponses(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var b Bill
		if err := decodeBill(body, &b); err != nil {
			var nilBill *Bill
			if d := nilBill.Decision(); d.Action != ActionHide || !d.CanProceed {
				t.Fatalf("an error must fail open, got %+v", d)
			}
			return
		}
		d := b.Decision()
		fields := b.Fields()
		if d.Action != ActionShow && len(fields) > 0 {
			t.Fatalf("fields shown for %s", d.Action)
		}
		if d.Action == ActionBlock && (d.CanProceed || d.Message == "") {
			t.Fatalf("a block must stop the payment with a message: %+v", d)
		}
		for _, fl := range fields {
			if strings.TrimSpace(fl.Value) == "" || fl.Label == "" {
				t.Fatalf("blank field shown: %+v", fl)
			}
		}
		_ = b.Extra()
		_, _ = b.Data.DueDate.Time()
		_, _ = b.Metadata.LastUpdated.Time()
		// What decodes re-encodes, and decodes to the same decision.
		out, err := json.Marshal(&b)
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		var again Bill
		if err := decodeBill(out, &again); err != nil {
			t.Fatalf("re-decoding %s: %v", out, err)
		}
		if again.Decision() != d {
			t.Fatalf("decision changed through JSON: %+v vs %+v", again.Decision(), d)
		}
	})
}

func FuzzAmount(f *testing.F) {
	for _, s := range []string{"45.94", "0", "-1.5", "1e2", "90071992547409.93", "1.005", "abc", "", "00.10", "9e18"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAmount(s)
		if err != nil {
			return
		}
		back, err := ParseAmount(a.String())
		if err != nil || back.Sen() != a.Sen() {
			t.Fatalf("%q -> %s -> %v, %v", s, a, back.Sen(), err)
		}
		var fromJSON Amount
		if err := json.Unmarshal([]byte(`"`+a.String()+`"`), &fromJSON); err != nil || fromJSON.Sen() != a.Sen() {
			t.Fatalf("JSON string %s: %v", a, err)
		}
	})
}

func FuzzCustomField(f *testing.F) {
	for _, s := range []string{`""`, `"x"`, `1.5`, `true`, `null`, `{"a":[1,{"b":null}]}`, `[]`, `{}`, `"\u00e9\n"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		var c CustomField
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatalf("valid JSON refused: %v", err)
		}
		shown := c.String()
		switch c.Kind() {
		case KindObject, KindArray:
			if !json.Valid([]byte(shown)) {
				t.Fatalf("object shown as invalid JSON %q", shown)
			}
		case KindString:
			if s, ok := c.AsString(); !ok || s != shown {
				t.Fatalf("string %q shown as %q", s, shown)
			}
		case KindNumber:
			if _, ok := c.AsNumber(); !ok {
				t.Fatal("number not a number")
			}
		}
		_ = c.IsEmpty()
		var kept json.RawMessage
		if err := c.Decode(&kept); err != nil || !bytes.Equal(kept, c.Raw()) {
			t.Fatalf("decode into RawMessage: %v", err)
		}
		var v any
		_ = c.Decode(&v) // may fail (a number too large for float64), must not panic
	})
}

func FuzzVerify(f *testing.F) {
	f.Add("v1=6bcrOzvkN00dW9+oDHkWgsXSS7aZlGAm7qy3GVNznyE=", "1747640248", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "account=1234567890&product=AKSB")
	f.Add("v1=", "", "", "")
	f.Add("v2=abc", "-1", "x", "%zz")
	s, err := NewSigner("iimm_dev_vector", "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY=")
	if err != nil {
		f.Fatal(err)
	}
	s.Now = func() time.Time { return time.Unix(1747640248, 0) }
	f.Fuzz(func(t *testing.T, sig, ts, nonce, rawQuery string) {
		_, _ = ParseSignatureHeader(sig)
		req := &http.Request{Method: http.MethodGet, URL: &url.URL{RawQuery: rawQuery}, Header: http.Header{}}
		req.Header.Set(HeaderAPIKey, "iimm_dev_vector")
		req.Header.Set(HeaderSignature, sig)
		req.Header.Set(HeaderTimestamp, ts)
		req.Header.Set(HeaderNonce, nonce)
		_ = s.Verify(req, nil, 0)
	})
}

// FuzzSignVerify: a signed request always verifies, and changing any signed byte
// of the query makes it fail.
func FuzzSignVerify(f *testing.F) {
	f.Add("1234567890", "AKSB", "", "", uint(0))
	f.Add("12 34/56+7", "JOMPAY", "REF 2/x+y", "10.50", uint(3))
	s, err := NewSigner("iimm_dev_vector", "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY=")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, account, product, ref2, amount string, flip uint) {
		values := url.Values{"account": {account}, "product": {product}, "ref2": {ref2}, "amount": {amount}}
		req, err := http.NewRequest(http.MethodGet, "https://api.iimmpact.com/v2/bill-presentment?"+values.Encode(), nil)
		if err != nil {
			return
		}
		if err := s.Sign(req); err != nil {
			t.Fatalf("sign: %v", err)
		}
		if err := s.Verify(req, nil, 0); err != nil {
			t.Fatalf("a signed request must verify: %v", err)
		}
		canon := []byte(CanonicalQuery(values))
		i := int(flip % uint(len(canon)))
		canon[i] ^= 0x01
		tampered, err := url.ParseQuery(encodeLikeVector(string(canon)))
		if err != nil || CanonicalQuery(tampered) == CanonicalQuery(values) {
			return // the flip did not survive as a different query
		}
		req.URL.RawQuery = tampered.Encode()
		if err := s.Verify(req, nil, 0); err == nil {
			t.Fatalf("tampered query %q verified", req.URL.RawQuery)
		}
	})
}

func FuzzQueryValidate(f *testing.F) {
	f.Add("1234567890", "AKSB", "", "", "")
	f.Add("8800123456", "jompay", "5454", "PJ-1", "356.00")
	f.Add("1", "JOMPAY", "1", "", "0.001")
	f.Fuzz(func(t *testing.T, account, product, biller, ref2, amount string) {
		q := Query{Account: account, Product: product, BillerCode: biller, Ref2: ref2, Amount: amount}
		if q.Validate() != nil {
			return
		}
		if strings.TrimSpace(q.Account) == "" || strings.TrimSpace(q.Product) == "" {
			t.Fatal("valid without account or product")
		}
		if !q.IsJomPAY() && (biller != "" || ref2 != "" || amount != "") {
			t.Fatal("JomPAY fields accepted for another product")
		}
		if amount != "" {
			a, err := ParseAmount(amount)
			if err != nil || a.Sen() <= 0 {
				t.Fatalf("amount %q accepted: %v", amount, err)
			}
		}
	})
}
