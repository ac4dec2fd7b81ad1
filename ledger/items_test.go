package ledger

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact"
)

// An item's state is written only by its claim's holder, and read back with
// its payment's state, the truth about the payment.
func TestItemsAreWrittenByTheirHolderOnly(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			l := open(t)
			ctx := context.Background()
			clock := time.Unix(1_800_000_000, 0)
			l.now = func() time.Time { return clock }
			run := "autopay/2026-12"

			err := l.Mark(ctx, run, "pod-a", Item{ID: "water", State: "pending"})
			require.ErrorIs(t, err, ErrNotHeld, "no claim, no write")

			ok, err := l.Claim(ctx, run, "water", "pod-a", time.Minute)
			require.NoError(t, err)
			require.True(t, ok)
			p := iimmpact.Payment{RefID: "water-202612-1", Product: "AKSB", Account: "1234567890", Amount: "45.94"}
			require.NoError(t, l.Mark(ctx, run, "pod-a", Item{ID: "water", State: "pending", RefID: p.RefID, Attempt: 1, AmountSen: 4594}))
			it, ok, err := l.ItemOf(ctx, run, "water")
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, "", it.Payment, "marked before its intent: never sent")
			assert.Equal(t, -1, it.Code)

			_, err = l.Intent(ctx, p)
			require.NoError(t, err)
			_, err = l.Answer(ctx, p.RefID, &iimmpact.Transaction{RefID: p.RefID, Status: iimmpact.TransactionFailed, Code: 47}, nil)
			require.NoError(t, err)
			items, err := l.Items(ctx, run)
			require.NoError(t, err)
			require.Len(t, items, 1)
			assert.Equal(t, StateFailed, items["water"].Payment)
			assert.Equal(t, 47, items["water"].Code)
			assert.Equal(t, 4594, int(items["water"].AmountSen))

			clock = clock.Add(2 * time.Minute) // pod-a's lease ends; pod-b takes over
			ok, err = l.Claim(ctx, run, "water", "pod-b", time.Minute)
			require.NoError(t, err)
			require.True(t, ok)
			require.ErrorIs(t, l.Mark(ctx, run, "pod-a", Item{ID: "water", State: "paid"}), ErrNotHeld)
			n, err := l.Renew(ctx, run, "pod-a", time.Minute)
			require.NoError(t, err)
			assert.Zero(t, n, "pod-a holds nothing to renew")
			n, err = l.Renew(ctx, run, "pod-b", time.Minute)
			require.NoError(t, err)
			assert.Equal(t, 1, n)
			require.NoError(t, l.Mark(ctx, run, "pod-b", Item{ID: "water", State: "nothing_due", Attempt: 2}))
			it, _, err = l.ItemOf(ctx, run, "water")
			require.NoError(t, err)
			assert.Equal(t, "nothing_due", it.State)
			assert.Equal(t, "", it.RefID)

			_, ok, err = l.ItemOf(ctx, "autopay/2026-11", "water")
			require.NoError(t, err)
			assert.False(t, ok, "runs are apart")

			owners, err := l.Owners(ctx, run)
			require.NoError(t, err)
			assert.Equal(t, []string{"pod-b"}, owners)
			require.NoError(t, l.ReleaseAll(ctx, run, "pod-b"))
			ok, err = l.Claim(ctx, run, "water", "pod-c", time.Minute)
			require.NoError(t, err)
			assert.True(t, ok, "released: taken at once")
		})
	}
}
