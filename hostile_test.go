package iimmpact

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests of a hostile API: each case here once let a customer pay into an
// invalid account, hung a caller, leaked the account number or crashed.

const invalidEnvelope = `{"data":{"message":"Invalid account no","Outstanding":null},"metadata":{"status_code":400,"product_code":"AKSB"},"error_message":"Invalid account no"}`

func TestABlockingAnswerIsNeverRetried(t *testing.T) {
	for _, status := range []int{503, 502, 429, 500, 504} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			h := newHarness(t) // the default 2 retries
			h.respond(t, jsonResponder(status, []byte(invalidEnvelope)).Once().Then(
				func(*http.Request) (*http.Response, error) { return nil, context.DeadlineExceeded }))
			bill, err := h.c.BillPresentment(context.Background(), aksb)
			require.NoError(t, err)
			assert.Equal(t, ActionBlock, bill.Decision().Action)
			assert.False(t, bill.Decision().CanProceed)
			assert.Equal(t, status, bill.StatusCode)
			assert.Equal(t, 1, h.mt.GetTotalCallCount(), "final under any status")
			assert.Empty(t, h.sleeps)
		})
	}
}

func TestInvalidAccountAsAPersonReadsIt(t *testing.T) {
	decorations := []func(string) string{
		func(s string) string { return strings.Replace(s, " ", "  ", 1) },
		func(s string) string { return strings.Replace(s, " ", "\t", 1) },
		func(s string) string { return strings.ReplaceAll(s, " ", "\u00a0") },
		func(s string) string { return strings.Replace(s, " ", "\u200b ", 1) },
		func(s string) string { return "\ufeff" + s },
		func(s string) string { return s + "!" },
		func(s string) string { return s + "…" },
		func(s string) string { return `"` + s + `"` },
		func(s string) string { return "“" + s + "”" },
		func(s string) string { return "\u202e" + s + "\u202c" },
		func(s string) string { return "  " + strings.ToUpper(s) + ".  " },
		func(s string) string { return strings.Replace(s, " ", "\u2028", 1) },
	}
	for i, decorate := range decorations {
		b := &Bill{Data: BillData{Message: text(decorate(msgInvalidAccount))}}
		d := b.Decision()
		assert.Equal(t, ActionBlock, d.Action, "%d: %q", i, decorate(msgInvalidAccount))
		assert.False(t, d.CanProceed)
		assert.NotEmpty(t, d.Message)

		b = &Bill{Data: BillData{Message: text(decorate(msgValid)), BillerName: text("X")}}
		assert.Equal(t, ActionShow, b.Decision().Action, "%d: %q", i, decorate(msgValid))
	}
	for _, other := range []string{"Invalid account number", "Invalid account", "Invalid account no longer valid", "Account no is invalid"} {
		b := &Bill{Data: BillData{Message: text(other)}}
		assert.Equal(t, ReasonUnrecognised, b.Decision().Reason, "never widened to other words: %q", other)
	}
}

func TestOddFramingNeverUnblocks(t *testing.T) {
	for name, body := range map[string]string{
		"byte order mark":   "\ufeff" + invalidEnvelope,
		"garbage after":     invalidEnvelope + "garbage",
		"a NUL after":       invalidEnvelope + "\x00",
		"an HTML page":      invalidEnvelope + "\n<html><body><h1>502 Bad Gateway</h1></body></html>",
		"a second envelope": invalidEnvelope + `{"data":{"message":"Account no is valid"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.respond(t, jsonResponder(400, []byte(body)))
			bill, err := h.c.BillPresentment(context.Background(), aksb)
			require.NoError(t, err)
			assert.Equal(t, ActionBlock, bill.Decision().Action)
		})
	}
	bill, err := DecodeBill(append([]byte("\ufeff"), golden(t, "valid_aksb.json")...))
	require.NoError(t, err, "a byte order mark is framing, nothing more")
	assert.Equal(t, ActionShow, bill.Decision().Action)
	_, err = DecodeBill(append(golden(t, "valid_aksb.json"), "<html>"...))
	assert.ErrorIs(t, err, ErrMalformedResponse, "a bill a proxy spoilt is not shown")
}

// deep returns a CustomField nested depth arrays deep around a string, padded
// to about size bytes.
func deep(depth, size int) string {
	inner := `"` + strings.Repeat("x", max(1, size-2*depth-2)) + `"`
	return strings.Repeat("[", depth) + inner + strings.Repeat("]", depth)
}

func TestHostileNestingIsReadInBoundedTime(t *testing.T) {
	for _, depth := range []int{250, 600, 9_999} {
		body := `{"data":{"message":"Account no is valid","CustomField":` + deep(depth, 0) + `}}`
		start := time.Now()
		bill, err := DecodeBill([]byte(body))
		require.NoError(t, err)
		fields := bill.Fields()
		// Before, 250 levels took 1.6 s and 600 took 21 s: the check for
		// blanks read the value again at every level.
		assert.Less(t, time.Since(start), time.Second, "depth %d", depth)
		require.Len(t, fields, 1)
		assert.Equal(t, "x", fields[0].Value)
	}
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

func TestTextsForAPersonAreSafe(t *testing.T) {
	body := `{"data":{"message":"Account no is valid","CustomerName":"LIM\u0000 AH\u001b[31m KOW\u007f",` +
		`"Address":"12 JALAN \u202eSS2\n 47300","Balance":"RM\u00a0\u00a045.94","E-Bill":"javascript:alert(1)",` +
		`"CustomField":{"note\u001b]0;pwned\u0007":"\u2066x"}}}`
	bill, err := DecodeBill([]byte(body))
	require.NoError(t, err)
	got := map[string]string{}
	for _, f := range bill.Fields() {
		got[f.Key] = f.Value
	}
	assert.Equal(t, map[string]string{
		"customer_name": "LIM AH KOW", "address": "12 JALAN SS2 47300", "balance": "RM 45.94", "custom_field": "Note]0;pwned: x",
	}, got)
	assert.Contains(t, bill.Unreadable(), "data.E-Bill", "a script URL is no e-bill")
	assert.Equal(t, `"javascript:alert(1)"`, string(bill.Data.EBill.Raw()), "the raw value stays reachable")

	for _, link := range []string{"data:text/html,x", "/bill.pdf", "ftp://x/y.pdf", "https://", "HTTPS://bills.example.com/a.pdf"} {
		b, err := DecodeBill([]byte(`{"data":{"message":"Account no is valid","E-Bill":"` + link + `"}}`))
		require.NoError(t, err)
		assert.Equal(t, link == "HTTPS://bills.example.com/a.pdf", b.Data.EBill.State() == Returned, link)
	}

	b, err := DecodeBill([]byte(`{"data":{"message":"Invalid account no"},"error_message":"Ref-2\u001b[2J is\u202e required\u0000"}`))
	require.NoError(t, err)
	assert.Equal(t, "Ref-2 is required", b.Decision().Message)
}

func TestAccountNeverLeaksPercentEncoded(t *testing.T) {
	const account = "12 34/56+78"
	echoes := []string{
		"12%2034%2F56%2B78", "12%2034%2f56%2b78", "12+34%2F56%2B78", "12%2034/56%2B78", "%31%32%20%33%34%2f%35%36%2b%37%38",
		"12%252034%252F56%252B78",
	}
	for _, echo := range echoes {
		var logs bytes.Buffer
		h := newHarness(t, WithMaxRetries(0), WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
		h.respond(t, func(*http.Request) (*http.Response, error) {
			resp, err := jsonResponder(404, []byte(`{"error":"not_found `+echo+`","message":"no account `+echo+`"} see /v2?account=`+echo))(nil)
			resp.Header.Set("X-Request-Id", "req-"+echo)
			return resp, err
		})
		_, err := h.c.BillPresentment(context.Background(), Query{Product: "AKSB", Account: account})
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		out := strings.Join([]string{err.Error(), apiErr.Body, apiErr.Message, apiErr.Kind, apiErr.RequestID, logs.String()}, "\n")
		assert.NotContains(t, out, echo, "echoed as %s", echo)
		assert.Contains(t, apiErr.Message, redacted)
	}
}

func TestQueryFieldsAreTrimmed(t *testing.T) {
	h := newHarness(t)
	h.respond(t, func(req *http.Request) (*http.Response, error) {
		assert.Equal(t, "account=1234567890&product=AKSB", req.URL.RawQuery)
		return jsonResponder(200, golden(t, "valid_aksb.json"))(req)
	})
	bill, err := h.c.BillPresentment(context.Background(), Query{Product: " AKSB\t", Account: "\u00a01234567890 \u200b"})
	require.NoError(t, err)
	assert.Equal(t, ActionShow, bill.Decision().Action, "a pasted account number with a stray space is the customer's")

	for q, code := range map[Query]QueryCode{
		{Product: "AKSB"}:                                                                   QueryRequired,
		{Product: "AKSB", Account: "12\u200b34"}:                                            QueryBadCharacter,
		{Product: "JOMPAY", Account: "1"}:                                                   QueryJomPAYRequired,
		{Product: "TNB", Account: "1", Ref2: "x"}:                                           QueryJomPAYOnly,
		{Product: "JOMPAY", Account: "1", BillerCode: "5454", Amount: "1.234"}:              QueryBadAmount,
		{Product: "JOMPAY", Account: "1", BillerCode: "5454", Amount: "100000000000000000"}: QueryAmountTooLarge,
	} {
		var qe *QueryError
		require.ErrorAs(t, q.Validate(), &qe, "%+v", q)
		assert.Equal(t, code, qe.Code, "%+v", q)
	}
}

// A panic in a request shared by coalescing reaches each caller in its own
// goroutine, as it would without coalescing, and never ends the process from
// the shared one.
func TestCoalescedPanicReachesEachCaller(t *testing.T) {
	release := make(chan struct{})
	h := newHarness(t, WithCoalescing(), WithHTTPClient(&http.Client{Transport: roundTripper(func(*http.Request) (*http.Response, error) {
		<-release
		panic("transport bug")
	})}))
	const callers = 3
	got := make(chan any, callers)
	for range callers {
		go func() {
			defer func() { got <- recover() }()
			_, _ = h.c.BillPresentment(context.Background(), aksb)
		}()
	}
	waitForWaiters(t, h.c.flights, aksbKey, callers)
	close(release)
	for range callers {
		assert.Equal(t, "transport bug", <-got)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
