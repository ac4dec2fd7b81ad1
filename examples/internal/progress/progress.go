// Package progress tells a person how an example's batch job is going: on a
// terminal, one line redrawn in place; elsewhere (a log file, cron's mail) a
// line every 10 % or 30 s. It is the client's Observer, to see when calls wait
// for the quota.
package progress

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/iimmpact-go/iimmpact"
)

// Progress is one job's progress line.
type Progress struct {
	w        io.Writer
	name     string // the command, before each line
	terminal bool
	total    int // rows to do; 0 when unknown (standard input)
	now      func() time.Time
	// Began is when Start was called.
	Began time.Time

	mu          sync.Mutex
	done        int
	waiting     int       // calls between requests: waiting for the quota, mostly
	lastRequest time.Time // when the last request was sent
	lastLine    time.Time
	lastTenth   int
	quit        chan struct{}
	stopped     chan struct{}
}

// New returns the progress of a job named name (its lines start "name: ")
// with total rows to do (0 when unknown), written to w.
func New(w io.Writer, name string, total int, now func() time.Time) *Progress {
	p := &Progress{w: w, name: name, total: total, now: now}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

// Start starts the line.
func (p *Progress) Start() {
	p.Began, p.lastLine = p.now(), p.now()
	p.quit, p.stopped = make(chan struct{}), make(chan struct{})
	every := 30 * time.Second
	if p.terminal {
		every = 200 * time.Millisecond
	}
	go func() {
		defer close(p.stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.tick()
			case <-p.quit:
				return
			}
		}
	}()
}

// Stop stops the line, clearing it on a terminal.
func (p *Progress) Stop() {
	close(p.quit)
	<-p.stopped
	if p.terminal {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// Say prints msg on a line of its own, at once, even while the progress
// line is being redrawn.
func (p *Progress) Say(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	fmt.Fprintln(p.w, p.name+": "+msg)
}

// Row counts one row done.
func (p *Progress) Row() {
	p.mu.Lock()
	p.done++
	tenth := 0
	if p.total > 0 {
		tenth = p.done * 10 / p.total
	}
	report := !p.terminal && tenth > p.lastTenth
	p.lastTenth = max(p.lastTenth, tenth)
	p.mu.Unlock()
	if report {
		p.print()
	}
}

func (p *Progress) tick() {
	if p.terminal || p.now().Sub(p.lastLine) >= 30*time.Second {
		p.print()
	}
}

// print writes the progress line: done of total, rate, ETA, and whether the
// quota holds calls back.
func (p *Progress) print() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.lastLine = now
	elapsed := now.Sub(p.Began)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.done) / elapsed.Seconds()
	}
	line := fmt.Sprintf("%d", p.done)
	if p.total > 0 {
		line += fmt.Sprintf(" of %d", p.total)
	}
	line += fmt.Sprintf(" rows, %.1f/s", rate)
	if p.total > p.done && rate > 0 {
		line += ", ETA " + time.Duration(float64(p.total-p.done)/rate*float64(time.Second)).Round(time.Second).String()
	}
	if p.waiting > 0 && now.Sub(p.lastRequest) > 500*time.Millisecond {
		line += ", waiting for the quota"
	}
	if p.terminal {
		fmt.Fprint(p.w, "\r\x1b[K"+line)
	} else {
		fmt.Fprintln(p.w, p.name+": "+line)
	}
}

// StartCall implements iimmpact.Observer.
func (p *Progress) StartCall(ctx context.Context, _ iimmpact.CallInfo) (context.Context, func(iimmpact.CallResult)) {
	p.add(1)
	return ctx, func(iimmpact.CallResult) { p.add(-1) }
}

// StartRequest implements iimmpact.Observer.
func (p *Progress) StartRequest(ctx context.Context, _ iimmpact.RequestInfo) (context.Context, func(iimmpact.RequestResult)) {
	p.mu.Lock()
	p.waiting--
	p.lastRequest = p.now()
	p.mu.Unlock()
	return ctx, func(iimmpact.RequestResult) { p.add(1) }
}

func (p *Progress) add(n int) {
	p.mu.Lock()
	p.waiting += n
	p.mu.Unlock()
}
