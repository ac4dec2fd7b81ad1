// Command billcheck asks IIMMPACT for a customer's outstanding bill and prints
// what a checkout should do with it: the decision, its reason, and only the
// fields the API returned.
//
//	go run ./examples/billcheck -product AKSB -account 1234567890
//	go run ./examples/billcheck -json -product JOMPAY -account 8800123456 -biller-code 5454 -ref2 PJ-2025-001
//	go run ./examples/billcheck -lang ms -product TNB -account 220012345678
//	go run ./examples/billcheck -list
//
// With IIMMPACT_API_KEY and IIMMPACT_HMAC_SECRET set it calls the real API
// (IIMMPACT_BASE_URL picks staging or a test server). With none of the three
// set it runs the built-in sandbox, iimmpacttest, in-process; setting only some
// of them is an error.
//
// Exit status: 0 when it reached a decision (block included), 1 when the SDK
// returned an error (the fail-open decision is still printed), 2 for bad flags
// or a bad environment.
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
	"github.com/iimmpact-go/iimmpact/examples/internal/setup"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// result is the -json output.
type result struct {
	iimmpact.Decision
	Fields    []iimmpact.Field `json:"fields"`
	RequestID string           `json:"request_id,omitempty"`
	Error     string           `json:"error,omitempty"`
}

const usage = `usage: billcheck -product CODE -account NUMBER [flags]
       billcheck -list

Asks IIMMPACT for a customer's outstanding bill and prints what a checkout
should do with it: show the bill, hide it, or block the payment.

Flags:
`

const moreUsage = `
Environment:
  IIMMPACT_API_KEY      the API key (iimm_prod_... or iimm_dev_...)
  IIMMPACT_HMAC_SECRET  the Base64 HMAC secret from the dashboard
  IIMMPACT_BASE_URL     optional: https://staging.iimmpact.com, or a test server
  With none of the three set, billcheck runs on the built-in sandbox
  (billcheck -list shows its accounts). Setting only some of them is an error.

Exit status:
  0  a decision was reached (show, hide or block)
  1  the call failed; the fail-open decision is still printed
  2  bad flags or a bad environment

Examples:
  billcheck -product AKSB -account 1234567890
  billcheck -product JOMPAY -account 8800123456 -biller-code 5454 -ref2 PJ-2025-001
  billcheck -lang ms -json -product TNB -account 220012345678
`

// options are what the command line asked for.
type options struct {
	q       iimmpact.Query
	timeout time.Duration
	asJSON  bool
	lang    iimmpact.Language
	list    bool
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, code, ok := parseArgs(args, stderr)
	if !ok {
		return code
	}
	if o.list {
		printSamples(stdout)
		return 0
	}
	client, sandbox, err := setup.Client()
	if err != nil {
		fmt.Fprintf(stderr, "billcheck: %v\n%s\n", err, setup.Hint)
		return 2
	}
	if sandbox != nil {
		defer sandbox.Close()
		fmt.Fprintln(stderr, "billcheck: no IIMMPACT_ variables are set: using the built-in sandbox (billcheck -list shows its accounts)")
	}

	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	bill, err := client.BillPresentment(ctx, o.q)
	res := result{Decision: bill.Decision(), Fields: bill.FieldsIn(o.lang)}
	if res.Fields == nil {
		res.Fields = []iimmpact.Field{}
	}
	if bill != nil {
		res.RequestID = bill.RequestID
	}
	if err != nil {
		res.Error = err.Error()
		fmt.Fprintln(stderr, "billcheck:", err)
	}
	if o.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(res)
	} else {
		printCard(stdout, o.q, res, o.lang)
	}
	if err != nil {
		return 1
	}
	return 0
}

// parseArgs reads the command line. When ok is false the command ends with code,
// having said why.
func parseArgs(args []string, stderr io.Writer) (o options, code int, ok bool) {
	fs := flag.NewFlagSet("billcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.q.Product, "product", "", "product code, such as AKSB, TNB or JOMPAY (required)")
	fs.StringVar(&o.q.Account, "account", "", "account number; for JomPAY, Ref-1 (required)")
	fs.StringVar(&o.q.BillerCode, "biller-code", "", "JomPAY biller code (required for JOMPAY)")
	fs.StringVar(&o.q.Ref2, "ref2", "", "JomPAY Ref-2, when the biller needs it")
	fs.StringVar(&o.q.Amount, "amount", "", "JomPAY amount, such as 10.50")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Second, "give up after this long")
	fs.BoolVar(&o.asJSON, "json", false, "print the decision and fields as JSON")
	lang := fs.String("lang", "en", "language of the labels: en (English) or ms (Bahasa Malaysia)")
	fs.BoolVar(&o.list, "list", false, "list the sandbox's sample accounts and exit")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
		fmt.Fprint(stderr, moreUsage)
	}
	if len(args) == 0 {
		fs.Usage()
		return o, 2, false
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, 0, false
		}
		return o, 2, false
	}
	o.lang = iimmpact.Language(*lang)
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "billcheck: unexpected argument %q; every value goes with a flag, such as -account %s\n", fs.Arg(0), fs.Arg(0))
	case o.lang != iimmpact.English && o.lang != iimmpact.Malay:
		fmt.Fprintf(stderr, "billcheck: -lang must be en or ms, not %q\n", *lang)
	case o.timeout <= 0:
		fmt.Fprintln(stderr, "billcheck: -timeout must be positive, such as 10s")
	case o.list:
		return o, 0, true
	default:
		return o, 2, validQuery(o.q, stderr)
	}
	return o, 2, false
}

// validQuery reports whether q can be sent, or says why not and what to try.
func validQuery(q iimmpact.Query, stderr io.Writer) bool {
	var qe *iimmpact.QueryError
	if !errors.As(q.Validate(), &qe) {
		return true
	}
	fmt.Fprintf(stderr, "billcheck: -%s %s\n", strings.ReplaceAll(qe.Field, "_", "-"), qe.Rule)
	if strings.EqualFold(strings.TrimSpace(q.Product), "JOMPAY") {
		fmt.Fprintln(stderr, "try: billcheck -product JOMPAY -account 8800123456 -biller-code 5454 -ref2 PJ-2025-001")
	} else {
		fmt.Fprintln(stderr, "try: billcheck -product AKSB -account 1234567890 (or -list for the sandbox's accounts)")
	}
	return false
}

// headings are the card's decision lines, in English and Bahasa Malaysia.
var headings = map[iimmpact.Action][2]string{
	iimmpact.ActionShow:  {"Decision: SHOW the bill; the customer may pay", "Keputusan: PAPAR bil; pelanggan boleh membayar"},
	iimmpact.ActionBlock: {"Decision: BLOCK; the customer must not pay", "Keputusan: SEKAT; pelanggan tidak boleh membayar"},
	iimmpact.ActionHide:  {"Decision: HIDE bill details; the customer may still pay", "Keputusan: SEMBUNYI butiran bil; pelanggan masih boleh membayar"},
}

func printCard(w io.Writer, q iimmpact.Query, r result, lang iimmpact.Language) {
	i := 0
	if lang == iimmpact.Malay {
		i = 1
	}
	fmt.Fprintf(w, "%s %s\n", strings.ToUpper(q.Product), q.Account)
	fmt.Fprintln(w, headings[r.Action][i])
	switch r.Action {
	case iimmpact.ActionBlock:
		fmt.Fprintf(w, "  %s\n", r.Message)
	case iimmpact.ActionHide:
		fmt.Fprintf(w, "  reason: %s\n", r.Reason)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range r.Fields {
		fmt.Fprintf(tw, "  %s\t%s\n", f.Label, f.Value)
	}
	_ = tw.Flush()
	if r.RequestID != "" {
		fmt.Fprintf(w, "  request ID: %s\n", r.RequestID)
	}
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
	fmt.Fprintln(w, "\nThese accounts exist only in the sandbox, which billcheck uses when no IIMMPACT_ variable is set.")
}
