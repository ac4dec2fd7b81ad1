// Command billcheck asks IIMMPACT for a customer's outstanding bill and prints
// what a checkout should do with it: the decision, and only the fields the API
// returned.
//
//	go run ./examples/billcheck -product AKSB -account 1234567890
//	go run ./examples/billcheck -json -product JOMPAY -account 8800123456 -biller-code 5454 -ref2 PJ-2025-001
//	go run ./examples/billcheck -list
//
// With IIMMPACT_API_KEY and IIMMPACT_HMAC_SECRET set it calls the real API
// (IIMMPACT_BASE_URL picks staging or a test server). Without them it runs the
// built-in sandbox, iimmpacttest, in-process.
//
// Exit status: 0 when it reached a decision (block included), 1 when the SDK
// returned an error (the fail-open decision is still printed), 2 for bad flags.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// result is the -json output.
type result struct {
	iimmpact.Decision
	Fields []iimmpact.Field `json:"fields"`
	Error  string           `json:"error,omitempty"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("billcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var q iimmpact.Query
	fs.StringVar(&q.Product, "product", "", "product code, such as AKSB, TNB or JOMPAY (required)")
	fs.StringVar(&q.Account, "account", "", "account number; for JomPAY, Ref-1 (required)")
	fs.StringVar(&q.BillerCode, "biller-code", "", "JomPAY biller code (required for JOMPAY)")
	fs.StringVar(&q.Ref2, "ref2", "", "JomPAY Ref-2")
	fs.StringVar(&q.Amount, "amount", "", "JomPAY amount, such as 10.50")
	timeout := fs.Duration("timeout", 15*time.Second, "give up after this long")
	asJSON := fs.Bool("json", false, "print the decision and fields as JSON")
	list := fs.Bool("list", false, "list the sandbox's sample accounts and exit")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: billcheck -product CODE -account NUMBER [-biller-code C -ref2 R -amount A] [-json] [-timeout D]\n       billcheck -list")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "billcheck: unexpected argument %q; every value goes with a flag, such as -account %s\n", fs.Arg(0), fs.Arg(0))
		return 2
	}
	useSandbox := getenv(iimmpact.EnvAPIKey) == "" || getenv(iimmpact.EnvHMACSecret) == ""
	if *list {
		printSamples(stdout)
		if !useSandbox {
			fmt.Fprintln(stderr, "billcheck: these accounts exist only in the sandbox; unset IIMMPACT_API_KEY to use it")
		}
		return 0
	}
	if *timeout <= 0 {
		fmt.Fprintln(stderr, "billcheck: -timeout must be positive, such as 10s")
		return 2
	}
	if err := q.Validate(); err != nil {
		var qe *iimmpact.QueryError
		if errors.As(err, &qe) {
			fmt.Fprintf(stderr, "billcheck: -%s %s\n", strings.ReplaceAll(qe.Field, "_", "-"), qe.Rule)
		} else {
			fmt.Fprintln(stderr, "billcheck:", err)
		}
		fmt.Fprintln(stderr, "try: billcheck -product AKSB -account 1234567890 (or -list for the sandbox's accounts)")
		return 2
	}

	var client *iimmpact.Client
	if useSandbox {
		srv := iimmpacttest.NewServer()
		defer srv.Close()
		client = srv.Client
		fmt.Fprintln(stderr, "billcheck: IIMMPACT_API_KEY and IIMMPACT_HMAC_SECRET are not set: using the built-in sandbox (billcheck -list shows its accounts)")
	} else {
		var err error
		client, err = iimmpact.NewClient(getenv(iimmpact.EnvAPIKey), getenv(iimmpact.EnvHMACSecret), baseURLOption(getenv)...)
		if err != nil {
			fmt.Fprintln(stderr, "billcheck:", err)
			return 2
		}
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	bill, err := client.BillPresentment(ctx, q)
	res := result{Decision: bill.Decision(), Fields: bill.Fields()}
	if res.Fields == nil {
		res.Fields = []iimmpact.Field{}
	}
	if err != nil {
		res.Error = err.Error()
		fmt.Fprintln(stderr, "billcheck:", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(res)
	} else {
		printCard(stdout, q, res)
	}
	if err != nil {
		return 1
	}
	return 0
}

func baseURLOption(getenv func(string) string) []iimmpact.Option {
	if u := getenv(iimmpact.EnvBaseURL); u != "" {
		return []iimmpact.Option{iimmpact.WithBaseURL(u)}
	}
	return nil
}

func printCard(w io.Writer, q iimmpact.Query, r result) {
	fmt.Fprintf(w, "%s %s\n", strings.ToUpper(q.Product), q.Account)
	switch r.Action {
	case iimmpact.ActionShow:
		fmt.Fprintln(w, "Decision: SHOW the bill; the customer may pay")
	case iimmpact.ActionBlock:
		fmt.Fprintln(w, "Decision: BLOCK; the customer must not pay")
		fmt.Fprintf(w, "  %s\n", r.Message)
	default:
		fmt.Fprintln(w, "Decision: HIDE bill details; the customer may still pay")
	}
	if len(r.Fields) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range r.Fields {
		fmt.Fprintf(tw, "  %s\t%s\n", f.Label, f.Value)
	}
	_ = tw.Flush()
}

func printSamples(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PRODUCT\tACCOUNT\tFLAGS\tWHAT IT SHOWS")
	for _, s := range iimmpacttest.Samples() {
		var flags []string
		if s.BillerCode != "" {
			flags = append(flags, "-biller-code "+s.BillerCode)
		}
		if s.Ref2 != "" {
			flags = append(flags, "-ref2 "+s.Ref2)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Product, s.Account, strings.Join(flags, " "), s.Description)
	}
	_ = tw.Flush()
}
