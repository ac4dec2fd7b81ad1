package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"sync"
	"time"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/examples/internal/cli"
	"github.com/iimmpact-go/iimmpact/examples/internal/jobfile"
	"github.com/iimmpact-go/iimmpact/examples/internal/progress"
)

// grace is how long calls in flight may finish after SIGINT or SIGTERM.
const grace = 5 * time.Second

// line is one result line of -batch.
type line struct {
	Line  int            `json:"line"` // the row's line in the input file
	Query iimmpact.Query `json:"query"`
	result
}

// columns are the input's known columns, and where each goes in a Query.
var columns = map[string]func(*iimmpact.Query, string){
	"product":     func(q *iimmpact.Query, v string) { q.Product = v },
	"account":     func(q *iimmpact.Query, v string) { q.Account = v },
	"biller_code": func(q *iimmpact.Query, v string) { q.BillerCode = v },
	"ref2":        func(q *iimmpact.Query, v string) { q.Ref2 = v },
	"amount":      func(q *iimmpact.Query, v string) { q.Amount = v },
}

// batchRun is one run of -batch: what it has recorded, and why it stopped.
type batchRun struct {
	out      *jobfile.Results
	s        *summary
	prog     *progress.Progress
	lang     iimmpact.Language
	stop     context.CancelFunc // stops handing out rows, after a write failed
	writeErr error
	read     int  // rows read this run, with or without a result before
	readAll  bool // every row of the file was read
	recorded int  // rows given a result this run
	prior    int  // rows among those read that had a result before
}

// record appends one row's result; a failed write stops the run.
func (b *batchRun) record(l line) {
	if b.writeErr != nil {
		return
	}
	data, _ := json.Marshal(l)
	if err := b.out.Append(data); err != nil {
		b.writeErr = err
		b.stop()
		return
	}
	b.recorded++
	b.s.add(l)
	b.prog.Row()
}

func runBatch(ctx context.Context, o options, stdin io.Reader, stdout, stderr io.Writer) int {
	in, total, err := jobfile.Open(o.batch, stdin)
	if err != nil {
		fmt.Fprintln(stderr, "billcheck:", err)
		return exitUsage
	}
	defer in.Close()
	rows, err := readRows(in)
	if err != nil {
		fmt.Fprintf(stderr, "billcheck: %s: %v\n", o.batch, err)
		return exitUsage
	}
	out, prior, err := jobfile.OpenResults(o.out, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "billcheck:", err)
		return exitUsage
	}
	s := &summary{now: time.Now}
	done := s.load(prior)

	prog := progress.New(stderr, "billcheck", total-len(done), time.Now)
	opts := []iimmpact.Option{iimmpact.WithTimeout(o.timeout), iimmpact.WithObserver(prog)}
	if n, window, _ := cli.ParseQuota(o.quota); n > 0 {
		opts = append(opts, iimmpact.WithQuota(n, window))
	}
	client, closeClient, ok := newClient(stderr, opts...)
	if !ok {
		out.Close()
		return exitUsage
	}
	defer closeClient()
	if len(done) > 0 {
		fmt.Fprintf(stderr, "billcheck: %s already has %d results: resuming with the rest\n", o.out, len(done))
	}
	calls, stopCalls := cli.Calls(ctx, grace)
	defer stopCalls()
	handing, stopHanding := context.WithCancel(ctx)
	defer stopHanding()
	defer context.AfterFunc(ctx, func() { prog.Say("stopping: no more rows are sent; the calls in flight get 5 s to finish") })()

	b := &batchRun{out: out, s: s, prog: prog, lang: o.lang, stop: stopHanding}
	prog.Start()
	blocked := b.present(handing, calls, client, rows, done, o.workers)
	prog.Stop()
	syncErr := out.Close()
	s.print(stderr, time.Since(prog.Began), o.out != "")
	return b.status(stderr, blocked, syncErr)
}

// present sends every row without a result, and records each result. It
// reports whether IIMMPACT looked to block the IP.
func (b *batchRun) present(handing, calls context.Context, client *iimmpact.Client, rows iter.Seq[row], done map[int]bool, workers int) bool {
	var lines []int // the line of each query handed to the batch, by its index
	pending := func(yield func(iimmpact.Query) bool) {
		for r := range rows {
			if handing.Err() != nil {
				return
			}
			b.read++
			switch {
			case done[r.line]:
				b.prior++
			case r.err != nil: // never sent: it is no query
				b.record(line{Line: r.line, Query: r.q, result: newResult(nil, r.err, b.lang)})
			default:
				lines = append(lines, r.line)
				if !yield(r.q) {
					return
				}
			}
		}
		b.readAll = true
	}
	blocked := false
	for i, r := range client.BillPresentments(calls, pending, workers) {
		if unsent(r.Err) {
			blocked = blocked || errors.Is(r.Err, iimmpact.ErrBlocked)
			continue // no result yet: the next run sends it
		}
		b.record(line{Line: lines[i], Query: r.Query, result: newResult(r.Bill, r.Err, b.lang)})
	}
	return blocked
}

// status says how the run ended and returns its exit status: 0 only when
// every row of the file has a result written and synced.
func (b *batchRun) status(w io.Writer, blocked bool, syncErr error) int {
	left := b.read - b.prior - b.recorded
	rest := fmt.Sprintf("%d rows have no result", left)
	if !b.readAll {
		rest += ", nor do the rows after them"
	}
	switch {
	case b.writeErr != nil || syncErr != nil:
		err := b.writeErr
		if err == nil {
			err = syncErr
		}
		fmt.Fprintf(w, "billcheck: writing the results failed: %v\nbillcheck: %s; make room and run the same command again to resume\n", err, rest)
		return exitStopped
	case blocked:
		fmt.Fprintf(w, "billcheck: IIMMPACT answers 403 to this IP: it looks blocked (the vendor blocks an IP for 240 minutes after 30,000 requests in 5 minutes).\n"+
			"billcheck: %s; run the same command again after %s to resume.\n", rest, b.s.now().Add(240*time.Minute).Format("15:04"))
		return exitBlocked
	case left > 0 || !b.readAll: // a signal after the last row was done stops nothing

		fmt.Fprintf(w, "billcheck: stopped: %s; run the same command again to resume with them\n", rest)
		return exitStopped
	case b.s.errors > 0:
		return exitErrors
	}
	return exitOK
}

// unsent reports an error of a row that has no result yet: it was never sent
// (the batch stopped, the IP looked blocked) or its call was abandoned.
func unsent(err error) bool {
	return errors.Is(err, iimmpact.ErrNotSent) || errors.Is(err, iimmpact.ErrBlocked) ||
		errors.Is(err, iimmpact.ErrQuotaExceeded) || errors.Is(err, context.Canceled)
}

// row is one row of the input: a query, or why it is none.
type row struct {
	line int
	q    iimmpact.Query
	err  error
}

// readRows reads the header, then yields each row as a query.
func readRows(in io.Reader) (iter.Seq[row], error) {
	rows, err := jobfile.ReadCSV(in, []string{"product", "account", "biller_code", "ref2", "amount"}, []string{"product", "account"})
	if err != nil {
		return nil, err
	}
	return func(yield func(row) bool) {
		for r := range rows {
			out := row{line: r.Line, err: r.Err}
			if r.Err == nil {
				for name, v := range r.Fields {
					columns[name](&out.q, v)
				}
				out.err = out.q.Validate()
			}
			if !yield(out) {
				return
			}
		}
	}, nil
}

// summary counts what the results file holds: the rows of earlier runs
// (after a resume) and this run's.
type summary struct {
	now        func() time.Time
	mu         sync.Mutex
	counts     map[string]int // "action reason"
	errors     int
	dueSoon    int
	dueSen     int64
	overdue    int
	overdueSen int64
	recorded   int
}

// load counts the results an earlier run recorded, and returns their lines.
func (s *summary) load(prior [][]byte) map[int]bool {
	done := map[int]bool{}
	for _, data := range prior {
		var l line
		if json.Unmarshal(data, &l) == nil && l.Line > 0 && !done[l.Line] {
			done[l.Line] = true
			s.add(l)
		}
	}
	return done
}

func (s *summary) add(l line) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counts == nil {
		s.counts = map[string]int{}
	}
	s.recorded++
	s.counts[string(l.Action)+" "+string(l.Reason)]++
	if l.Error != "" {
		s.errors++
	}
	if l.DueDate == "" {
		return
	}
	owed := int64(0)
	if l.OutstandingSen != nil {
		owed = *l.OutstandingSen
	}
	today := s.now().In(iimmpact.Malaysia).Format(time.DateOnly)
	week := s.now().In(iimmpact.Malaysia).AddDate(0, 0, 7).Format(time.DateOnly)
	switch {
	case l.DueDate < today && owed > 0:
		s.overdue++
		s.overdueSen += owed
	case l.DueDate >= today && l.DueDate <= week:
		s.dueSoon++
		s.dueSen += owed
	}
}

// print writes the summary of the whole results file.
func (s *summary) print(w io.Writer, elapsed time.Duration, file bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	what := "this run"
	if file {
		what = "the results file"
	}
	fmt.Fprintf(w, "billcheck: %d results in %s (%s)", s.recorded, what, elapsed.Round(time.Millisecond))
	keys := make([]string, 0, len(s.counts))
	for k := range s.counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "; %s %d", k, s.counts[k])
	}
	fmt.Fprintf(w, "\nbillcheck: %d errors; %d accounts overdue, owing %s; %d accounts due within 7 days, owing %s in all\n",
		s.errors, s.overdue, cli.Ringgit(s.overdueSen), s.dueSoon, cli.Ringgit(s.dueSen))
}
