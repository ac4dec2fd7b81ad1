package iimmpactotel_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/iimmpactotel"
)

const body = `{"data":{"message":"Account no is valid","BillerName":"Air Kelantan","CustomerName":"EN. MOHD MOKHTAR B.AWANG",` +
	`"Outstanding":45.94,"Balance":"","Data":"","Address":"KG. TUALANG KUDONG, 18500 LABIK, MACHANG.","E-Bill":null,"CustomField":"",` +
	`"DueDate":"13/06/2025"},"metadata":{"status_code":200,"product_code":"AKSB","last_updated":"19-05-2025 15:37:28"},` +
	`"transaction_validity":true,"transaction_message":"Account validation successful with AKSB.","error_message":""}`

type memory struct{}

func (memory) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader([]byte(body))), Request: req}, nil
}

// BenchmarkCall is a call on an in-memory transport, without an observer and
// with iimmpactotel on the OpenTelemetry no-op providers: the cost of the
// instrumentation itself.
func BenchmarkCall(b *testing.B) {
	for _, tt := range []struct {
		name string
		opts []iimmpact.Option
	}{
		{"observer=none", nil},
		{"observer=iimmpactotel-noop", []iimmpact.Option{iimmpactotel.Instrument(
			iimmpactotel.WithTracerProvider(tracenoop.NewTracerProvider()), iimmpactotel.WithMeterProvider(metricnoop.NewMeterProvider()))}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			c, err := iimmpact.NewClient("iimm_prod_bench", "c2VjcmV0", append(tt.opts, iimmpact.WithBaseURL("http://127.0.0.1:1"),
				iimmpact.WithHTTPClient(&http.Client{Transport: memory{}}))...)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.BillPresentment(context.Background(), iimmpact.Query{Product: "AKSB", Account: "1234567890"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
