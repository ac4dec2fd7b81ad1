package iimmpact

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"time"
)

// statementPath is the wallet statement's path. The reference spells it
// singular, the announcement of its new fields plural: which the API serves
// is unconfirmed, so it is this one constant.
const statementPath = "/v2/balance-statement"

// maxStatementPage is the most rows a statement page holds (documented).
const maxStatementPage = 100

// StatementQuery selects lines of the wallet statement.
type StatementQuery struct {
	// From and To are days in Malaysia, as in HistoryQuery.
	From, To time.Time
	// Type keeps one type of line, such as "debit"; "" keeps every line.
	Type string
	// PageSize is the lines asked a page: 1 to 100, default 100.
	PageSize int
}

// StatementRow is one movement of the wallet.
type StatementRow struct {
	ID string
	// Time is when it moved, in Malaysia, when the line says (the field is
	// unconfirmed: "date" or "created_at").
	Time time.Time
	// Type is the vendor's: deposit, debit, refund, commission…
	Type string
	// Amount is signed: a debit is negative. Balance is the wallet after it.
	Amount, Balance Amount
	Remarks         string
}

// Statement returns the wallet statement's lines for q, page after page as
// the caller ranges over them, as Transactions does.
func (c *Client) Statement(ctx context.Context, q StatementQuery) iter.Seq2[*StatementRow, error] {
	return func(yield func(*StatementRow, error) bool) {
		if q.PageSize < 0 || q.PageSize > maxStatementPage {
			yield(nil, &QueryError{Field: "page_size", Code: QueryAmountTooLarge, Rule: "must be 1 to 100"})
			return
		}
		ranges, _, err := HistoryQuery{From: q.From, To: q.To}.plan()
		if err != nil {
			yield(nil, err)
			return
		}
		for _, r := range ranges {
			if !c.statementPages(ctx, q, r, yield) {
				return
			}
		}
	}
}

// statementPages yields one range's lines, pages 1, 2… until the last.
func (c *Client) statementPages(ctx context.Context, q StatementQuery, r dayRange, yield func(*StatementRow, error) bool) bool {
	limit := cmp.Or(q.PageSize, maxStatementPage)
	fetch := func(page int) ([]StatementRow, bool, error) {
		n := page + 1 // the statement counts its pages from 1
		params := []param{{"date", r.param()}, {"limit", strconv.Itoa(limit)}, {"page", strconv.Itoa(n)}, {"type", q.Type}}
		res := do(ctx, c, c.getCall(opStatement, statementPath, "", params), checkStatement(limit))
		if res.err != nil {
			return nil, false, res.err
		}
		return res.value.rows, res.value.lastPage > 0 && n >= res.value.lastPage, nil
	}
	return eachPage("statement of "+r.param(), limit, fetch, func(row *StatementRow) string { return row.ID }, yield)
}

// statementPage is one page of the statement.
type statementPage struct {
	rows     []StatementRow
	lastPage int // meta.last_page; 0 when absent
}

func (p *statementPage) report() report { return report{} }

// checkStatement reads a 200's page: data an array of at most limit lines,
// and meta.last_page.
func checkStatement(limit int) func(*response) (*statementPage, verdict, error) {
	return func(res *response) (*statementPage, verdict, error) {
		if res.status != 200 {
			return nil, notOutcome, nil
		}
		page := &statementPage{}
		rows, err := readRows(res.body, limit, "lines", readStatementRow, func(key, val []byte) {
			if string(key) == "meta" {
				_ = eachMember(val, func(key, val []byte) error {
					if string(key) == "last_page" {
						page.lastPage, _ = strconv.Atoi(scalarText(val))
					}
					return nil
				})
			}
		})
		if err != nil {
			return nil, malformed, malformedError(err)
		}
		page.rows = rows
		return page, outcome, nil
	}
}

// readStatementRow reads one line: its id and amount must be readable, each
// key once.
func readStatementRow(obj []byte) (StatementRow, error) {
	var r StatementRow
	var k keys
	err := eachMember(obj, func(key, val []byte) error {
		name := string(key)
		if !k.once(name) {
			return fmt.Errorf("a statement line's %s is sent twice", name)
		}
		switch name {
		case "id":
			r.ID = scalarText(val)
		case "amount":
			r.Amount = readAmount(val)
		case "balance":
			r.Balance = readAmount(val)
		case "remarks":
			r.Remarks = forPeople(scalarText(val))
		case "type":
			r.Type = scalarText(val)
		case "date", "created_at":
			if t, err := time.ParseInLocation(historyTime, scalarText(val), Malaysia); err == nil {
				r.Time = t
			}
		}
		return nil
	})
	switch {
	case err != nil:
		return r, err
	case r.ID == "":
		return r, errors.New("a statement line has no id")
	case r.Amount.State() != Returned:
		return r, fmt.Errorf("statement line %s: amount is not an amount", r.ID)
	}
	return r, nil
}
