package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iimmpact-go/iimmpact"
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

func runBatch(ctx context.Context, o options, stdin io.Reader, stdout, stderr io.Writer) int {
	in, out, rows, total, done, err := openBatch(o, stdin, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "billcheck:", err)
		return exitUsage
	}
	defer in.Close()
	defer out.Close()

	prog := newProgress(stderr, total-len(done), time.Now)
	opts := []iimmpact.Option{iimmpact.WithTimeout(o.timeout), iimmpact.WithObserver(prog)}
	if n, window, _ := parseQuota(o.quota); n > 0 {
		opts = append(opts, iimmpact.WithQuota(n, window))
	}
	client, closeClient, ok := newClient(stderr, opts...)
	if !ok {
		return exitUsage
	}
	defer closeClient()
	if len(done) > 0 {
		fmt.Fprintf(stderr, "billcheck: %s already has %d results: resuming with the rest\n", o.out, len(done))
	}
	calls, stop := afterGrace(ctx)
	defer stop()

	prog.start()
	s := summary{now: time.Now}
	record := func(l line) {
		write(out, l)
		s.add(l)
		prog.row()
	}
	var lines []int // the line of each query handed to the batch, by its index
	pending := func(yield func(iimmpact.Query) bool) {
		for r := range rows {
			switch {
			case ctx.Err() != nil:
				return
			case done[r.line]:
			case r.err != nil: // never sent: it is no query
				record(line{Line: r.line, Query: r.q, result: newResult(nil, r.err, o.lang)})
			default:
				lines = append(lines, r.line)
				if !yield(r.q) {
					return
				}
			}
		}
	}
	blocked := false
	for i, r := range client.BillPresentments(calls, pending, o.workers) {
		if unsent(r.Err) {
			blocked = blocked || errors.Is(r.Err, iimmpact.ErrBlocked)
			continue // no result yet: the next run sends it
		}
		record(line{Line: lines[i], Query: r.Query, result: newResult(r.Bill, r.Err, o.lang)})
	}
	prog.stop()
	s.print(stderr, time.Since(prog.began))
	return s.status(stderr, blocked, ctx.Err() != nil)
}

// openBatch opens the input, reads its header, and opens the results file.
func openBatch(o options, stdin io.Reader, stdout io.Writer) (in io.ReadCloser, out io.WriteCloser, rows iter.Seq[row], total int, done map[int]bool, err error) {
	if in, total, err = openInput(o.batch, stdin); err != nil {
		return nil, nil, nil, 0, nil, err
	}
	if rows, err = readRows(in); err != nil {
		in.Close()
		return nil, nil, nil, 0, nil, fmt.Errorf("%s: %w", o.batch, err)
	}
	if out, done, err = openOutput(o.out, stdout); err != nil {
		in.Close()
		return nil, nil, nil, 0, nil, err
	}
	return in, out, rows, total, done, nil
}

// afterGrace returns the context the calls run in: a signal (ctx ending) stops
// handing out rows, and the calls in flight get grace to finish before it is
// cancelled too.
func afterGrace(ctx context.Context) (context.Context, func()) {
	calls, abandon := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(grace, abandon)
		context.AfterFunc(calls, func() { t.Stop() })
	})
	return calls, func() { stop(); abandon() }
}

// unsent reports an error of a row that has no result yet: it was never sent
// (the batch stopped, the IP looked blocked, the quota had no slot) or its
// call was abandoned.
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

func openInput(name string, stdin io.Reader) (io.ReadCloser, int, error) {
	if name == "-" {
		return io.NopCloser(stdin), 0, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
	// The total is for the progress line: the lines less the header, at most.
	n, err := countLines(f)
	if _, serr := f.Seek(0, io.SeekStart); err == nil {
		err = serr
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, max(n-1, 0), nil
}

func countLines(r io.Reader) (int, error) {
	n := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			n++
		}
	}
	return n, sc.Err()
}

// readRows reads the header, then yields each row.
func readRows(in io.Reader) (iter.Seq[row], error) {
	cr := csv.NewReader(in)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("reading the header row: %w", err)
	}
	set := make([]func(*iimmpact.Query, string), len(header))
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(name, "\ufeff")))
		if set[i] = columns[name]; set[i] == nil {
			return nil, fmt.Errorf("the header names column %q; the columns are product, account, biller_code, ref2 and amount", name)
		}
	}
	for _, need := range []string{"product", "account"} {
		if !slices.ContainsFunc(header, func(h string) bool { return strings.EqualFold(strings.TrimSpace(h), need) }) {
			return nil, fmt.Errorf("the header has no %s column", need)
		}
	}
	return func(yield func(row) bool) {
		for {
			fields, err := cr.Read()
			if err == io.EOF {
				return
			}
			r := row{}
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				r.line = pe.StartLine
			} else {
				r.line, _ = cr.FieldPos(0)
			}
			switch {
			case err != nil:
				r.err = fmt.Errorf("not CSV: %w", err)
			case len(fields) != len(header):
				r.err = fmt.Errorf("line %d has %d fields; the header has %d", r.line, len(fields), len(header))
			default:
				for i, v := range fields {
					set[i](&r.q, v)
				}
				r.err = r.q.Validate()
			}
			if !yield(r) {
				return
			}
		}
	}, nil
}

// openOutput opens the results file for appending, after dropping a last line
// a kill cut short, and returns the lines that already have a result.
func openOutput(name string, stdout io.Writer) (io.WriteCloser, map[int]bool, error) {
	done := map[int]bool{}
	if name == "" {
		return nopWriteCloser{stdout}, done, nil
	}
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(f)
	if err == nil {
		whole := data[:bytes.LastIndexByte(data, '\n')+1]
		for _, l := range bytes.Split(whole, []byte("\n")) {
			var got struct{ Line int }
			if json.Unmarshal(l, &got) == nil && got.Line > 0 {
				done[got.Line] = true
			}
		}
		err = f.Truncate(int64(len(whole)))
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekEnd)
	}
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return f, done, nil
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// write appends l as one line, in one write, so a kill never leaves half of it.
func write(w io.Writer, l line) {
	b, _ := json.Marshal(l)
	_, _ = w.Write(append(b, '\n'))
}

// parseQuota reads "N/DURATION"; "" is the SDK's own quota.
func parseQuota(s string) (int, time.Duration, error) {
	if s == "" {
		return 0, 0, nil
	}
	n, d, ok := strings.Cut(s, "/")
	requests, err := strconv.Atoi(n)
	window, derr := time.ParseDuration(d)
	if !ok || err != nil || derr != nil || requests <= 0 || window <= 0 {
		return 0, 0, fmt.Errorf("-quota must be N/DURATION, such as 20000/5m, not %q", s)
	}
	return requests, window, nil
}

// summary counts what a batch came to.
type summary struct {
	now      func() time.Time
	mu       sync.Mutex
	counts   map[string]int // "action reason"
	errors   int
	dueSoon  int
	dueSen   int64
	recorded int
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
	today := s.now().In(myt).Format(time.DateOnly)
	week := s.now().In(myt).AddDate(0, 0, 7).Format(time.DateOnly)
	if l.DueDate != "" && l.DueDate >= today && l.DueDate <= week {
		s.dueSoon++
		if l.OutstandingSen != nil {
			s.dueSen += *l.OutstandingSen
		}
	}
}

var myt = time.FixedZone("GMT+8", 8*60*60) // the API's dates are Malaysian

// status says how the run ended and returns its exit status.
func (s *summary) status(w io.Writer, blocked, stopped bool) int {
	switch {
	case blocked:
		fmt.Fprintf(w, "billcheck: IIMMPACT answers 403 to this IP: it looks blocked (the vendor blocks an IP for 240 minutes after 30,000 requests in 5 minutes).\n"+
			"billcheck: the rows not sent have no result; run the same command again after %s to resume.\n", s.now().Add(240*time.Minute).Format("15:04"))
		return exitBlocked
	case stopped:
		fmt.Fprintln(w, "billcheck: stopped; run the same command again to resume with the rows that have no result")
		return exitStopped
	case s.errors > 0:
		return exitErrors
	}
	return exitOK
}

func (s *summary) print(w io.Writer, elapsed time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(w, "billcheck: %d results in %s", s.recorded, elapsed.Round(time.Millisecond))
	keys := make([]string, 0, len(s.counts))
	for k := range s.counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "; %s %d", k, s.counts[k])
	}
	fmt.Fprintf(w, "\nbillcheck: %d errors; %d accounts due within 7 days, owing RM %d.%02d in all\n",
		s.errors, s.dueSoon, s.dueSen/100, s.dueSen%100)
}
