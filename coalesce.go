package iimmpact

import (
	"bytes"
	"context"
	"sync"
)

// WithCoalescing makes identical queries in flight at the same moment (a double
// click, a page rendered twice) share each request to the API. Sharing is per
// attempt: every caller keeps its own retries, deadline and Retry-After
// decision, gets its own copy of the answer, and never sees another caller's
// cancellation; a shared request is cancelled only when every caller waiting on
// it has gone, and a request no one waits on any more is never joined. A
// panic in a shared request (a RoundTripper's, a log handler's) reaches every
// caller waiting on it, in the caller's own goroutine, as it would without
// coalescing.
func WithCoalescing() Option {
	return func(o *options) error {
		o.coalesce = true
		return nil
	}
}

// flights shares requests in flight by query.
type flights struct {
	mu    sync.Mutex
	calls map[string]*flight
}

type flight struct {
	done     chan struct{}
	out      attemptResult
	panicked bool
	panic    any // what the request panicked with
	waiters  int
	cancel   context.CancelFunc
}

func (g *flights) do(ctx context.Context, key string, send func(context.Context) attemptResult) attemptResult {
	g.mu.Lock()
	f := g.calls[key]
	if f == nil {
		// The request keeps the first caller's values (loggers, traces) but not
		// its cancellation: it ends when its last waiter leaves.
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		g.calls[key] = f
		go g.run(fctx, key, f, send)
	}
	f.waiters++
	g.mu.Unlock()

	select {
	case <-f.done:
		if f.panicked {
			panic(f.panic)
		}
		out := f.out
		if out.res != nil {
			res := *out.res
			res.body = bytes.Clone(res.body)
			res.header = res.header.Clone()
			out.res = &res
		}
		return out
	case <-ctx.Done():
		g.mu.Lock()
		f.waiters--
		last := f.waiters == 0
		if last && g.calls[key] == f {
			delete(g.calls, key) // under the same lock: no one joins a request being cancelled
		}
		g.mu.Unlock()
		if last {
			f.cancel()
		}
		return attemptResult{err: ctx.Err()}
	}
}

// run sends the shared request. A panic is kept for the callers, never left
// to end the process from this goroutine; panicked also catches panic(nil)
// and runtime.Goexit.
func (g *flights) run(ctx context.Context, key string, f *flight, send func(context.Context) attemptResult) {
	f.panicked = true // until send returns
	defer func() {
		if f.panicked {
			f.panic = recover()
		}
		g.forget(key, f)
		f.cancel()
		close(f.done)
	}()
	f.out = send(ctx)
	f.panicked = false
}

// forget removes f, unless a newer request has taken its place.
func (g *flights) forget(key string, f *flight) {
	g.mu.Lock()
	if g.calls[key] == f {
		delete(g.calls, key)
	}
	g.mu.Unlock()
}
