package iimmpact

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	iofs "io/fs"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exportedErrorTypes parses the package and returns its exported types that
// have an Error method.
func exportedErrorTypes(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi iofs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)

	require.NoError(t, err)
	var names []string
	for _, f := range pkgs["iimmpact"].Files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || fn.Name.Name != "Error" {
				continue
			}
			recv := fn.Recv.List[0].Type
			if star, ok := recv.(*ast.StarExpr); ok {
				recv = star.X
			}
			if id, ok := recv.(*ast.Ident); ok && id.IsExported() {
				names = append(names, id.Name)
			}
		}
	}
	slices.Sort(names)
	return names
}

// Every exported error type is reachable with errors.As through any
// wrapping and through redaction: a cause whose text held the account
// (redacted) is still matched.
func TestEveryErrorTypeIsReachable(t *testing.T) {
	samples := map[string]error{
		"APIError":     &APIError{StatusCode: 400, Message: "account 8800123456 is barred"},
		"QueryError":   &QueryError{Field: "account", Code: QueryBadCharacter, Rule: "has 8800123456"},
		"QuotaError":   &QuotaError{RetryAfter: 1},
		"PaymentError": &PaymentError{Field: "account", Code: PaymentBadCharacter, Rule: "8800123456 is not allowed"},
	}
	names := exportedErrorTypes(t)
	keys := make([]string, 0, len(samples))
	for k := range samples {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	require.Equal(t, keys, names, "every exported error type has a sample here")

	c := newTestClient(t)
	cl := call{op: opPayment, personal: []string{"8800123456"}}
	for name, sample := range samples {
		for _, wrapped := range []error{sample, fmt.Errorf("context: %w", sample), &outcomeUnknownError{cause: sample}} {
			err := fmt.Errorf("caller: %w", c.redacted(cl, nil, wrapped))
			assert.NotContains(t, err.Error(), "8800123456", name)
			target := reflect.New(reflect.TypeOf(sample))
			got := errors.As(err, target.Interface())
			if _, unknown := wrapped.(*outcomeUnknownError); unknown {
				assert.False(t, got, "%s: an unknown outcome matches nothing else", name)
				continue
			}
			assert.True(t, got, "%s through %T", name, wrapped)
		}
	}
}

// An invalid payment and a call stopped before it sent have kinds of their
// own, apart from an invalid query's.
func TestErrorKindsOfPaymentsAndStops(t *testing.T) {
	c := newTestClient(t, freshOrigins())
	_, err := c.Pay(context.Background(), Payment{RefID: "r 1", Product: "TNB", Account: "1", Amount: "1"})
	assert.Equal(t, ErrorKindInvalidPayment, errorKind(err))
	_, err = c.BillPresentment(context.Background(), Query{Product: "TNB"})
	assert.Equal(t, ErrorKindInvalidQuery, errorKind(err))
	stop, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.BillPresentment(WithStop(context.Background(), stop), Query{Product: "TNB", Account: "1234"})
	assert.Equal(t, ErrorKindNotSent, errorKind(err))
}

func TestAPIErrorDetails(t *testing.T) {
	c := newTestClient(t)
	var cl call
	sent := 1
	apiErr := func(status int, body string) *APIError {
		return newAPIError(c.redactor(cl, nil), &response{status: status, header: http.Header{}, body: []byte(body)}, sent, "")
	}
	e := apiErr(503, "\xff\xfe not utf8 "+strings.Repeat("x", 600))
	assert.LessOrEqual(t, len(e.Body), 512+6, "bounded")
	assert.True(t, strings.HasPrefix(e.Body, "\ufffd"), "invalid UTF-8 replaced")

	e = apiErr(401, `{"error":401,"message":{"nested":true}}`)
	assert.Equal(t, "401", e.Kind, "a scalar error is kept as text")
	assert.Equal(t, -1, e.Code, "no vendor code")
	assert.Empty(t, e.Message, "an object is not a message")
	assert.Equal(t, "iimmpact: HTTP 401 Unauthorized: 401", e.Error())

	e = apiErr(401, `{"Error":"a","MESSAGE":"b","error":"unauthorized"}`)
	assert.Equal(t, "unauthorized", e.Kind, "keys are matched exactly")
	assert.Empty(t, e.Message)

	sent = 3
	e = apiErr(502, "<html>\n<title>502</title>")
	assert.Equal(t, `iimmpact: HTTP 502 Bad Gateway: "<html>" (after 3 attempts)`, e.Error())

	e = newAPIError(c.redactor(cl, nil), &response{status: 429, body: []byte(`{"message":"slow down"}`), header: http.Header{
		"Retry-After": {"120"}, "X-Amzn-Requestid": {"c0ffee-1234"},
	}}, sent, "")
	assert.Equal(t, 2*time.Minute, e.RetryAfter)
	assert.Equal(t, "c0ffee-1234", e.RequestID)
	assert.Equal(t, "iimmpact: HTTP 429 Too Many Requests: slow down (after 3 attempts) (retry after 2m0s) (request ID c0ffee-1234)", e.Error())
	e = newAPIError(c.redactor(cl, nil), &response{status: 500, body: nil, header: http.Header{"X-Request-Id": {"r-9"}, "Retry-After": {"5"}}}, sent, "")
	assert.Equal(t, "r-9", e.RequestID)
	assert.Zero(t, e.RetryAfter, "Retry-After is kept for 429 and 503, which ask for it")
}
