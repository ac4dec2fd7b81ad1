package iimmpact

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The vendor's transaction history, GET /v2/transactions: what reconciliation
// (the integration guide's step 7) matches the merchant's records against.
// Several of its facts are unconfirmed by the vendor's reference page; each
// is a constant or a comment here, in one place.

const historyPath = "/v2/transactions"

const (
	// maxHistoryPage is the most rows asked for a page: the largest limit
	// the API accepts is unconfirmed, 1,000 is the catalog's documented one.
	maxHistoryPage = 1000
	// maxHistoryDays is the longest date range asked in one request: the
	// longest the API accepts is unconfirmed, so a longer range is split.
	maxHistoryDays = 31
	// maxHistoryPages bounds one range's pages, of the history or the
	// statement: a list that never ends (every page full, for ever) ends in
	// an error, not an endless loop.
	maxHistoryPages = 10_000
)

// HistoryQuery selects rows of the transaction history.
type HistoryQuery struct {
	// From and To are days in Malaysia (their time of day is ignored). To
	// before From is an error; the zero To is From.
	From, To time.Time
	// Status keeps the rows in these statuses; none keeps every row.
	// TransactionAccepted and TransactionProcessing are both the API's
	// PENDING.
	Status []TransactionStatus
	// Account and Product keep the rows of one account or product.
	Account, Product string
	// PageSize is the rows asked a page: 1 to 1,000, default 1,000.
	PageSize int
}

// HistoryRow is one row of the transaction history.
type HistoryRow struct {
	// TrxID is the vendor's own id of the transaction.
	TrxID string
	// RefID is the merchant's refid, when the row carries one: whether the
	// API's rows do is unconfirmed, so a match must be able to do without.
	RefID string
	// Time is when the vendor recorded it, in Malaysia (GMT+8).
	Time time.Time
	// Product, BillerCode, Category and Account are as the vendor has them.
	Product, BillerCode, Category, Account string
	// Amount is the payment's amount, exact.
	Amount Amount
	// Status is the transaction's status, from Code: "" for a code the SDK
	// does not know.
	Status TransactionStatus
	// Code is the vendor's status code (20 paid, 53 refunded, 40 to 61
	// failed, 0 and 1 pending).
	Code int
	// SerialNumber is the provider's serial, when the row carries one.
	SerialNumber string
}

// Transactions returns the history's rows for q, page after page as the
// caller ranges over them, each page a call like any other (signed, counted
// by the quota, retried); breaking out of the loop sends nothing more. An
// error ends the sequence: a request that failed, a page the SDK cannot read,
// or a history that repeats a page or never ends (ErrMalformedResponse).
// A range longer than the API takes is asked in parts, and a status filter one
// status a request, in date order.
func (c *Client) Transactions(ctx context.Context, q HistoryQuery) iter.Seq2[*HistoryRow, error] {
	return func(yield func(*HistoryRow, error) bool) {
		ranges, statuses, err := q.plan()
		if err != nil {
			yield(nil, err)
			return
		}
		for _, r := range ranges {
			for _, status := range statuses {
				if !c.historyPages(ctx, q, r, status, yield) {
					return
				}
			}
		}
	}
}

// dayRange is one request's dates, as the API writes them.
type dayRange struct{ from, to string }

func (r dayRange) param() string {
	if r.from == r.to {
		return r.from
	}
	return r.from + " - " + r.to // a space, a dash and a space, as documented
}

// plan checks q and splits it into the ranges and statuses to ask.
func (q HistoryQuery) plan() ([]dayRange, []string, error) {
	if q.From.IsZero() {
		return nil, nil, &QueryError{Field: "from", Code: QueryRequired, Rule: "is required"}
	}
	from := day(q.From)
	to := from
	if !q.To.IsZero() {
		to = day(q.To)
	}
	switch {
	case to.Before(from):
		return nil, nil, &QueryError{Field: "to", Code: QueryBadCharacter, Rule: "must not be before from"}
	case q.PageSize < 0 || q.PageSize > maxHistoryPage:
		return nil, nil, &QueryError{Field: "page_size", Code: QueryAmountTooLarge, Rule: "must be 1 to 1000"}
	}
	var ranges []dayRange
	for start := from; !start.After(to); start = start.AddDate(0, 0, maxHistoryDays) {
		end := start.AddDate(0, 0, maxHistoryDays-1)
		if end.After(to) {
			end = to
		}
		ranges = append(ranges, dayRange{start.Format(time.DateOnly), end.Format(time.DateOnly)})
	}
	statuses, err := historyStatuses(q.Status)
	return ranges, statuses, err
}

// day is t's date in Malaysia, at midnight there.
func day(t time.Time) time.Time {
	y, m, d := t.In(Malaysia).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, Malaysia)
}

// historyStatuses is the status[] values to send, one a request. How a
// repeated status[] key enters the signature's canonical query string is
// unconfirmed, so the key is never repeated: "" asks for every status.
func historyStatuses(in []TransactionStatus) ([]string, error) {
	if len(in) == 0 {
		return []string{""}, nil
	}
	var out []string
	for _, s := range in {
		var v string
		switch s {
		case TransactionSucceeded:
			v = "SUCCESSFUL"
		case TransactionAccepted, TransactionProcessing:
			v = "PENDING"
		case TransactionFailed:
			v = "FAILED"
		case TransactionRefunded:
			v = "REFUND"
		default:
			return nil, &QueryError{Field: "status", Code: QueryBadCharacter, Rule: fmt.Sprintf("must be a transaction status, not %q", s)}
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// historyPages yields the rows of one range and status, page after page by
// offset, until a page shorter than the limit.
func (c *Client) historyPages(ctx context.Context, q HistoryQuery, r dayRange, status string, yield func(*HistoryRow, error) bool) bool {
	limit := cmp.Or(q.PageSize, maxHistoryPage)
	fetch := func(page int) ([]HistoryRow, bool, error) {
		params := []param{{"account", q.Account}, {"date", r.param()}, {"limit", strconv.Itoa(limit)},
			{"offset", strconv.Itoa(page * limit)}, {"product", q.Product}, {"status[]", status}}
		res := do(ctx, c, c.getCall(opHistory, historyPath, q.Product, params, q.Account), checkHistory(limit))
		if res.err != nil {
			return nil, false, res.err
		}
		return res.value.rows, false, nil
	}
	return eachPage("history of "+r.param(), limit, fetch, func(row *HistoryRow) string { return row.TrxID }, yield)
}

// eachPage yields the rows of a list the API pages (the history, the
// statement): fetch(0), fetch(1)… until a page shorter than limit, or one
// fetch says is the last. It reports false when the caller stopped or an
// error ended the sequence. A page whose first row, by id, is the previous
// page's first, or a list past maxHistoryPages pages, is malformed: a
// server that ignores the paging would otherwise never end.
func eachPage[T any](what string, limit int, fetch func(page int) (rows []T, last bool, err error), id func(*T) string, yield func(*T, error) bool) bool {
	var first string // the previous page's first row
	for page := 0; ; page++ {
		if page == maxHistoryPages {
			return yield(nil, fmt.Errorf("%w: the %s went on past %d pages", ErrMalformedResponse, what, maxHistoryPages))
		}
		rows, last, err := fetch(page)
		if err != nil {
			return yield(nil, err)
		}
		if len(rows) > 0 && page > 0 && id(&rows[0]) == first {
			return yield(nil, fmt.Errorf("%w: the %s repeated a page (page %d)", ErrMalformedResponse, what, page+1))
		}
		for i := range rows {
			if !yield(&rows[i], nil) {
				return false
			}
		}
		if last || len(rows) < limit {
			return true
		}
		first = id(&rows[0])
	}
}

// historyPage is one page of the history.
type historyPage struct{ rows []HistoryRow }

func (p *historyPage) report() report { return report{} }

// checkHistory reads a 200's page: data an array of at most limit rows.
func checkHistory(limit int) func(*response) (*historyPage, verdict, error) {
	return func(res *response) (*historyPage, verdict, error) {
		if res.status != 200 {
			return nil, notOutcome, nil
		}
		rows, err := readRows(res.body, limit, "rows", readHistoryRow, nil)
		if err != nil {
			return nil, malformed, malformedError(err)
		}
		return &historyPage{rows: rows}, outcome, nil
	}
}

// historyTime is the layout of the history's times, GMT+8; the fraction may
// be absent.
const historyTime = "2006-01-02 15:04:05.999"

// readHistoryRow reads one row: a JSON object whose trxid, amount and
// status_code must be readable, each key once.
func readHistoryRow(obj []byte) (HistoryRow, error) {
	r := HistoryRow{Code: -1}
	var k keys
	err := eachMember(obj, func(key, val []byte) error {
		name := string(key)
		if !k.once(name) {
			return fmt.Errorf("a row's %s is sent twice", name)
		}
		return r.member(name, val)
	})
	switch {
	case err != nil:
		return r, err
	case r.TrxID == "":
		return r, errors.New("a row has no trxid")
	case r.Amount.State() != Returned:
		return r, fmt.Errorf("row %s: amount is not an amount", r.TrxID)
	case r.Code < 0:
		return r, fmt.Errorf("row %s: status_code is not a number", r.TrxID)
	}
	r.Status = statusOfCode(r.Code)
	return r, nil
}

// member reads one member of a row; keys it does not know are skipped.
func (r *HistoryRow) member(name string, val []byte) error {
	switch name {
	case "trxid":
		r.TrxID = scalarText(val)
	case "refid":
		r.RefID = scalarText(val)
	case "date":
		t, err := time.ParseInLocation(historyTime, scalarText(val), Malaysia)
		if err != nil {
			return fmt.Errorf("a row's date %q is not yyyy-MM-dd HH:mm:ss.fff", excerpt(val, 40))
		}
		r.Time = t
	case "product_code":
		r.Product = scalarText(val)
	case "biller_code":
		r.BillerCode = scalarText(val)
	case "category":
		r.Category = forPeople(scalarText(val))
	case "amount":
		r.Amount = readAmount(val)
	case "account":
		r.Account = scalarText(val)
	case "sn":
		r.SerialNumber = scalarText(val)
	case "status_code":
		n, err := strconv.Atoi(strings.Trim(string(val), `"`))
		if err != nil || n < 0 {
			n = -1
		}
		r.Code = n
	}
	return nil
}
