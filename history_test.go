package iimmpact_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

// collect ranges over seq, returning the rows and the error that ended it.
func collect[T any](seq func(func(*T, error) bool)) ([]T, error) {
	var out []T
	for row, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, *row)
	}
	return out, nil
}

func payments(t *testing.T, srv *iimmpacttest.Server, accounts ...string) {
	t.Helper()
	for i, account := range accounts {
		_, err := srv.Client.Pay(context.Background(), iimmpact.Payment{RefID: fmt.Sprintf("h-%d", i), Product: "DIGI", Account: account, Amount: "5.00"})
		require.NoError(t, err)
	}
}

func historyRequests(srv *iimmpacttest.Server) []iimmpacttest.Request {
	var out []iimmpacttest.Request
	for _, r := range srv.Requests() {
		if r.Path == "/v2/transactions" {
			out = append(out, r)
		}
	}
	return out
}

// The history lists every payment the sandbox took, page after page, each
// a request; breaking out of the loop asks for nothing more.
func TestTransactionsPageByPage(t *testing.T) {
	srv := iimmpacttest.Start(t)
	payments(t, srv, "0123456701", "0123456702", "0123456703", "0123456704", "60123450047")
	today := time.Now()
	rows, err := collect(srv.Client.Transactions(context.Background(), iimmpact.HistoryQuery{From: today, PageSize: 2}))
	require.NoError(t, err)
	require.Len(t, rows, 5)
	assert.Len(t, historyRequests(srv), 3, "pages of 2, 2 and 1: the short one ends it")
	assert.Equal(t, "h-0", rows[0].RefID)
	assert.Equal(t, "0123456701", rows[0].Account)
	assert.Equal(t, int64(500), rows[0].Amount.Sen())
	assert.Equal(t, iimmpact.TransactionSucceeded, rows[0].Status)
	assert.Equal(t, 20, rows[0].Code)
	assert.Equal(t, iimmpact.TransactionFailed, rows[4].Status)
	assert.Equal(t, 47, rows[4].Code)
	assert.Equal(t, iimmpact.Malaysia, rows[0].Time.Location())
	assert.NotEmpty(t, rows[0].TrxID)

	srv.ResetRequests()
	n := 0
	for _, err := range srv.Client.Transactions(context.Background(), iimmpact.HistoryQuery{From: today, PageSize: 2}) {
		require.NoError(t, err)
		if n++; n == 3 {
			break
		}
	}
	assert.Len(t, historyRequests(srv), 2, "a break sends nothing more")

	srv.ResetRequests()
	failed, err := collect(srv.Client.Transactions(context.Background(), iimmpact.HistoryQuery{From: today,
		Status: []iimmpact.TransactionStatus{iimmpact.TransactionFailed, iimmpact.TransactionRefunded}}))
	require.NoError(t, err)
	require.Len(t, failed, 1)
	reqs := historyRequests(srv)
	require.Len(t, reqs, 2, "one status a request")
	assert.Equal(t, []string{"FAILED"}, reqs[0].Query["status[]"])
	assert.Equal(t, []string{"REFUND"}, reqs[1].Query["status[]"])
}

// A row without a refid (the unconfirmed field) still reads; a long range is
// asked in parts the API takes.
func TestTransactionsWithoutRefIDsAndLongRanges(t *testing.T) {
	srv := iimmpacttest.Start(t, iimmpacttest.WithoutHistoryRefIDs())
	payments(t, srv, "0123456701")
	to := time.Now()
	rows, err := collect(srv.Client.Transactions(context.Background(), iimmpact.HistoryQuery{From: to.AddDate(0, 0, -70), To: to}))
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Empty(t, rows[0].RefID)
	reqs := historyRequests(srv)
	require.Len(t, reqs, 3, "71 days: 31, 31 and 9")
	for _, r := range reqs {
		assert.Regexp(t, `^\d{4}-\d\d-\d\d - \d{4}-\d\d-\d\d$`, r.Query.Get("date"))
	}
	_, err = collect(srv.Client.Transactions(context.Background(), iimmpact.HistoryQuery{From: to, To: to.AddDate(0, 0, -1)}))
	assert.ErrorIs(t, err, iimmpact.ErrInvalidQuery)
	_, err = collect(srv.Client.Transactions(context.Background(), iimmpact.HistoryQuery{}))
	assert.ErrorIs(t, err, iimmpact.ErrInvalidQuery)
}

// hostilePages serves the history from page, a function of the offset asked.
func hostilePages(t *testing.T, page func(offset int) string) (*iimmpact.Client, *atomic.Int32) {
	var asked atomic.Int32
	srv := iimmpacttest.NewHandler()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		var offset int
		fmt.Sscan(r.URL.Query().Get("offset"), &offset)
		_, _ = w.Write([]byte(page(offset)))
	}))
	t.Cleanup(front.Close)
	c, err := iimmpact.NewClient(srv.APIKey, srv.HMACSecret, iimmpact.WithBaseURL(front.URL), iimmpact.WithMaxRetries(0))
	require.NoError(t, err)
	return c, &asked
}

func row(id int) string {
	return fmt.Sprintf(`{"trxid":"T%d","refid":"r-%d","date":"2026-12-01 10:00:00.000","product_code":"TNB","amount":"1.00","account":"1","status_code":20}`, id, id)
}

// Hostile histories end in bounded time and memory, with an error naming
// what was wrong: a page that repeats, one that never ends, a page longer
// than asked, wrong kinds, duplicate keys.
func TestHostileHistoriesEnd(t *testing.T) {
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, iimmpact.Malaysia)
	for name, tt := range map[string]struct {
		page  func(offset int) string
		size  int
		err   string
		pages int32
	}{
		"a page that repeats":       {func(int) string { return `{"data":[` + row(1) + `,` + row(2) + `]}` }, 2, "repeated a page", 2},
		"a history that never ends": {func(o int) string { return `{"data":[` + row(o) + `]}` }, 1, "went on past 10000 pages", 10_000},
		"1,001 rows when 1,000 are asked": {func(int) string {
			rows := make([]string, 1001)
			for i := range rows {
				rows[i] = row(i)
			}
			return `{"data":[` + strings.Join(rows, ",") + `]}`
		}, 1000, "more than the 1000 rows asked", 1},
		"100,000 rows on a page": {func(int) string {
			rows := make([]string, 100_000)
			for i := range rows {
				rows[i] = row(i)
			}
			return `{"data":[` + strings.Join(rows, ",") + `]}`
		}, 1000, "response body too large", 1},
		"an amount that is an object": {func(int) string { return `{"data":[{"trxid":"T1","amount":{},"status_code":20}]}` }, 0, "amount is not an amount", 1},
		"a status code that is text":  {func(int) string { return `{"data":[{"trxid":"T1","amount":"1.00","status_code":"paid"}]}` }, 0, "status_code is not a number", 1},
		"a key sent twice":            {func(int) string { return `{"data":[{"trxid":"T1","amount":"1.00","amount":"9.00","status_code":20}]}` }, 0, "amount is sent twice", 1},
		"data that is an object":      {func(int) string { return `{"data":{"trxid":"T1"}}` }, 0, "not a JSON array", 1},
		"data sent twice":             {func(int) string { return `{"data":[],"data":[]}` }, 0, "data is sent twice", 1},
	} {
		t.Run(name, func(t *testing.T) {
			c, asked := hostilePages(t, tt.page)
			start := time.Now()
			_, err := collect(c.Transactions(context.Background(), iimmpact.HistoryQuery{From: day, PageSize: tt.size}))
			require.Error(t, err)
			if !errors.Is(err, iimmpact.ErrResponseTooLarge) {
				assert.ErrorIs(t, err, iimmpact.ErrMalformedResponse)
			}
			assert.Contains(t, err.Error(), tt.err)
			assert.Equal(t, tt.pages, asked.Load())
			t.Logf("%s: %s, %d requests", name, time.Since(start).Round(time.Millisecond), asked.Load())
		})
	}
}
