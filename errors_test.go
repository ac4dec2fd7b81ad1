package iimmpact

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	iofs "io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"

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

	c, err := NewClient(testKey, testSecret)
	require.NoError(t, err)
	cl := call{op: opPayment, personal: []string{"8800123456"}}
	for name, sample := range samples {
		for _, wrapped := range []error{sample, fmt.Errorf("context: %w", sample), &outcomeUnknownError{sample}} {
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
	c, err := NewClient(testKey, testSecret, freshOrigins())
	require.NoError(t, err)
	_, err = c.Pay(context.Background(), Payment{RefID: "r 1", Product: "TNB", Account: "1", Amount: "1"})
	assert.Equal(t, ErrorKindInvalidPayment, errorKind(err))
	_, err = c.BillPresentment(context.Background(), Query{Product: "TNB"})
	assert.Equal(t, ErrorKindInvalidQuery, errorKind(err))
	stop, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.BillPresentment(WithStop(context.Background(), stop), Query{Product: "TNB", Account: "1234"})
	assert.Equal(t, ErrorKindNotSent, errorKind(err))
}
