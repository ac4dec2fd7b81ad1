// Package jobfile holds what the examples' batch jobs (billcheck -batch,
// autopay) share: a CSV input as spreadsheets save it, and a JSON Lines
// results file that is appended whole, resumed after a kill and synced
// before the job says it is done.
package jobfile

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"strings"
)

// MaxField bounds one CSV field: no account number, code or amount comes
// near it, and a row with a larger one gets its own error instead of
// stopping the job.
const MaxField = 4 << 10

// Row is one row of the input: its fields by column, or why it is none.
type Row struct {
	Line   int               // the row's line in the file
	Fields map[string]string // by column name, as the header names it (lower case)
	Err    error
}

// ReadCSV reads the header (columns in any order, named case-insensitively,
// a UTF-8 byte order mark and CRLF line ends as Excel saves them), checks it
// names only known columns, each once, and every required one, then yields
// each row. A row that is not CSV, has another number of fields than the
// header, or has a field over MaxField is a Row with Err; the rows after it
// are read as usual. Blank lines are skipped.
func ReadCSV(in io.Reader, known, required []string) (iter.Seq[Row], error) {
	cr := csv.NewReader(in)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("reading the header row: %w", err)
	}
	names := make([]string, len(header))
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch {
		case !slices.Contains(known, name):
			return nil, fmt.Errorf("the header names column %q; the columns are %s", name, strings.Join(known, ", "))
		case slices.Contains(names[:i], name):
			return nil, fmt.Errorf("the header names column %q twice", name)
		}
		names[i] = name
	}
	for _, need := range required {
		if !slices.Contains(names, need) {
			return nil, fmt.Errorf("the header has no %s column", need)
		}
	}
	return func(yield func(Row) bool) {
		for {
			fields, err := cr.Read()
			if err == io.EOF {
				return
			}
			r := Row{}
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				r.Line = pe.StartLine
			} else {
				r.Line, _ = cr.FieldPos(0)
			}
			switch {
			case err != nil:
				r.Err = fmt.Errorf("line %d is not CSV: %w", r.Line, err)
			case len(fields) != len(names):
				r.Err = fmt.Errorf("line %d has %d fields; the header has %d", r.Line, len(fields), len(names))
			case slices.ContainsFunc(fields, func(f string) bool { return len(f) > MaxField }):
				r.Err = fmt.Errorf("line %d has a field over %d bytes", r.Line, MaxField)
			default:
				r.Fields = make(map[string]string, len(names))
				for i, v := range fields {
					r.Fields[names[i]] = v
				}
			}
			if !yield(r) {
				return
			}
		}
	}, nil
}

// Open opens the input file ("-" is stdin) and counts its rows for a
// progress line: its lines less the header, at most; 0 for stdin.
func Open(name string, stdin io.Reader) (io.ReadCloser, int, error) {
	if name == "-" {
		return io.NopCloser(stdin), 0, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
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

// countLines counts line ends, whatever a line's length.
func countLines(r io.Reader) (int, error) {
	n, last := 0, byte('\n')
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			n += bytes.Count(chunk, []byte("\n"))
			last = chunk[len(chunk)-1]
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
		case err == io.EOF:
			if last != '\n' {
				n++
			}
			return n, nil
		case err != nil:
			return n, err
		}
	}
}

// Results is a JSON Lines results file (or standard output), appended one
// whole line a write.
type Results struct {
	w    io.Writer
	file *os.File // nil for standard output
}

// ErrInUse is matched by OpenResults' error when another run holds the
// results file.
var ErrInUse = errors.New("another run is using it")

// OpenResults opens name for appending, created 0600 (results hold account
// numbers, names and addresses), after cutting a last line a kill left torn,
// and returns the whole lines it already holds. "" is standard output.
//
// The file is locked for the run (an advisory lock the system drops when the
// process ends, however it ends): a second run on the same file, such as a
// cron job that overlaps the last, is refused with ErrInUse instead of
// tearing it. Every line is appended at the file's end in one write.
func OpenResults(name string, stdout io.Writer) (*Results, [][]byte, error) {
	if name == "" {
		return &Results{w: stdout}, nil, nil
	}
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, err
	}
	if err := lock(f); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	data, err := io.ReadAll(f)
	var lines [][]byte
	if err == nil {
		whole := data[:bytes.LastIndexByte(data, '\n')+1]
		for l := range bytes.SplitSeq(whole, []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				lines = append(lines, l)
			}
		}
		err = f.Truncate(int64(len(whole)))
	}
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return &Results{w: f, file: f}, lines, nil
}

// Append writes line and a line end in one write, so a kill never leaves
// half of it.
func (r *Results) Append(line []byte) error {
	_, err := r.w.Write(append(line, '\n'))
	return err
}

// Sync makes what was appended durable: a job calls it before it acts on a
// line (a payment's intent) that must survive a crash.
func (r *Results) Sync() error {
	if r.file == nil {
		return nil
	}
	return r.file.Sync()
}

// Close syncs the file to disk and closes it: only then are its results
// durable.
func (r *Results) Close() error {
	if r.file == nil {
		return nil
	}
	err := r.file.Sync()
	if cerr := r.file.Close(); err == nil {
		err = cerr
	}
	return err
}
