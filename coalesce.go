package iimmpact

import (
	"context"
	"fmt"
	"sync"
)

// WithCoalescing makes identical queries that are in flight at the same moment
// (a double click, a page rendered twice) share one upstream call. Each caller
// still gets its own copy of the result and still returns when its own context
// ends; the shared call is cancelled only when every caller waiting on it has
// gone.
func WithCoalescing() Option {
	return func(c *config) error {
		c.coalesce = true
		return nil
	}
}

// group is a singleflight whose shared call outlives any one caller's context but
// not all of them.
type group struct {
	mu    sync.Mutex
	calls map[string]*call
}

type call struct {
	done    chan struct{}
	bill    *Bill
	err     error
	waiters int
	cancel  context.CancelFunc
}

func (g *group) do(ctx context.Context, key string, fn func(context.Context) (*Bill, error)) (*Bill, error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = make(map[string]*call)
	}
	c, ok := g.calls[key]
	if !ok {
		// The shared call keeps the first caller's values (loggers, traces) but
		// not its cancellation or deadline: it is cancelled when its last waiter
		// leaves, so it lives exactly as long as someone wants its answer.
		cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		c = &call{done: make(chan struct{}), cancel: cancel}
		g.calls[key] = c
		go func() {
			c.bill, c.err = fn(cctx)
			g.mu.Lock()
			delete(g.calls, key)
			g.mu.Unlock()
			cancel()
			close(c.done)
		}()
	}
	c.waiters++
	g.mu.Unlock()

	select {
	case <-c.done:
		if c.bill == nil {
			return nil, c.err
		}
		copied := *c.bill
		return &copied, c.err
	case <-ctx.Done():
		g.mu.Lock()
		c.waiters--
		if c.waiters == 0 {
			c.cancel()
		}
		g.mu.Unlock()
		return nil, fmt.Errorf("iimmpact: bill presentment: %w", ctx.Err())
	}
}
