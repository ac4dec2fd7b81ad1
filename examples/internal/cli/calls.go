package cli

import (
	"context"
	"time"

	"github.com/iimmpact-go/iimmpact"
)

// Calls returns the context a job's calls run in. When ctx ends (SIGINT or
// SIGTERM), nothing new is sent: a call waiting for its quota slot or a
// backoff ends at once (iimmpact.WithStop), while the requests already
// written get grace to finish before they are cancelled too.
func Calls(ctx context.Context, grace time.Duration) (context.Context, func()) {
	calls, abandon := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(grace, abandon)
		context.AfterFunc(calls, func() { t.Stop() })
	})
	return iimmpact.WithStop(calls, ctx), func() { stop(); abandon() }
}
