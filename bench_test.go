package iimmpact_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iimmpact-go/iimmpact"
)

// The benchmarks compare the SDK with the same call written by hand, lean:
// the call an outside harness writes (handCall below): sign, GET, read with
// a limit, json.Unmarshal of the reference's example answer into a struct of
// its fields, decide. Both run in the same process, on the same server, in
// the same run. scripts/bench summarises them.

const (
	benchKey    = "iimm_prod_BENCHKEY"
	benchSecret = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY="
)

func referenceBody(tb testing.TB) []byte {
	b, err := os.ReadFile("testdata/responses/valid_aksb.json")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// handBill is the reference's example answer, field by field, as its table
// types them.
type handBill struct {
	Data struct {
		Message      string  `json:"message"`
		BillerName   string  `json:"BillerName"`
		CustomerName string  `json:"CustomerName"`
		Outstanding  float64 `json:"Outstanding"`
		Balance      string  `json:"Balance"`
		Data         string  `json:"Data"`
		Address      string  `json:"Address"`
		EBill        string  `json:"E-Bill"`
		CustomField  any     `json:"CustomField"`
		DueDate      string  `json:"DueDate"`
	} `json:"data"`
	Metadata struct {
		StatusCode  int    `json:"status_code"`
		ProductCode string `json:"product_code"`
		LastUpdated string `json:"last_updated"`
	} `json:"metadata"`
	TransactionValidity bool   `json:"transaction_validity"`
	TransactionMessage  string `json:"transaction_message"`
	ErrorMessage        string `json:"error_message"`
}

// handClient is the hand-written call's state: a key decoded once.
type handClient struct {
	hc       *http.Client
	endpoint string
	key      []byte
}

func newHandClient(tb testing.TB, base string, hc *http.Client) *handClient {
	key, err := base64.StdEncoding.DecodeString(benchSecret)
	if err != nil {
		tb.Fatal(err)
	}
	return &handClient{hc: hc, endpoint: base + "/v2/bill-presentment", key: key}
}

// handSign signs a GET as the vendor's recipe does.
func handSign(key []byte, h http.Header, query string) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	nonce := rand.Text()
	mac := hmac.New(sha256.New, key)
	io.WriteString(mac, "v1:"+ts+":"+nonce+":GET:"+query+":47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
	h["X-Api-Key"] = []string{benchKey}
	h["X-Timestamp"] = []string{ts}
	h["X-Nonce"] = []string{nonce}
	h["X-Signature"] = []string{"v1=" + base64.StdEncoding.EncodeToString(mac.Sum(nil))}
}

// call is the lean call: a timeout (no call may hang), two parameters in
// sorted order, so the canonical query is written out; no validation, no
// retry, no redaction.
func (c *handClient) call(ctx context.Context, account, product string) (show bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 35*time.Second)
	defer cancel()
	q := url.Values{"account": {account}, "product": {product}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint+"?"+q.Encode(), nil)
	if err != nil {
		return false, err
	}
	handSign(c.key, req.Header, "account="+account+"&product="+product)
	resp, err := c.hc.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusBadRequest {
		return false, fmt.Errorf("status %d", resp.StatusCode)
	}
	var b handBill
	if err := json.Unmarshal(body, &b); err != nil {
		return false, err
	}
	return b.Data.Message == "Account no is valid", nil
}

// memoryTransport answers every request with the body, without a network.
type memoryTransport struct {
	status int // 200 when 0
	body   []byte
}

func (m memoryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: cmp.Or(m.status, 200), Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(m.body)), ContentLength: int64(len(m.body)), Request: req,
	}, nil
}

// tunedTransport is what a careful engineer configures for 64 concurrent callers.
func tunedTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	return t
}

// loopback serves the reference 200 and counts the connections it accepts.
func loopback(b *testing.B) (*httptest.Server, *atomic.Int64) {
	body := referenceBody(b)
	var opened atomic.Int64
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	ts.Start()
	b.Cleanup(ts.Close)
	return ts, &opened
}

// caller is one implementation's call against its own loopback server, a way
// to empty its connection pool, and the server's count of opened connections.
type caller struct {
	call      func(context.Context) error
	closeIdle func()
	opened    *atomic.Int64
}

// implementations are the two sides of every comparison, the base first.
var implementations = []string{"hand", "sdk"}

func loopbackCaller(b *testing.B, impl string) caller {
	ts, opened := loopback(b)
	if impl == "sdk" {
		c := sdkClient(b, ts.URL)
		return caller{func(ctx context.Context) error {
			bill, err := c.BillPresentment(ctx, aksb)
			if err == nil && bill.Decision().Action != iimmpact.ActionShow {
				err = fmt.Errorf("decision %s", bill.Decision().Action)
			}
			return err
		}, c.CloseIdleConnections, opened}
	}
	tr := tunedTransport()
	b.Cleanup(tr.CloseIdleConnections)
	c := newHandClient(b, ts.URL, &http.Client{Transport: tr})
	return caller{func(ctx context.Context) error {
		show, err := c.call(ctx, aksb.Account, aksb.Product)
		if err == nil && !show {
			err = fmt.Errorf("not shown")
		}
		return err
	}, tr.CloseIdleConnections, opened}
}

func sdkClient(b *testing.B, base string, opts ...iimmpact.Option) *iimmpact.Client {
	c := iimmpact.NewTestClient(b, benchKey, benchSecret, append([]iimmpact.Option{iimmpact.WithBaseURL(base)}, opts...)...)
	return c
}

func benchSDK(b *testing.B, c *iimmpact.Client) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		bill, err := c.BillPresentment(ctx, aksb)
		if err != nil || bill.Decision().Action != iimmpact.ActionShow {
			b.Fatal(err)
		}
	}
}

func benchHand(b *testing.B, c *handClient) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		show, err := c.call(ctx, aksb.Account, aksb.Product)
		if err != nil || !show {
			b.Fatal(err)
		}
	}
}

func BenchmarkCall(b *testing.B) {
	b.Run("transport=memory/impl=sdk", func(b *testing.B) {
		benchSDK(b, sdkClient(b, "http://127.0.0.1:1", iimmpact.WithHTTPClient(&http.Client{Transport: memoryTransport{body: referenceBody(b)}})))
	})
	b.Run("transport=memory/impl=hand", func(b *testing.B) {
		benchHand(b, newHandClient(b, "http://127.0.0.1:1", &http.Client{Transport: memoryTransport{body: referenceBody(b)}}))
	})
	for _, impl := range implementations {
		b.Run("transport=loopback/impl="+impl, func(b *testing.B) {
			c := loopbackCaller(b, impl)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := c.call(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkConcurrent64 runs 64 callers against the loopback server and reports
// calls per second and the connections the server saw opened.
func BenchmarkConcurrent64(b *testing.B) {
	for _, impl := range implementations {
		b.Run("impl="+impl, func(b *testing.B) {
			c := loopbackCaller(b, impl)
			b.ReportAllocs()
			b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0))) // 64 goroutines in all
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if err := c.call(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
			b.ReportMetric(float64(c.opened.Load()), "conns")
		})
	}
}

// BenchmarkConnections12800 makes 12,800 calls from 64 callers per iteration,
// from a cold pool, and reports the connections the server saw opened.
func BenchmarkConnections12800(b *testing.B) {
	for _, impl := range implementations {
		b.Run("impl="+impl, func(b *testing.B) {
			c := loopbackCaller(b, impl)
			var total int64
			for b.Loop() {
				c.closeIdle()
				before := c.opened.Load()
				var wg sync.WaitGroup
				for range 64 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range 200 {
							if err := c.call(context.Background()); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				total += c.opened.Load() - before
			}
			b.ReportMetric(float64(total)/float64(b.N), "conns/12800calls")
		})
	}
}

func BenchmarkSign(b *testing.B) {
	signer, err := iimmpact.NewSigner(benchKey, benchSecret)
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, iimmpact.ProductionURL+"/v2/bill-presentment?account=1234567890&product=AKSB", nil)
	b.Run("impl=sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := signer.Sign(req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=hand", func(b *testing.B) {
		key, _ := base64.StdEncoding.DecodeString(benchSecret)
		b.ReportAllocs()
		for b.Loop() {
			v, _ := url.ParseQuery(req.URL.RawQuery) // a Signer reads the request's query too
			handSign(key, req.Header, "account="+v.Get("account")+"&product="+v.Get("product"))
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	body := referenceBody(b)
	b.Run("impl=sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := iimmpact.DecodeBill(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=sdk-json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var bill iimmpact.Bill
			if err := json.Unmarshal(body, &bill); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var bill handBill
			if err := json.Unmarshal(body, &bill); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecisionFields(b *testing.B) {
	var bill iimmpact.Bill
	if err := json.Unmarshal(referenceBody(b), &bill); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if bill.Decision().Action != iimmpact.ActionShow || len(bill.Fields()) != 5 {
			b.Fatal("wrong outcome")
		}
	}
}

// hostileBody is the worst case a body can be under the default 1 MiB limit:
// a CustomField nested 10,000 arrays deep (the deepest JSON the decoder
// accepts) around a string that fills the rest.
func hostileBody() []byte {
	const depth, size = 10_000, 1 << 20
	head := `{"data":{"message":"Account no is valid","CustomField":` + strings.Repeat("[", depth) + `"`
	tail := `"` + strings.Repeat("]", depth) + `}}`
	return []byte(head + strings.Repeat("x", size-len(head)-len(tail)) + tail)
}

// BenchmarkHostileBody decodes the worst-case body and lists its fields, and
// redacts it as the body of an error: each is one pass over the body.
func BenchmarkHostileBody(b *testing.B) {
	body := hostileBody()
	b.Run("op=decode+fields", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			bill, err := iimmpact.DecodeBill(body)
			if err != nil || len(bill.Fields()) != 1 {
				b.Fatal(err)
			}
		}
	})
	b.Run("op=call-401", func(b *testing.B) {
		c := iimmpact.NewTestClient(b, "iimm_prod_bench", "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY=", iimmpact.WithMaxResponseSize(2<<20),
			iimmpact.WithHTTPClient(&http.Client{Transport: memoryTransport{status: 401, body: body}}))
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := c.BillPresentment(context.Background(), iimmpact.Query{Product: "AKSB", Account: "1234567890"}); err == nil {
				b.Fatal("want the 401")
			}
		}
	})
}

// BenchmarkCoalescing64 sends 64 identical queries at once, round after round,
// to a biller that takes 2 ms to answer, and reports how many reached it per
// round.
func BenchmarkCoalescing64(b *testing.B) {
	for _, coalesce := range []bool{false, true} {
		b.Run(fmt.Sprint("coalescing=", coalesce), func(b *testing.B) {
			body := referenceBody(b)
			var upstream atomic.Int64
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				upstream.Add(1)
				time.Sleep(2 * time.Millisecond) // the biller's latency
				w.Write(body)
			}))
			b.Cleanup(ts.Close)
			var opts []iimmpact.Option
			if coalesce {
				opts = append(opts, iimmpact.WithCoalescing())
			}
			c := sdkClient(b, ts.URL, opts...)
			rounds := 0
			for b.Loop() {
				rounds++
				var wg sync.WaitGroup
				for range 64 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := c.BillPresentment(context.Background(), aksb); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
			}
			b.ReportMetric(float64(upstream.Load())/float64(rounds), "upstream/round")
		})
	}
}

// payBody is a payment's answer, as the API sends it.
const payBody = `{"data":{"status":"Succesful","statusCode":20,"refid":"order-1","account":"220012345678","product":"TNB",` +
	`"amount":45.94,"sn":"SN1","cost":45.94,"balance":954.06,"remarks":"","timestamp":"2026-12-04 10:00:00"},` +
	`"@metadata":{"status_code":200}}`

// handPay is a payment written by hand by a careful engineer: the JSON body
// built once, signed over its hash, POSTed, the answer decoded and checked.
func (c *handClient) pay(ctx context.Context, refid string) error {
	body, err := json.Marshal(map[string]string{"refid": refid, "product": "TNB", "account": "220012345678", "amount": "45.94"})
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.endpoint, "/bill-presentment")+"/topup", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), rand.Text()
	mac := hmac.New(sha256.New, c.key)
	io.WriteString(mac, "v1:"+ts+":"+nonce+":POST::"+base64.StdEncoding.EncodeToString(sum[:]))
	req.Header.Set("X-Api-Key", benchKey)
	req.Header.Set("X-Timestamp", ts)
	req.Header.Set("X-Nonce", nonce)
	req.Header.Set("X-Signature", "v1="+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	var answer struct {
		Data struct {
			Status string `json:"status"`
			RefID  string `json:"refid"`
		} `json:"data"`
	}
	if err := json.Unmarshal(data, &answer); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || answer.Data.RefID != refid || answer.Data.Status != "Succesful" {
		return fmt.Errorf("status %d %s", resp.StatusCode, answer.Data.Status)
	}
	return nil
}

// BenchmarkPay is a payment through the SDK against the hand-written signed
// POST, over the same in-memory transport.
func BenchmarkPay(b *testing.B) {
	transport := &http.Client{Transport: memoryTransport{body: []byte(payBody)}}
	b.Run("impl=hand", func(b *testing.B) {
		c := newHandClient(b, "http://127.0.0.1:1", transport)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if err := c.pay(ctx, "order-1"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=sdk", func(b *testing.B) {
		c := sdkClient(b, "http://127.0.0.1:1", iimmpact.WithHTTPClient(transport))
		ctx := context.Background()
		p := iimmpact.Payment{RefID: "order-1", Product: "TNB", Account: "220012345678", Amount: "45.94"}
		b.ReportAllocs()
		for b.Loop() {
			tx, err := c.Pay(ctx, p)
			if err != nil || tx.Status != iimmpact.TransactionSucceeded {
				b.Fatal(err)
			}
		}
	})
}
