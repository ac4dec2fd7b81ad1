package main

// Matching: each row of the vendor's history to one record of ours, by
// refid, or else by account, product, amount and time, never two of ours to
// one of theirs; then what is left on either side.

import (
	"strconv"
	"time"

	"github.com/iimmpact-go/iimmpact"
)

// The results of a line.
const (
	resultMatched         = "matched"
	resultResolved        = "resolved"
	resultStatusDiffers   = "status_differs"
	resultAmountDiffers   = "amount_differs"
	resultMissingAtVendor = "missing_at_vendor"
	resultVendorOnly      = "vendor_only"
	resultWallet          = "wallet"
)

// line is one line of the report: a payment, or the wallet.
type line struct {
	RefID           string `json:"refid,omitempty"`
	TrxID           string `json:"trxid,omitempty"`
	Result          string `json:"result"`
	MatchedBy       string `json:"matched_by,omitempty"` // refid or fallback
	OurStatus       string `json:"our_status,omitempty"`
	VendorStatus    string `json:"vendor_status,omitempty"`
	OurAmountSen    int64  `json:"our_amount_sen"`
	VendorAmountSen int64  `json:"vendor_amount_sen"`
	Reason          string `json:"reason,omitempty"`

	row *iimmpact.HistoryRow // the vendor's row, for -apply
}

// difference reports a line finance must look at: anything but a match, and
// a wallet that moved otherwise than the payments explain.
func (l line) difference() bool {
	if l.Result == resultWallet {
		return l.OurAmountSen != l.VendorAmountSen
	}
	return l.Result != resultMatched
}

// fallbackWindow bounds how far apart in time a record and a row without a
// refid may be and still be one payment.
const fallbackWindow = 24 * time.Hour

// matcher pairs the vendor's rows with our records.
type matcher struct {
	byRefID map[string]*record
	byKey   map[string][]*record // product, account and amount: the fallback's candidates
}

func newMatcher(recs []*record) *matcher {
	m := &matcher{byRefID: map[string]*record{}, byKey: map[string][]*record{}}
	for _, r := range recs {
		m.byRefID[r.refid] = r
		if r.product != "" && r.account != "" {
			k := fallbackKey(r.product, r.account, r.amountSen)
			m.byKey[k] = append(m.byKey[k], r)
		}
	}
	return m
}

func fallbackKey(product, account string, sen int64) string {
	return product + "\x00" + account + "\x00" + strconv.FormatInt(sen, 10)
}

// match finds the record of row and says how they compare.
func (m *matcher) match(row *iimmpact.HistoryRow) line {
	l := line{TrxID: row.TrxID, RefID: row.RefID, VendorStatus: string(row.Status), VendorAmountSen: row.Amount.Sen(), row: row}
	r, by := m.byRefID[row.RefID], "refid"
	if row.RefID == "" || r == nil || r.matched {
		r, by = m.fallback(row), "fallback"
	}
	if r == nil {
		l.Result, l.Reason = resultVendorOnly, "the vendor has this payment; our records do not"
		return l
	}
	r.matched = true
	l.RefID, l.MatchedBy, l.OurStatus, l.OurAmountSen = r.refid, by, r.status, r.amountSen
	l.Result, l.Reason = compare(r, row)
	return l
}

// fallback is the unmatched record of the row's product, account and
// amount closest to it in time, within fallbackWindow; nil for none.
func (m *matcher) fallback(row *iimmpact.HistoryRow) *record {
	var best *record
	var bestGap time.Duration
	for _, r := range m.byKey[fallbackKey(row.Product, row.Account, row.Amount.Sen())] {
		if r.matched {
			continue
		}
		gap := time.Duration(0)
		if !r.at.IsZero() && !row.Time.IsZero() {
			gap = r.at.Sub(row.Time).Abs()
		}
		if gap <= fallbackWindow && (best == nil || gap < bestGap) {
			best, bestGap = r, gap
		}
	}
	return best
}

// compare says how a record and its row agree.
func compare(r *record, row *iimmpact.HistoryRow) (result, reason string) {
	switch {
	case r.amountSen != row.Amount.Sen():
		return resultAmountDiffers, "the amounts differ"
	case r.status == ourPending && row.Status.Final():
		return resultResolved, "pending here, final there"
	case agrees(r.status, row.Status):
		return resultMatched, ""
	}
	return resultStatusDiffers, r.status + " here, " + string(row.Status) + " there"
}

// agrees reports whether our status and the vendor's say the same.
func agrees(ours string, theirs iimmpact.TransactionStatus) bool {
	switch ours {
	case ourPaid:
		return theirs == iimmpact.TransactionSucceeded
	case ourFailed:
		return theirs == iimmpact.TransactionFailed
	case ourRefunded:
		return theirs == iimmpact.TransactionRefunded
	case ourPending:
		return !theirs.Final()
	}
	return false
}

// unmatched are our records the vendor's history did not have: a payment
// refused here (nothing was created) agrees with its absence.
func (m *matcher) unmatched(recs []*record) []line {
	var out []line
	for _, r := range recs {
		if r.matched {
			continue
		}
		l := line{RefID: r.refid, OurStatus: r.status, OurAmountSen: r.amountSen}
		if r.status == ourRefused {
			l.Result, l.Reason = resultMatched, "refused here, absent there: nothing was created"
		} else {
			l.Result, l.Reason = resultMissingAtVendor, r.status+" here; the vendor has no such payment"
		}
		out = append(out, l)
	}
	return out
}
