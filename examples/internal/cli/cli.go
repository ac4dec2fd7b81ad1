// Package cli parses the examples' command lines the same way: usage on -h
// and on no arguments, the flags between two texts.
package cli

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Parse sets fs's usage to usage, the flags, more and the exit-status
// table, then parses args. It
// reports false, with the exit status to end with, when the command should
// stop: 0 after -h, 2 for no arguments or a bad flag (the usage or the error
// already printed).
func Parse(fs *flag.FlagSet, args []string, w io.Writer, usage, more string) (exit int, ok bool) {
	fs.SetOutput(w)
	fs.Usage = func() {
		_, _ = io.WriteString(w, usage)
		fs.PrintDefaults()
		_, _ = io.WriteString(w, more)
		_, _ = io.WriteString(w, ExitTable)
	}
	if len(args) == 0 {
		fs.Usage()
		return 2, false
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}

// Main runs a tool: run is given a context that ends at SIGINT or SIGTERM,
// and returns the exit status, one of ExitTable's.
func Main(run func(ctx context.Context) int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx)
	stop()
	os.Exit(code)
}
