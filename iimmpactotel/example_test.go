package iimmpactotel_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/iimmpactotel"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

// A checkout wired with a tracer and a meter provider: in production, the
// providers of your OpenTelemetry set-up (an OTLP exporter, say) and
// iimmpact.NewClientFromEnv.
func Example() {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer tp.Shutdown(context.Background())
	defer mp.Shutdown(context.Background())

	srv := iimmpacttest.NewServer(iimmpacttest.WithClientOptions(
		iimmpactotel.Instrument(iimmpactotel.WithTracerProvider(tp), iimmpactotel.WithMeterProvider(mp))))
	defer srv.Close()

	checkout := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bill, _ := srv.Client.BillPresentment(r.Context(), iimmpact.Query{Product: r.FormValue("product"), Account: r.FormValue("account")})
		fmt.Fprintln(w, bill.Decision().Action)
	})
	rec := httptest.NewRecorder()
	checkout.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/bill?"+url.Values{"product": {"AKSB"}, "account": {"1234567890"}}.Encode(), nil))
	fmt.Print(rec.Body.String())
	for _, s := range spans.Ended() {
		fmt.Println(s.SpanKind(), s.Name())
	}
	// Output:
	// show
	// client GET
	// internal iimmpact.bill_presentment
}
