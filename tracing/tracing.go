package tracing

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Header names the W3C trace context on a stream message and on a job:
// "00-<trace id>-<parent span id>-<flags>".
const Header = "traceparent"

// Config says where spans go.
type Config struct {
	// Endpoint is OTEL_EXPORTER_OTLP_ENDPOINT, the base URL of an
	// OTLP/HTTP receiver (http://collector:4318); spans are posted to
	// Endpoint/v1/traces. Empty: tracing is off.
	Endpoint string
	// Headers go with every export (OTEL_EXPORTER_OTLP_HEADERS), e.g. a
	// collector's API key.
	Headers map[string]string
	// ServiceName is OTEL_SERVICE_NAME. Default "tally".
	ServiceName string
	// Role and Version describe the process in every span's resource.
	Role    string
	Version string
	// SampleRatio is the share of documents traced, 0 < ratio <= 1
	// (OTEL_TRACES_SAMPLER_ARG). The decision is made on the trace id, so
	// every process decides the same for one document. Default 1.
	SampleRatio float64
	// Exporter, when set, replaces the OTLP exporter (tests).
	Exporter sdktrace.SpanExporter
}

// Tracer starts Tally's spans. A nil *Tracer is tracing turned off: every
// method works on it and does nothing.
type Tracer struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
}

// New returns a tracer exporting to cfg.Endpoint, or nil (off) when it is
// empty and no Exporter is given. Shut it down to flush.
func New(ctx context.Context, cfg Config) (*Tracer, error) {
	exp := cfg.Exporter
	if exp == nil {
		if cfg.Endpoint == "" {
			return nil, nil
		}
		var err error
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(TracesURL(cfg.Endpoint)),
			otlptracehttp.WithHeaders(cfg.Headers), otlptracehttp.WithTimeout(10*time.Second))
		if err != nil {
			return nil, fmt.Errorf("otlp exporter for %s: %w", cfg.Endpoint, err)
		}
	}
	if cfg.ServiceName == "" {
		cfg.ServiceName = "tally"
	}
	if cfg.SampleRatio <= 0 || cfg.SampleRatio > 1 {
		cfg.SampleRatio = 1
	}
	attrs := []attribute.KeyValue{
		attribute.String("service.name", cfg.ServiceName),
		attribute.String("service.version", cfg.Version),
	}
	if cfg.Role != "" {
		attrs = append(attrs, attribute.String("tally.role", strings.ToLower(cfg.Role)))
	}
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attrs...)),
		sdktrace.WithIDGenerator(correlatedIDs{}),
		sdktrace.WithSampler(sdktrace.ParentBased(ratioSampler(cfg.SampleRatio))),
	)
	return &Tracer{provider: provider, tracer: provider.Tracer("tally")}, nil
}

// TracesURL is where an OTLP/HTTP receiver at endpoint takes spans: the
// base URL of OTEL_EXPORTER_OTLP_ENDPOINT with /v1/traces appended, as the
// OpenTelemetry specification has it.
func TracesURL(endpoint string) string {
	return strings.TrimRight(endpoint, "/") + "/v1/traces"
}

// CheckEndpoint reports what is wrong with an OTLP endpoint, for the
// configuration's validation.
func CheckEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("is not an http:// or https:// URL with a host")
	}
	return nil
}

// Shutdown exports the spans still held and stops the exporter.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// Enabled reports whether spans are recorded at all, so a hot path can
// skip building a span's name and attributes.
func (t *Tracer) Enabled() bool { return t != nil }

// noSpan is what a nil Tracer hands out: ending or annotating it does
// nothing, and it leaves the context alone.
var noSpan = trace.SpanFromContext(context.Background())

// Start begins a span in the trace of correlationID. Its parent is, in
// order: the span in ctx when it is in that trace (the append inside an
// HTTP request or a job), the span that parent names ("traceparent" from a
// stream message or a job) when it is in that trace, or none: a root span
// of the trace. Without a correlation id the span is an ordinary child of
// ctx's span, or a root in a trace of its own.
func (t *Tracer) Start(ctx context.Context, correlationID, parent, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if t == nil {
		return ctx, noSpan
	}
	if correlationID == "" {
		return t.tracer.Start(ctx, name, opts...)
	}
	want := TraceID(correlationID)
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && sc.TraceID() == want {
		return t.tracer.Start(ctx, name, opts...)
	}
	if parent != "" {
		pctx := propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{Header: parent})
		if sc := trace.SpanContextFromContext(pctx); sc.IsValid() && sc.TraceID() == want {
			return t.tracer.Start(pctx, name, opts...)
		}
	}
	// The ID generator reads the trace id from the context (NewIDs).
	ctx = context.WithValue(ctx, traceIDKey{}, want)
	return t.tracer.Start(ctx, name, append(opts, trace.WithNewRoot())...)
}

// Parent is the traceparent of the span in ctx, for a carrier (a stream
// message's or a job's header); empty when there is no sampled span.
func Parent(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() || !sc.IsSampled() {
		return ""
	}
	return "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + sc.TraceFlags().String()
}

// TraceID is the trace of the document journey named by correlationID: a
// UUID (the request id Tally makes, or one a client sent) is 16 bytes,
// exactly a trace id, so it is used as it is and a trace can be looked up
// by the X-Request-ID an upload answered; any other id is hashed.
func TraceID(correlationID string) trace.TraceID {
	var id trace.TraceID
	if u, err := uuid.Parse(correlationID); err == nil && len(correlationID) == 36 {
		copy(id[:], u[:])
	}
	if !id.IsValid() {
		sum := sha256.Sum256([]byte(correlationID))
		copy(id[:], sum[:len(id)])
	}
	return id
}

type traceIDKey struct{}

// correlatedIDs makes the ids of new spans: random span ids, and for a
// root span the trace id Start put in the context, else a random one.
type correlatedIDs struct{}

func (correlatedIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	tid, ok := ctx.Value(traceIDKey{}).(trace.TraceID)
	for !ok || !tid.IsValid() {
		binary.NativeEndian.PutUint64(tid[:8], rand.Uint64())
		binary.NativeEndian.PutUint64(tid[8:], rand.Uint64())
		ok = true
	}
	return tid, correlatedIDs{}.NewSpanID(ctx, tid)
}

func (correlatedIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	var sid trace.SpanID
	for !sid.IsValid() {
		binary.NativeEndian.PutUint64(sid[:], rand.Uint64())
	}
	return sid
}

// End ends span, marking it failed with err's message when err is not nil.
func End(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// ratioSampler samples a share of traces by the trace id's rightmost seven
// bytes, the part W3C trace context makes random. The SDK's
// TraceIDRatioBased reads bytes 8-15, whose first two bits a UUID fixes
// (its variant), so at a ratio below one half it would drop every trace
// named by a request id.
type ratioSampler float64

func (r ratioSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	var low [8]byte
	copy(low[1:], p.TraceID[9:])
	decision := sdktrace.Drop
	if float64(binary.BigEndian.Uint64(low[:])) < float64(r)*(1<<56) {
		decision = sdktrace.RecordAndSample
	}
	return sdktrace.SamplingResult{Decision: decision, Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState()}
}

func (r ratioSampler) Description() string { return fmt.Sprintf("RatioOfTraceIDLow56{%g}", float64(r)) }
