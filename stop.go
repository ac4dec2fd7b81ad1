package iimmpact

import (
	"context"
	"errors"
)

// ErrNotSent is matched by the error of a call whose request was never sent
// because the caller stopped first: the stop of WithStop came, or a batch
// stopped handing out work (the API looked blocked, and the error matches
// ErrBlocked too, or the batch's context ended, and it matches the context's
// error). Nothing was created by such a call.
var ErrNotSent = errors.New("iimmpact: not sent: stopped first")

type notSentError struct{ cause error }

func (e *notSentError) Error() string        { return ErrNotSent.Error() + ": " + e.cause.Error() }
func (e *notSentError) Is(target error) bool { return target == ErrNotSent }
func (e *notSentError) Unwrap() error        { return e.cause }

// WithStop returns a copy of ctx for calls that must send nothing new once
// stop is done, while the requests they already wrote run on under ctx: a
// job's graceful shutdown. Give it the signal's context as stop and, as ctx,
// one that outlives the signal by a grace period:
//
//	calls, cancel := context.WithCancel(context.WithoutCancel(signalled))
//	defer cancel()
//	stopAfter := context.AfterFunc(signalled, func() { time.AfterFunc(grace, cancel) })
//	defer stopAfter()
//	calls = iimmpact.WithStop(calls, signalled)
//
// Once stop is done, a call made with the returned context sends no request:
// not the first, not a retry, not PayUntilFinal's next ask. A call waiting for
// its quota slot or for a retry's backoff ends at once. Its error matches
// ErrNotSent, unless an earlier attempt of a payment may have been acted on:
// then it matches ErrOutcomeUnknown, as always. BillPresentments hands out no
// more queries. A request already written is not cut off: it ends with ctx.
func WithStop(ctx, stop context.Context) context.Context {
	return context.WithValue(ctx, stopKey{}, stop)
}

type stopKey struct{}
