package iimmpact

import (
	"context"
	"errors"
	"iter"
	"sync"
	"time"
)

// batchQuotaWait is how long a batch's call may wait for the quota: as long
// as its context allows.
const batchQuotaWait = time.Duration(1 << 62)

func notSent(q Query, cause error) BatchResult {
	return BatchResult{Query: q, Err: &notSentError{cause}}
}

// BatchResult is what one query of BillPresentments came to: a Bill, or an
// error and a nil Bill, exactly as BillPresentment returns them.
type BatchResult struct {
	Query Query // the query as given
	Bill  *Bill
	Err   error
}

// BillPresentments presents every query, the jobs of bill reminders and
// recurring payments, with at most workers calls in flight (at least one),
// and yields each result with its query's index (from 0) as the calls end,
// not in input order.
//
// It paces itself through the client's quota: each call waits for its slot
// as long as ctx allows, with or without WithQuotaWait, so no query is ever
// refused for a slot the batch could have waited for. Every query ends as a
// result: presented, refused for its own reason, or ErrNotSent. A per-account error (an invalid query, an unavailable biller,
// an API error) is a result like any other and the batch goes on. At the
// first ErrBlocked, when ctx ends, or when the stop of WithStop comes, it
// hands out no more work: the calls in flight finish (after a stop, those
// still waiting for a slot end at once), and every query not sent yet is
// yielded with an error that matches ErrNotSent. Breaking out of the loop
// cancels the calls in flight.
//
// To run a batch beside live checkouts on one egress IP, give the batch its
// own client with a lower WithQuota than the checkouts': they share one count
// per origin (and, through the same WithQuotaStore key, across a fleet), so
// the batch never takes the checkouts' share.
func (c *Client) BillPresentments(ctx context.Context, queries iter.Seq[Query], workers int) iter.Seq2[int, BatchResult] {
	return func(yield func(int, BatchResult) bool) {
		b := newBatch(ctx, c, max(workers, 1))
		defer b.close()
		next, stop := iter.Pull(queries)
		defer stop()
		b.run(next, yield)
	}
}

// batch is one run of BillPresentments: its workers and what they report.
type batch struct {
	ctx     context.Context
	cancel  context.CancelFunc
	jobs    chan job
	results chan indexed
	wg      sync.WaitGroup
	once    sync.Once
}

type job struct {
	i int
	q Query
}

type indexed struct {
	i        int
	r        BatchResult
	panicked bool
	panic    any
}

func newBatch(ctx context.Context, c *Client, workers int) *batch {
	ctx, cancel := context.WithCancel(ctx)
	b := &batch{ctx: ctx, cancel: cancel, jobs: make(chan job), results: make(chan indexed)}
	wait := batchQuotaWait
	for range workers {
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			for j := range b.jobs {
				b.results <- b.present(c, j, wait)
			}
		}()
	}
	return b
}

// present makes one call; a panic goes to the consumer's goroutine.
func (b *batch) present(c *Client, j job, wait time.Duration) (out indexed) {
	out.i, out.panicked = j.i, true
	defer func() {
		if out.panicked {
			out.panic = recover()
		}
	}()
	cl := c.billCall(j.q)
	cl.quotaWait = wait
	r := do(b.ctx, c, cl, checkBill)
	out.r, out.panicked = BatchResult{Query: j.q, Bill: r.value, Err: r.err}, false
	return out
}

// progress is where a run stands.
type progress struct {
	pending  *job // the next query to hand out
	n        int  // queries read so far
	inFlight int
	stopped  error // why no more work is handed out
}

// run hands out queries while it may, and yields every result.
func (b *batch) run(next func() (Query, bool), yield func(int, BatchResult) bool) {
	var p progress
	for {
		if p.pending == nil && p.stopped == nil {
			if q, ok := next(); ok {
				p.pending, p.n = &job{p.n, q}, p.n+1
			}
		}
		if p.inFlight == 0 && (p.pending == nil || p.stopped != nil) {
			break
		}
		if !b.step(&p, yield) {
			return
		}
	}
	if p.stopped == nil {
		return
	}
	// Report what was never sent, the pending query first.
	if p.pending != nil && !yield(p.pending.i, notSent(p.pending.q, p.stopped)) {
		return
	}
	for q, ok := next(); ok; q, ok = next() {
		if !yield(p.n, notSent(q, p.stopped)) {
			return
		}
		p.n++
	}
}

// step hands out the pending query, takes a result or notes the context's
// end, whichever comes first. It reports false when the consumer broke off.
func (b *batch) step(p *progress, yield func(int, BatchResult) bool) bool {
	var jobs chan job // nil, so the send below is never chosen, unless there is work to hand out
	var j job
	if p.pending != nil && p.stopped == nil {
		jobs, j = b.jobs, *p.pending
	}
	done, stop := b.ctx.Done(), stopDone(b.ctx)
	if p.stopped != nil {
		done, stop = nil, nil
	}
	select {
	case jobs <- j:
		p.pending, p.inFlight = nil, p.inFlight+1
	case r := <-b.results:
		p.inFlight--
		if r.panicked {
			b.close()
			panic(r.panic)
		}
		if errors.Is(r.r.Err, ErrBlocked) && p.stopped == nil {
			p.stopped = ErrBlocked
		}
		return yield(r.i, r.r)
	case <-done:
		p.stopped = b.ctx.Err()
	case <-stop:
		p.stopped = errStopped
	}
	return true
}

// close stops the workers: calls in flight are cancelled and their results
// dropped.
func (b *batch) close() {
	b.once.Do(func() {
		b.cancel()
		close(b.jobs)
		drained := make(chan struct{})
		go func() {
			for range b.results { // what the calls in flight hand back
			}
			close(drained)
		}()
		b.wg.Wait()
		close(b.results)
		<-drained
	})
}
