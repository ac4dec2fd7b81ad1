package iimmpact

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: a client
// must not leak connections or timers, even on error paths.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
