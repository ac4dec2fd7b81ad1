package iimmpact

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TransactionStatus is where a payment stands. The values are stable.
type TransactionStatus string

// The statuses of a payment, from the API's data.status.
const (
	// TransactionAccepted: created, not final (code 0). Ask again.
	TransactionAccepted TransactionStatus = "accepted"
	// TransactionProcessing: at the biller, not final (code 1). Ask again.
	TransactionProcessing TransactionStatus = "processing"
	// TransactionSucceeded: paid (code 20; the vendor spells it "Succesful").
	TransactionSucceeded TransactionStatus = "succeeded"
	// TransactionFailed: failed at the biller or provider (codes 40 to 61 but
	// 53); no money moved. Another attempt needs a new refid.
	TransactionFailed TransactionStatus = "failed"
	// TransactionRefunded: voided or refunded (code 53).
	TransactionRefunded TransactionStatus = "refunded"
)

// Final reports whether the status will not change: succeeded, failed or
// refunded.
func (s TransactionStatus) Final() bool {
	return s == TransactionSucceeded || s == TransactionFailed || s == TransactionRefunded
}

// transactionStatuses reads data.status, as a person reads it. "Succesful" is
// the vendor's spelling, kept for compatibility; the corrected spelling is
// read the same.
var transactionStatuses = [...]struct {
	text   string
	status TransactionStatus
}{
	{"Succesful", TransactionSucceeded},
	{"Successful", TransactionSucceeded},
	{"Accepted", TransactionAccepted},
	{"Processing", TransactionProcessing},
	{"Failed", TransactionFailed},
	{"Refund", TransactionRefunded},
	{"Refunded", TransactionRefunded},
}

func transactionStatus(text string) TransactionStatus {
	m := normalMessage(text)
	for _, s := range transactionStatuses {
		if strings.EqualFold(m, s.text) {
			return s.status
		}
	}
	return ""
}

// agrees reports whether the vendor's statusCode fits status: 20 succeeded,
// 0 and 1 pending, 53 refunded, 40 to 61 but 53 failed.
func (s TransactionStatus) agrees(code int) bool {
	switch s {
	case TransactionSucceeded:
		return code == 20
	case TransactionAccepted, TransactionProcessing:
		return code == 0 || code == 1
	case TransactionRefunded:
		return code == 53
	case TransactionFailed:
		return code >= 40 && code <= 61 && code != 53
	}
	return false
}

// Transaction is the API's answer about one payment.
type Transaction struct {
	RefID  string
	Status TransactionStatus
	// Code is the vendor's data.statusCode, such as 20 or 43 (see the
	// vendor's failure codes); -1 when the answer carried none.
	Code int
	// Amount is what the bill was paid; Cost what the merchant's wallet paid;
	// Balance the wallet after it.
	Amount, Cost, Balance Amount
	// SerialNumber is the provider's serial or receipt number ("sn"), to
	// show on a receipt.
	SerialNumber string
	// Time is data.timestamp, in GMT+8; the zero Time when it was not sent
	// or not readable.
	Time time.Time
	// StatusCode is the HTTP status, 200.
	StatusCode int
	// RequestID is the API's identifier of the answer.
	RequestID string

	raw        []byte
	statusText string // data.status as sent
}

// String shows the transaction without the account, so fmt and slog never
// print it (the raw body holds it).
func (t *Transaction) String() string {
	if t == nil {
		return "<nil>"
	}
	return fmt.Sprintf("Transaction{RefID:%q Status:%s Code:%d Amount:%s}", t.RefID, t.Status, t.Code, t.Amount.String())
}

// GoString is String, for %#v.
func (t *Transaction) GoString() string { return t.String() }

// Format prints String for every verb, so a Transaction printed by value or
// by pointer, with any verb, never shows its raw body (which holds the
// account).
func (t Transaction) Format(f fmt.State, verb rune) { formatSafe(f, verb, t.String()) }

// LogValue is String, for slog.
func (t Transaction) LogValue() slog.Value { return slog.StringValue(t.String()) }

// Raw returns the response body as received. The caller must not modify it.
func (t *Transaction) Raw() []byte {
	if t == nil {
		return nil
	}
	return t.raw
}

// report names a payment's status for the observer, and a status the SDK does
// not know for the drift alarm.
func (t *Transaction) report() report {
	if t == nil {
		return report{}
	}
	if t.Status == "" {
		return report{driftField: "data.status", driftText: t.statusText}
	}
	return report{status: t.Status}
}

// transactionLayout is data.timestamp's layout: year first, unlike bill
// presentment's metadata.
const transactionLayout = "2006-01-02 15:04:05"

// check says what one answer to p means. A 200 is the payment's outcome when
// it reads whole, its status and code agree, and it names p's refid, and
// (when it names them) p's account, product and amount; any other 200 is
// malformed, which Pay reports as ErrOutcomeUnknown. Every other status is
// not an outcome.
func (p Payment) check(res *response) (*Transaction, verdict, error) {
	if res.status != 200 {
		return nil, notOutcome, nil
	}
	t, named, err := decodeTransaction(res.body)
	if err == nil {
		err = p.matches(t, named)
	}
	if t != nil {
		t.StatusCode, t.RequestID = res.status, res.requestID
	}
	if err != nil {
		return t, malformed, fmt.Errorf("%w: %w", ErrMalformedResponse, err)
	}
	return t, outcome, nil
}

// matches checks that t is the answer about p, not about another payment.
func (p Payment) matches(t *Transaction, named named) error {
	amount, _ := ParseAmount(p.Amount)
	switch {
	case t.RefID != p.RefID:
		return errors.New("data.refid is not the refid sent")
	case named.account != "" && named.account != p.Account:
		return errors.New("data.account is not the account sent")
	case named.product != "" && !strings.EqualFold(named.product, p.Product):
		return errors.New("data.product is not the product sent")
	case t.Amount.State() != Absent && t.Amount.State() != Null && t.Amount.Sen() != amount.Sen():
		return errors.New("data.amount is not the amount sent")
	}
	return nil
}

// decodeTransaction reads a payment answer's envelope with exact keys: a key
// sent twice, bytes after the envelope, a status missing or not one the SDK
// knows, or a statusCode that disagrees with it make it unreadable. The
// Transaction is returned with what it said even then.
func decodeTransaction(body []byte) (*Transaction, named, error) {
	t := &Transaction{raw: body, Code: -1}
	var n named
	var k keys
	var hasData bool
	var derr error
	env, err := readEnvelope(body, &k, func(val []byte) {
		hasData = true
		if e := eachMember(val, func(key, val []byte) error { return t.member(&k, &n, key, val) }); e != nil && derr == nil {
			derr = e
		}
	}, nil)
	n.refidInDoubt = slices.Contains(k.dups, "refid") || slices.Contains(k.dups, "data")
	switch {
	case err != nil:
		return nil, n, err
	case derr != nil:
		return t, n, derr
	case !hasData:
		return t, n, errors.New(`no "data" object`)
	case len(k.dups) > 0:
		return t, n, fmt.Errorf("data.%s is sent twice", k.duplicate())
	case env.trailing:
		return t, n, errors.New("bytes after the envelope")
	case t.Status == "":
		return t, n, fmt.Errorf("data.status %q is not a status the SDK knows", excerpt([]byte(t.statusText), 60))
	case t.Code >= 0 && !t.Status.agrees(t.Code):
		return t, n, fmt.Errorf("data.status %q disagrees with data.statusCode %d", t.statusText, t.Code)
	}
	return t, n, nil
}

// named is what an answer says it is about, beyond its refid: kept apart
// from the Transaction, which must not hold the account number.
type named struct {
	account, product string
	refidInDoubt     bool // data.refid, or data itself, was sent twice
}

// transactionKeys are the members of data a Transaction reads. The keys
// tracker records these constants, so reading a member allocates no name.
var transactionKeys = [...]string{"status", "statusCode", "refid", "account", "product", "sn", "amount", "cost", "balance", "timestamp"}

// member reads one member of data.
func (t *Transaction) member(k *keys, n *named, key []byte, val []byte) error {
	i := slices.Index(transactionKeys[:], string(key))
	if i < 0 {
		return nil
	}
	name := transactionKeys[i]
	k.once(name)
	switch name {
	case "status":
		if val[0] != '"' {
			return errors.New("data.status is not a string")
		}
		text := scalarText(val)
		t.statusText, t.Status = text, transactionStatus(text)
	case "statusCode":
		code, err := readCode(val, scalarText(val))
		if err != nil {
			return errors.New("data.statusCode is not a code")
		}
		t.Code = code
	case "refid", "account", "product":
		*t.textOf(n, name) = scalarText(val)
	case "sn":
		t.SerialNumber = forPeople(scalarText(val))
	case "amount", "cost", "balance":
		*t.amountOf(name) = readAmount(val)
	case "timestamp":
		t.Time, _ = time.ParseInLocation(transactionLayout, scalarText(val), Malaysia)
	}
	return nil
}

// textOf is where a text member of data goes.
func (t *Transaction) textOf(n *named, key string) *string {
	switch key {
	case "refid":
		return &t.RefID
	case "account":
		return &n.account
	}
	return &n.product
}

// amountOf is where an amount member of data goes.
func (t *Transaction) amountOf(key string) *Amount {
	switch key {
	case "amount":
		return &t.Amount
	case "cost":
		return &t.Cost
	}
	return &t.Balance
}

// readCode reads a statusCode: a number or a numeric string; -1 for null.
func readCode(val []byte, text string) (int, error) {
	if isNull(val) {
		return -1, nil
	}
	code, err := strconv.Atoi(strings.TrimSpace(text))
	if err == nil && code < 0 {
		err = errors.New("negative")
	}
	return code, err
}
