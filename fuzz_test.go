package iimmpact

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
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
		for _, name := range b.Unreadable() {
			for _, fl := range fields {
				if "data."+map[string]string{"outstanding": "Outstanding", "custom_field": "CustomField", "due_date": "DueDate"}[fl.Key] == name {
					t.Fatalf("unreadable %s shown", name)
				}
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

// FuzzInvalidAccountAlwaysBlocks is the central property: whatever else a body
// holds, however "Invalid account no" is decorated (white space, invisible
// characters, punctuation, quotes), whatever frames the body (a byte order
// mark, bytes after it) and whatever the status, with or without retries, the
// payment is blocked.
func FuzzInvalidAccountAlwaysBlocks(f *testing.F) {
	f.Add("Outstanding", []byte(`"-"`), "metadata", []byte(`{"status_code":"400"}`), []byte(`0.001`), []byte(`{}`), uint32(0), 400, false, []byte{})
	f.Add("message", []byte(`"Account no is valid"`), "data", []byte(`{"message":"Account no is valid"}`), []byte(`null`), []byte(`[[[]]]`), uint32(0x1234), 503, true, []byte("<html>"))
	f.Add("Message", []byte(`"Account no is valid"`), "transaction_validity", []byte(`"false"`), []byte(`1e1000000500`), []byte(`""`), uint32(0xffff), 200, true, []byte{0})
	f.Add("DueDate", []byte(`{}`), "error_message", []byte(`[1]`), []byte(`"1.00"`), []byte(`{"a":1}`), uint32(0xdead), 429, false, []byte(`{"data":{}}`))
	// Decorations a person reads past; inner ones may also stand between the words.
	decorations := []struct {
		text  string
		inner bool
	}{
		{" ", true}, {"  ", true}, {"\t", true}, {"\u00a0", true}, {" \u200b", true}, {"\ufeff ", true}, {" \u202e", true}, {"\u2066 ", true},
		{"!", false}, {"…", false}, {".", false}, {"\"", false}, {"“", false}, {"”", false}, {"\u0000", false}, {"\n", true},
	}
	f.Fuzz(func(t *testing.T, dataKey string, dataVal []byte, envKey string, envVal, outstanding, custom []byte, decor uint32, status int, retries bool, trailing []byte) {
		for _, v := range [][]byte{dataVal, envVal, outstanding, custom} {
			if !json.Valid(v) {
				return
			}
		}
		if status < 100 || status > 599 {
			return
		}
		// Up to four decorations, each before, between or after the words.
		words := []string{"", "Invalid", " ", "account", " ", "no", ""}
		for i := 0; i < 4; i++ {
			d := decorations[(decor>>(i*8))&0x0f]
			switch at := []int{0, 2, 4, 6}[(decor>>(i*8+4))&0x03]; {
			case at == 0 || at == 6:
				words[at] += d.text
			case d.inner:
				words[at] = d.text
			}
		}
		encoded, _ := json.Marshal(strings.Join(words, ""))
		dk, _ := json.Marshal(dataKey)
		ek, _ := json.Marshal(envKey)
		body := "\ufeff" + `{"data":{"message":` + string(encoded) + `,"Outstanding":` + string(outstanding) + `,"CustomField":` + string(custom) +
			`,` + string(dk) + `:` + string(dataVal) + `},` + string(ek) + `:` + string(envVal) + `}` + string(trailing)
		bill, err := DecodeBill([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if d := bill.Decision(); d.Action != ActionBlock || d.CanProceed || d.Message == "" {
			t.Fatalf("%s: %+v", body, d)
		}

		maxRetries := 0
		if retries {
			maxRetries = 2
		}
		mt := httpmock.NewMockTransport()
		mt.RegisterResponder(http.MethodGet, endpoint, httpmock.NewStringResponder(status, body).Once().Then(httpmock.NewErrorResponder(context.DeadlineExceeded)))
		c, err := NewClient(testKey, testSecret, WithHTTPClient(&http.Client{Transport: mt}), WithMaxRetries(maxRetries), WithoutQuota())
		if err != nil {
			t.Fatal(err)
		}
		c.sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
		bill, err = c.BillPresentment(context.Background(), aksb)
		if d := bill.Decision(); err != nil || d.Action != ActionBlock || d.CanProceed {
			t.Fatalf("status %d, %d retries, %s: %+v, %v", status, maxRetries, body, d, err)
		}
	})
}

func FuzzAmount(f *testing.F) {
	for _, s := range []string{"45.94", "0", "-1.5", "1e2", "90071992547409.93", "1.005", "abc", "", "00.10", "9e18", "1e10001"} {
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
		quoted, _ := json.Marshal(a.String())
		if fromJSON := readAmount(quoted); fromJSON.State() != Returned || fromJSON.Sen() != a.Sen() {
			t.Fatalf("JSON string %s: %v", a, fromJSON.State())
		}
	})
}

func FuzzCustomField(f *testing.F) {
	for _, s := range []string{`""`, `"x"`, `1.5`, `true`, `null`, `{"a":[1,{"b":null}]}`, `[]`, `{}`, `"\u00e9\n"`, `[}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			return
		}
		c := readCustomField(raw)
		shown := c.String()
		switch c.State() {
		case Returned:
			if raw[0] == '{' && strings.HasPrefix(shown, "{") && !strings.Contains(shown, ": ") {
				t.Fatalf("object shown as JSON %q", shown)
			}
		case Unreadable:
			if json.Valid(raw) {
				t.Fatalf("valid JSON %s is unreadable", raw)
			}
		default:
			if shown != "" {
				t.Fatalf("%s shown as %q", c.State(), shown)
			}
		}
		var v any
		_ = c.Decode(&v) // may fail (a number too large for float64), must not panic
	})
}

func FuzzVerify(f *testing.F) {
	const knownGood = "v1=6bcrOzvkN00dW9+oDHkWgsXSS7aZlGAm7qy3GVNznyE=" // signed with the test secret
	f.Add(knownGood, "1747640248", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "account=1234567890&product=AKSB")
	f.Add("v1=", "", "", "")
	f.Add("v2=abc", "-1", "x", "%zz")
	f.Fuzz(func(t *testing.T, sig, ts, nonce, rawQuery string) {
		req := &http.Request{Method: http.MethodGet, URL: &url.URL{RawQuery: rawQuery}, Header: http.Header{}}
		req.Header.Set("X-Api-Key", "iimm_dev_key")
		req.Header.Set("X-Signature", sig)
		req.Header.Set("X-Timestamp", ts)
		req.Header.Set("X-Nonce", nonce)
		if check(req, nil, time.Unix(1747640248, 0)) == "" && sig != knownGood {
			t.Fatalf("a guessed signature verified: %q", sig)
		}
	})
}

// FuzzSignVerify: a signed request always verifies with the sandbox's own
// verifier, and changing any signed byte of the query makes it fail.
func FuzzSignVerify(f *testing.F) {
	f.Add("1234567890", "AKSB", "", "", uint(0))
	f.Add("12 34/56+7", "JOMPAY", "REF 2/x+y", "10.50", uint(3))
	now := time.Unix(1_750_000_000, 0)
	f.Fuzz(func(t *testing.T, account, product, ref2, amount string, flip uint) {
		s := newFixedSigner(t, now)
		values := url.Values{"account": {account}, "product": {product}, "ref2": {ref2}, "amount": {amount}}
		req, err := http.NewRequest(http.MethodGet, "https://api.iimmpact.com/v2/bill-presentment?"+values.Encode(), nil)
		if err != nil {
			return
		}
		if err := s.Sign(req); err != nil {
			t.Fatalf("sign: %v", err)
		}
		if msg := check(req, nil, now); msg != "" {
			t.Fatalf("a signed request must verify: %s", msg)
		}
		canon := []byte(canonicalQuery(values))
		i := int(flip % uint(len(canon)))
		canon[i] ^= 0x01
		tampered, err := url.ParseQuery(encodeLikeVector(string(canon)))
		if err != nil || canonicalQuery(tampered) == canonicalQuery(values) {
			return // the flip did not survive as a different query
		}
		req.URL.RawQuery = tampered.Encode()
		if check(req, nil, now) == "" {
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
		sent := q.trimmed() // the rules hold for what is sent
		if sent.Account == "" || sent.Product == "" || badCharacter(sent.Account) || badCharacter(sent.Product) {
			t.Fatalf("valid without a usable account or product: %+v", sent)
		}
		if !strings.EqualFold(sent.Product, productJomPAY) && (sent.BillerCode != "" || sent.Ref2 != "" || sent.Amount != "") {
			t.Fatal("JomPAY fields accepted for another product")
		}
		if sent.Amount != "" {
			a, err := ParseAmount(sent.Amount)
			if err != nil || a.Sen() <= 0 {
				t.Fatalf("amount %q accepted: %v", sent.Amount, err)
			}
		}
		if sent.trimmed() != sent {
			t.Fatalf("trimming is not stable: %+v", sent)
		}
	})
}
