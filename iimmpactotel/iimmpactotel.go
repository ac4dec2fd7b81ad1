// Package iimmpactotel reports what an iimmpact.Client does to OpenTelemetry:
// a span for each call and a client span for each HTTP request under it,
// following the OpenTelemetry HTTP client conventions, and the metrics an
// operator alerts on: decisions by reason, quota refusals and waits, breaker
// openings, request durations.
//
//	client, err := iimmpact.NewClientFromEnv(iimmpactotel.Instrument())
//
// uses the global providers; WithTracerProvider and WithMeterProvider choose
// others. No span, event or attribute holds the account number, Ref-2, an
// amount, a name or address from the bill, the API key, the secret, a nonce
// or a signature: the SDK never hands them to an observer.
//
// Alert on iimmpact.bill_presentment.decisions with reason
// unrecognised_message: it is how a vendor rewording of "Invalid account no"
// would show, and that would let customers pay into invalid accounts.
package iimmpactotel

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/semconv/v1.39.0/httpconv"
	"go.opentelemetry.io/otel/trace"

	"github.com/iimmpact-go/iimmpact"
)

// scope is the instrumentation scope's name.
const scope = "github.com/iimmpact-go/iimmpact/iimmpactotel"

// The attributes of this package's own.
const (
	attrProduct   = attribute.Key("iimmpact.product")
	attrAction    = attribute.Key("iimmpact.decision.action")
	attrReason    = attribute.Key("iimmpact.decision.reason")
	attrRequestID = attribute.Key("iimmpact.request_id")
	attrAttempts  = attribute.Key("iimmpact.attempts")
	attrOperation = attribute.Key("iimmpact.operation")
	attrStatus    = attribute.Key("iimmpact.transaction.status")
)

// Instrument returns the iimmpact.Option that reports the client's calls and
// requests to OpenTelemetry. An instrument the meter provider refuses is
// reported to otel.Handle, and the metrics are then not recorded; traces are.
func Instrument(opts ...Option) iimmpact.Option {
	c := newConfig(opts)
	o, err := newObserver(c.tp, c.mp)
	if err != nil {
		otel.Handle(err)
		o, _ = newObserver(c.tp, noop.NewMeterProvider())
	}
	return iimmpact.WithObserver(o)
}

// newObserver makes the tracer and the instruments.
func newObserver(tp trace.TracerProvider, mp metric.MeterProvider) (*observer, error) {
	o := &observer{tracer: tp.Tracer(scope, trace.WithInstrumentationVersion(iimmpact.Version), trace.WithSchemaURL(semconv.SchemaURL))}
	meter := mp.Meter(scope, metric.WithInstrumentationVersion(iimmpact.Version), metric.WithSchemaURL(semconv.SchemaURL))
	var err error
	o.duration, err = httpconv.NewClientRequestDuration(meter)
	if err == nil {
		o.decisions, err = meter.Int64Counter("iimmpact.bill_presentment.decisions", metric.WithUnit("{decision}"),
			metric.WithDescription("Bill presentment decisions, by action and reason; alert on reason unrecognised_message."))
	}
	if err == nil {
		o.refusals, err = meter.Int64Counter("iimmpact.quota.refusals", metric.WithUnit("{call}"),
			metric.WithDescription("Calls the quota guard refused without sending them."))
	}
	if err == nil {
		o.waits, err = meter.Float64Histogram("iimmpact.quota.wait.duration", metric.WithUnit("s"),
			metric.WithDescription("How long requests waited for the quota to admit them."),
			metric.WithExplicitBucketBoundaries(0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
	}
	if err == nil {
		o.opens, err = meter.Int64Counter("iimmpact.breaker.opens", metric.WithUnit("{opening}"),
			metric.WithDescription("Times the 403 breaker opened: the API looked to be blocking the IP."))
	}
	if err == nil {
		o.payments, err = meter.Int64Counter("iimmpact.payments", metric.WithUnit("{payment}"),
			metric.WithDescription("Payment calls, by transaction status; outcome_unknown ones by error type."))
	}
	return o, err
}

// maxProducts bounds the distinct iimmpact.product values this package
// records per process; later ones are recorded as "other". A checkout that
// takes free-text product codes would otherwise fill the SDK's cardinality
// limit and push every later decision into its overflow series, where the
// unrecognised_message alert cannot see it.
const maxProducts = 200

// products holds the product codes recorded so far.
type products struct {
	mu   sync.Mutex
	seen map[string]bool
}

// attr is the product's attribute: its code, or "other" past maxProducts.
func (p *products) attr(code string) attribute.KeyValue {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.seen[code] {
		if len(p.seen) >= maxProducts {
			return attrProduct.String("other")
		}
		if p.seen == nil {
			p.seen = map[string]bool{}
		}
		p.seen[code] = true
	}
	return attrProduct.String(code)
}

// observer is the iimmpact.Observer Instrument installs.
type observer struct {
	tracer    trace.Tracer
	duration  httpconv.ClientRequestDuration
	decisions metric.Int64Counter
	refusals  metric.Int64Counter
	waits     metric.Float64Histogram
	opens     metric.Int64Counter
	payments  metric.Int64Counter
	products  products
}

// StartCall starts the call's span.
func (o *observer) StartCall(ctx context.Context, call iimmpact.CallInfo) (context.Context, func(iimmpact.CallResult)) {
	product := o.products.attr(call.Product)
	ctx, span := o.tracer.Start(ctx, "iimmpact."+call.Operation, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attrOperation.String(call.Operation), product))
	return ctx, func(r iimmpact.CallResult) {
		if r.Decision.Action != "" {
			o.decisions.Add(ctx, 1, metric.WithAttributes(attrAction.String(string(r.Decision.Action)),
				attrReason.String(string(r.Decision.Reason)), product))
		}
		if r.ErrorKind == iimmpact.ErrorKindQuotaExceeded {
			o.refusals.Add(ctx, 1, metric.WithAttributes(attrOperation.String(call.Operation), product))
		}
		if call.Operation == "payment" {
			status := string(r.TransactionStatus)
			if r.Err != nil {
				status = string(r.ErrorKind)
			}
			o.payments.Add(ctx, 1, metric.WithAttributes(attrStatus.String(status), product))
		}
		if !span.IsRecording() {
			span.End()
			return
		}
		attrs := []attribute.KeyValue{attrAttempts.Int(r.Attempts)}
		if r.RequestID != "" {
			attrs = append(attrs, attrRequestID.String(r.RequestID))
		}
		if r.Decision.Action != "" {
			attrs = append(attrs, attrAction.String(string(r.Decision.Action)), attrReason.String(string(r.Decision.Reason)))
		}
		if r.TransactionStatus != "" {
			attrs = append(attrs, attrStatus.String(string(r.TransactionStatus)))
		}
		switch r.ErrorKind {
		case iimmpact.ErrorKindQuotaExceeded:
			span.AddEvent("iimmpact.quota.refused")
		case iimmpact.ErrorKindBlocked:
			span.AddEvent("iimmpact.breaker.refused")
		}
		if r.Err != nil {
			attrs = append(attrs, semconv.ErrorTypeKey.String(string(r.ErrorKind)))
			span.SetStatus(codes.Error, r.Err.Error())
		}
		span.SetAttributes(attrs...)
		span.End()
	}
}

// StartRequest starts the client span of one HTTP request.
func (o *observer) StartRequest(ctx context.Context, req iimmpact.RequestInfo) (context.Context, func(iimmpact.RequestResult)) {
	if req.QuotaWait > 0 {
		trace.SpanFromContext(ctx).AddEvent("iimmpact.quota.wait", trace.WithAttributes(attribute.Float64("iimmpact.quota.wait.seconds", req.QuotaWait.Seconds())))
		o.waits.Record(ctx, req.QuotaWait.Seconds())
	}
	host, port := hostPort(req.URL)
	attrs := []attribute.KeyValue{semconv.HTTPRequestMethodKey.String(req.Method), semconv.ServerAddress(host), semconv.ServerPort(port)}
	ctx, span := o.tracer.Start(ctx, req.Method, trace.WithSpanKind(trace.SpanKindClient))
	if span.IsRecording() {
		span.SetAttributes(append(attrs, semconv.URLFull(req.URL))...)
		if req.Resend > 0 {
			span.SetAttributes(semconv.HTTPRequestResendCount(req.Resend))
		}
	}
	start := time.Now()
	return ctx, func(r iimmpact.RequestResult) {
		var end []attribute.KeyValue
		if r.StatusCode > 0 {
			end = append(end, semconv.HTTPResponseStatusCode(r.StatusCode))
		}
		switch {
		case r.ErrorType != "":
			end = append(end, semconv.ErrorTypeKey.String(string(r.ErrorType)))
			span.SetStatus(codes.Error, string(r.ErrorType))
		case r.StatusCode >= 400:
			end = append(end, semconv.ErrorTypeKey.String(strconv.Itoa(r.StatusCode)))
			span.SetStatus(codes.Error, "")
		}
		if r.BreakerOpened {
			span.AddEvent("iimmpact.breaker.opened")
			o.opens.Add(ctx, 1, metric.WithAttributes(semconv.ServerAddress(host), semconv.ServerPort(port)))
		}
		span.SetAttributes(end...)
		span.End()
		o.duration.RecordSet(ctx, time.Since(start).Seconds(), attribute.NewSet(append(attrs, end...)...))
	}
}

// hostPort is the server's address and port of the SDK's request URL
// ("scheme://host[:port]/path"), the scheme's default port when it names none.
func hostPort(raw string) (string, int) {
	scheme, rest, _ := strings.Cut(raw, "://")
	hostport, _, _ := strings.Cut(rest, "/")
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.HasSuffix(hostport, "]") {
		if p, err := strconv.Atoi(hostport[i+1:]); err == nil {
			return strings.Trim(hostport[:i], "[]"), p
		}
	}
	if scheme == "http" {
		return strings.Trim(hostport, "[]"), 80
	}
	return strings.Trim(hostport, "[]"), 443
}
