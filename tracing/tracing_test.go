package tracing

import (
	"context"
	"testing"

	"github.com/google/uuid"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func newTestTracer(t *testing.T, ratio float64) (*Tracer, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tr, err := New(t.Context(), Config{Exporter: exp, SampleRatio: ratio, Role: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr, exp
}

func TestOffWithoutEndpoint(t *testing.T) {
	tr, err := New(t.Context(), Config{})
	if err != nil || tr != nil {
		t.Fatalf("New without endpoint = %v, %v; want nil, nil", tr, err)
	}
	ctx := t.Context()
	got, span := tr.Start(ctx, uuid.NewString(), "", "x")
	if got != ctx || span.IsRecording() || span.SpanContext().IsValid() {
		t.Fatal("a nil tracer changed the context or recorded a span")
	}
	End(span, nil)
	if Parent(got) != "" || tr.Shutdown(ctx) != nil || tr.Enabled() {
		t.Fatal("a nil tracer has a parent to pass on, fails to shut down, or says it is on")
	}
}

// TestOneTraceAcrossProcesses follows a correlation id through stages
// that share nothing but it and, where there is one, the traceparent.
func TestOneTraceAcrossProcesses(t *testing.T) {
	tr, exp := newTestTracer(t, 1)
	corr := uuid.New()
	want := trace.TraceID(corr)

	// The request: a root span whose trace id is the request id itself.
	ctx, request := tr.Start(context.Background(), corr.String(), "", "POST /v1/documents")
	// The append inside it is its child.
	actx, appendSpan := tr.Start(ctx, corr.String(), "", "append DocumentUploaded")
	header := Parent(actx)
	appendSpan.End()
	request.End()

	// Another process reads the event with its header: a child of the append.
	_, relay := tr.Start(context.Background(), corr.String(), header, "bridge relay")
	relay.End()
	// A process without a carrier: a root in the same trace.
	_, orphan := tr.Start(context.Background(), corr.String(), "", "project status")
	orphan.End()
	// A carrier from another trace is not followed.
	_, other := tr.Start(context.Background(), corr.String(), "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01", "project search")
	other.End()

	if err := tr.provider.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := map[string]tracetest.SpanStub{}
	for _, s := range exp.GetSpans() {
		spans[s.Name] = s
		if s.SpanContext.TraceID() != want {
			t.Errorf("%s: trace %s, want %s (the correlation id)", s.Name, s.SpanContext.TraceID(), want)
		}
	}
	if len(spans) != 5 {
		t.Fatalf("%d spans, want 5", len(spans))
	}
	parentOf := func(name string) trace.SpanID { return spans[name].Parent.SpanID() }
	if parentOf("POST /v1/documents").IsValid() {
		t.Error("the request span has a parent")
	}
	if parentOf("append DocumentUploaded") != spans["POST /v1/documents"].SpanContext.SpanID() {
		t.Error("the append is not the request's child")
	}
	if parentOf("bridge relay") != spans["append DocumentUploaded"].SpanContext.SpanID() || !spans["bridge relay"].Parent.IsRemote() {
		t.Error("the relay is not the append's child through the header")
	}
	if parentOf("project status").IsValid() || parentOf("project search").IsValid() {
		t.Error("a span without a carrier of its trace has a parent")
	}
}

func TestTraceIDOfOtherCorrelationIDs(t *testing.T) {
	for _, id := range []string{"req-42", "00000000-0000-0000-0000-000000000000", "6ba7b8109dad11d180b400c04fd430c8"} {
		a, b := TraceID(id), TraceID(id)
		if !a.IsValid() || a != b {
			t.Errorf("%q: trace id %s, %s: want one valid id", id, a, b)
		}
	}
	if TraceID("a") == TraceID("b") {
		t.Error("two correlation ids share a trace")
	}
}

// TestSamplingDecidedByTheDocument: processes that never talk decide
// alike, since the decision is made on the trace id.
func TestSamplingDecidedByTheDocument(t *testing.T) {
	one, _ := newTestTracer(t, 0.5)
	two, _ := newTestTracer(t, 0.5)
	sampled := 0
	for range 200 {
		corr := uuid.NewString()
		_, a := one.Start(context.Background(), corr, "", "a")
		_, b := two.Start(context.Background(), corr, "", "b")
		if a.SpanContext().IsSampled() != b.SpanContext().IsSampled() {
			t.Fatalf("%s: the two processes decided differently", corr)
		}
		if a.SpanContext().IsSampled() {
			sampled++
		}
	}
	if sampled < 50 || sampled > 150 {
		t.Errorf("%d of 200 sampled at ratio 0.5", sampled)
	}
}

func TestCheckEndpoint(t *testing.T) {
	for endpoint, ok := range map[string]bool{
		"http://127.0.0.1:4318": true, "https://otel.example.com/": true,
		"127.0.0.1:4318": false, "grpc://x:4317": false, "http://": false,
	} {
		if err := CheckEndpoint(endpoint); (err == nil) != ok {
			t.Errorf("%q: %v", endpoint, err)
		}
	}
	if got := TracesURL("http://c:4318/"); got != "http://c:4318/v1/traces" {
		t.Errorf("TracesURL = %s", got)
	}
}

var _ sdktrace.IDGenerator = correlatedIDs{}

// TestOffCostsNoAllocation: with tracing off, a span costs a nil check.
func TestOffCostsNoAllocation(t *testing.T) {
	var tr *Tracer
	ctx := context.Background()
	corr := uuid.NewString()
	if n := testing.AllocsPerRun(100, func() {
		_, span := tr.Start(ctx, corr, "", "project documents")
		span.End()
	}); n != 0 {
		t.Fatalf("%v allocations per span with tracing off", n)
	}
}

func BenchmarkStart(b *testing.B) {
	corr := uuid.NewString()
	b.Run("off", func(b *testing.B) {
		var tr *Tracer
		for b.Loop() {
			_, span := tr.Start(context.Background(), corr, "", "project documents")
			span.End()
		}
	})
	b.Run("on", func(b *testing.B) {
		tr, err := New(b.Context(), Config{Exporter: tracetest.NewNoopExporter()})
		if err != nil {
			b.Fatal(err)
		}
		defer tr.Shutdown(context.Background())
		for b.Loop() {
			_, span := tr.Start(context.Background(), corr, "", "project documents")
			span.End()
		}
	})
}
