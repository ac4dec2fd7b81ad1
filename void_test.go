package iimmpact_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

// A void asks for money to move: its fields are checked before anything is
// sent; the biller's approval comes later, as Refund (53) in the history
// and a credit in the statement; a second void is refused; a dispute opens
// a case.
func TestVoidAndDispute(t *testing.T) {
	srv := iimmpacttest.Start(t)
	srv.SetVoidSteps(2)
	payments(t, srv, "0123456701")
	ctx := context.Background()
	before := len(srv.Requests())
	for _, bad := range []iimmpact.VoidRequest{
		{Reason: "wrong bill", RefundType: 1},
		{RefID: "h-0", RefundType: 4, Reason: "wrong bill"},
		{RefID: "h-0", RefundType: 1},
		{RefID: "h-0", RefundType: 1, Reason: "two\nlines"},
		{RefID: "h-0", RefundType: 1, Reason: "x", Emails: []string{"Finance <f@example.com>"}},
	} {
		_, err := srv.Client.Void(ctx, bad)
		assert.ErrorIs(t, err, iimmpact.ErrInvalidPayment, "%+v", bad)
		assert.NotErrorIs(t, err, iimmpact.ErrOutcomeUnknown)
	}
	assert.Len(t, srv.Requests(), before, "nothing sent")

	v, err := srv.Client.Void(ctx, iimmpact.VoidRequest{RefID: "h-0", RefundType: 1, Reason: "paid the wrong bill", Emails: []string{"finance@example.com"}})
	require.NoError(t, err)
	assert.True(t, v.Accepted)
	assert.Equal(t, "h-0", v.RefID)
	again, err := srv.Client.Void(ctx, iimmpact.VoidRequest{RefID: "h-0", RefundType: 1, Reason: "again"})
	require.NoError(t, err)
	assert.False(t, again.Accepted, "a second void is refused, never a second refund")

	tx, err := srv.Client.Pay(ctx, iimmpact.Payment{RefID: "h-0", Product: "DIGI", Account: "0123456701", Amount: "5.00"})
	require.NoError(t, err)
	assert.Equal(t, iimmpact.TransactionSucceeded, tx.Status, "the biller has not approved it yet")
	tx, err = srv.Client.Pay(ctx, iimmpact.Payment{RefID: "h-0", Product: "DIGI", Account: "0123456701", Amount: "5.00"})
	require.NoError(t, err)
	assert.Equal(t, iimmpact.TransactionRefunded, tx.Status)
	assert.Equal(t, 53, tx.Code)
	rows, err := collect(srv.Client.Transactions(ctx, iimmpact.HistoryQuery{From: time.Now()}))
	require.NoError(t, err)
	assert.Equal(t, iimmpact.TransactionRefunded, rows[0].Status)
	assert.Equal(t, "1000.00", srv.Balance(), "the refund is back in the wallet")

	d, err := srv.Client.Dispute(ctx, iimmpact.VoidRequest{TrxID: rows[0].TrxID, Reason: "the customer says it never arrived"})
	require.NoError(t, err)
	assert.False(t, d.Accepted, "only a successful payment is disputed")
}

// A void whose answer was lost may have been taken: it is ErrOutcomeUnknown,
// never "not requested".
func TestAVoidWhoseAnswerIsLostIsUnknown(t *testing.T) {
	h := startHostile(t, func(n int, _ []byte) (int, string) { return drop, "" })
	_, err := h.client(t).Void(context.Background(), iimmpact.VoidRequest{RefID: "h-0", RefundType: 1, Reason: "wrong bill"})
	assert.ErrorIs(t, err, iimmpact.ErrOutcomeUnknown)
	assert.Contains(t, err.Error(), "the request may have been taken: do not send it again")
	assert.NotContains(t, err.Error(), "ask again with the same Payment", "a payment's advice is not a void's")
	assert.Equal(t, 1, h.arrivals(), "not repeated by the SDK")
}

func TestCallbackURLSetting(t *testing.T) {
	srv := iimmpacttest.Start(t)
	ctx := context.Background()
	s, err := srv.Client.SetCallbackURL(ctx, "https://shop.example/iimmpact/callback", "POST")
	require.NoError(t, err)
	assert.Equal(t, "https://shop.example/iimmpact/callback", s.URL)
	got, err := srv.Client.CallbackURL(ctx)
	require.NoError(t, err)
	assert.Equal(t, *s, *got)
	_, err = srv.Client.SetCallbackURL(ctx, "ftp://x", "POST")
	assert.ErrorIs(t, err, iimmpact.ErrInvalidQuery)
	_, err = srv.Client.SetCallbackURL(ctx, "https://x", "PUT")
	assert.True(t, errors.Is(err, iimmpact.ErrInvalidQuery))
}
