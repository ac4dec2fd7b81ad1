package iimmpact_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

// The statement has a debit for every payment and a credit for every
// refund, signed and exact.
func TestStatementHasEveryMovement(t *testing.T) {
	srv := iimmpacttest.Start(t)
	payments(t, srv, "0123456701", "60123450047")
	lines, err := collect(srv.Client.Statement(context.Background(), iimmpact.StatementQuery{From: time.Now(), PageSize: 1}))
	require.NoError(t, err)
	require.Len(t, lines, 3, "two debits and the failed one's refund")
	var sum int64
	kinds := map[string]int{}
	for _, l := range lines {
		sum += l.Amount.Sen()
		kinds[l.Type]++
	}
	assert.Equal(t, int64(-500), sum, "what the wallet lost: the one paid")
	assert.Equal(t, map[string]int{"debit": 2, "refund": 1}, kinds)
	assert.Equal(t, int64(100_000-500), lines[2].Balance.Sen())
	bal, err := srv.Client.Balance(context.Background())
	require.NoError(t, err)
	assert.Equal(t, bal.Amount.Sen(), lines[2].Balance.Sen())
}
