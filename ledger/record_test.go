package ledger

// The tests of record.go: intents, answers, callbacks, what is pending, and
// receipts, on SQLite and (in CI) PostgreSQL.

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact"
)

// A refid is one payment: an intent again with the same body is that payment,
// with another body ErrConflict.
func TestIntentIsOnceARefid(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			l := open(t)
			ctx := context.Background()
			e, err := l.Intent(ctx, tnb)
			require.NoError(t, err)
			assert.Equal(t, StateSending, e.State)
			assert.Equal(t, int64(4594), e.AmountSen)
			again := tnb
			again.Product, again.Account = "tnb", " 220012345678\u200b" // the same payment, as Pay trims it
			e2, err := l.Intent(ctx, again)
			require.NoError(t, err, "the same payment again (a re-run, another pod)")
			assert.Equal(t, e.Created, e2.Created)
			other := tnb
			other.Account = "220012345679"
			_, err = l.Intent(ctx, other)
			assert.ErrorIs(t, err, ErrConflict, "another body under a known refid is refused")
			other = tnb
			other.Amount = "45.95"
			_, err = l.Intent(ctx, other)
			assert.ErrorIs(t, err, ErrConflict)
			_, err = l.Intent(ctx, iimmpact.Payment{RefID: "bad refid"})
			assert.ErrorIs(t, err, iimmpact.ErrInvalidPayment)
		})
	}
}

// Answers move a payment forward only: a final state is never undone by a
// late or refused answer.
func TestAnswersMoveAPaymentOnlyForward(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			l := open(t)
			ctx := context.Background()
			_, err := l.Intent(ctx, tnb)
			require.NoError(t, err)
			e, err := l.Answer(ctx, tnb.RefID, nil, unknown{})
			require.NoError(t, err)
			assert.Equal(t, StateUnknown, e.State)
			e, err = l.Answer(ctx, tnb.RefID, nil, &iimmpact.APIError{StatusCode: 400, Code: 44})
			require.NoError(t, err)
			assert.Equal(t, StateUnknown, e.State, "a refused ask proves nothing of a payment that may exist")
			e, err = l.Answer(ctx, tnb.RefID, &iimmpact.Transaction{Status: iimmpact.TransactionProcessing, Code: 1}, nil)
			require.NoError(t, err)
			assert.Equal(t, StateProcessing, e.State)
			e, err = l.Answer(ctx, tnb.RefID, &iimmpact.Transaction{Status: iimmpact.TransactionSucceeded, Code: 20}, nil)
			require.NoError(t, err)
			assert.Equal(t, StatePaid, e.State)
			assert.Equal(t, 20, e.Code)
			e, err = l.Answer(ctx, tnb.RefID, &iimmpact.Transaction{Status: iimmpact.TransactionProcessing, Code: 1}, nil)
			require.NoError(t, err)
			assert.Equal(t, StatePaid, e.State, "a late answer never undoes a payment")
			e, err = l.Answer(ctx, tnb.RefID, &iimmpact.Transaction{Status: iimmpact.TransactionRefunded, Code: 53}, nil)
			require.NoError(t, err)
			assert.Equal(t, StateRefunded, e.State, "a void approved later")
			_, err = l.Answer(ctx, "co-none", nil, unknown{})
			assert.ErrorIs(t, err, ErrNotFound)

			fresh := tnb
			fresh.RefID = "co-tnb-2"
			_, err = l.Intent(ctx, fresh)
			require.NoError(t, err)
			e, err = l.Answer(ctx, fresh.RefID, nil, &iimmpact.APIError{StatusCode: 400, Code: 43})
			require.NoError(t, err)
			assert.Equal(t, StateRefused, e.State, "a first send refused created nothing")
			assert.Equal(t, 43, e.Code)
			pending, err := l.Pending(ctx)
			require.NoError(t, err)
			assert.Empty(t, pending)

			// After the top-up, the refused refid is sent again, for the
			// bill as it is now: open again until it is answered.
			again := fresh
			again.Amount = "50.00"
			e, err = l.Intent(ctx, again)
			require.NoError(t, err)
			assert.Equal(t, StateSending, e.State)
			assert.Equal(t, int64(5000), e.AmountSen)
			assert.Equal(t, -1, e.Code)
			_, err = l.Intent(ctx, fresh)
			assert.ErrorIs(t, err, ErrConflict, "open again, its body is fixed")
			pending, err = l.Pending(ctx)
			require.NoError(t, err)
			assert.Len(t, pending, 1)
		})
	}
}

// A callback is added to the payment's history once, however often it comes.
func TestCallbacksAreHistoryOnceEach(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			l := open(t)
			ctx := context.Background()
			_, err := l.Intent(ctx, tnb)
			require.NoError(t, err)
			cb := callback(t, tnb.RefID)
			for range 3 { // the vendor delivers it up to three times
				e, err := l.Callback(ctx, cb)
				require.NoError(t, err)
				assert.Equal(t, StateSending, e.State, "a callback is a hint: it moves nothing")
			}
			h, err := l.History(ctx, tnb.RefID)
			require.NoError(t, err)
			kinds := []string{}
			for _, e := range h {
				kinds = append(kinds, e.Kind)
			}
			assert.Equal(t, []string{"intent", "callback"}, kinds)
			_, err = l.Callback(ctx, callback(t, "co-not-ours"))
			assert.ErrorIs(t, err, ErrNotFound)
		})
	}
}

// Pending lists the payments still to be asked about, and no final one.
func TestPendingListsWhatIsStillToAsk(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			l := open(t)
			ctx := context.Background()
			for i, answer := range []*iimmpact.Transaction{nil, {Status: iimmpact.TransactionProcessing, Code: 1}, {Status: iimmpact.TransactionSucceeded, Code: 20}} {
				p := tnb
				p.RefID = "co-p-" + string(rune('a'+i))
				_, err := l.Intent(ctx, p)
				require.NoError(t, err)
				if answer != nil {
					_, err = l.Answer(ctx, p.RefID, answer, nil)
					require.NoError(t, err)
				}
			}
			pending, err := l.Pending(ctx)
			require.NoError(t, err)
			var refids []string
			for _, e := range pending {
				refids = append(refids, e.RefID)
				assert.True(t, e.Open())
			}
			assert.Equal(t, []string{"co-p-a", "co-p-b"}, refids)
		})
	}
}

// Two processes record the same intent at once: one row, both see it.
func TestTwoProcessesOneRefid(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			a := open(t)
			b := a
			if name == "sqlite" {
				// another connection pool on the same file, as another process
				path := strings.TrimPrefix(a.path(t), "file:")
				b = openSQLite(t, path)
			}
			ctx := context.Background()
			var wg sync.WaitGroup
			errs := make([]error, 20)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					l := a
					if i%2 == 1 {
						l = b
					}
					_, errs[i] = l.Intent(ctx, tnb)
				}()
			}
			wg.Wait()
			for _, err := range errs {
				require.NoError(t, err)
			}
			h, err := a.History(ctx, tnb.RefID)
			require.NoError(t, err)
			assert.Len(t, h, 1, "one intent")
		})
	}
}

// A receipt's details come with the answer that left the payment paid; an
// intent says whether it made the payment sending; a payment never sent is
// refused, and only from sending.
func TestReceiptsFreshIntentsAndRefusals(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			l := open(t)
			ctx := context.Background()
			p := iimmpact.Payment{RefID: "co-r-1", Product: "TNB", Account: "220012345678", Amount: "45.94"}
			e, err := l.Intent(ctx, p)
			require.NoError(t, err)
			assert.True(t, e.Fresh)
			e, err = l.Intent(ctx, p)
			require.NoError(t, err)
			assert.False(t, e.Fresh, "found, not made: another request may have sent it")

			e, err = l.Refuse(ctx, p.RefID, "quota")
			require.NoError(t, err)
			assert.Equal(t, StateRefused, e.State)
			e, err = l.Intent(ctx, p)
			require.NoError(t, err)
			assert.True(t, e.Fresh, "a refused payment sent again")

			e, err = l.Doubt(ctx, p.RefID) // another pod asks about it
			require.NoError(t, err)
			assert.Equal(t, StateUnknown, e.State)
			e, err = l.Refuse(ctx, p.RefID, "quota")
			require.NoError(t, err)
			assert.Equal(t, StateUnknown, e.State, "asked about by another: it may exist, never refused")

			at := time.Date(2026, 12, 7, 16, 50, 0, 0, iimmpact.Malaysia)
			e, err = l.Answer(ctx, p.RefID, &iimmpact.Transaction{RefID: p.RefID, Status: iimmpact.TransactionSucceeded, Code: 20,
				SerialNumber: "SBX123", RequestID: "req-1", Time: at}, nil)
			require.NoError(t, err)
			assert.Equal(t, StatePaid, e.State)
			assert.Equal(t, "SBX123", e.Serial)
			assert.Equal(t, "req-1", e.RequestID)
			assert.True(t, e.VendorTime.Equal(at))
			e, err = l.Refuse(ctx, p.RefID, "quota")
			require.NoError(t, err)
			assert.Equal(t, StatePaid, e.State, "a paid payment is never refused")
			e, err = l.Answer(ctx, p.RefID, &iimmpact.Transaction{RefID: p.RefID, Status: iimmpact.TransactionFailed, Code: 47, SerialNumber: "other"}, nil)
			require.NoError(t, err)
			assert.Equal(t, "SBX123", e.Serial, "a late answer that is not kept changes no receipt")

			between, err := l.Between(ctx, e.Created, e.Created.Add(time.Microsecond))
			require.NoError(t, err)
			require.Len(t, between, 1)
			assert.Equal(t, p.RefID, between[0].RefID)
			between, err = l.Between(ctx, e.Created.Add(time.Microsecond), e.Created.Add(time.Hour))
			require.NoError(t, err)
			assert.Empty(t, between)
		})
	}
}
