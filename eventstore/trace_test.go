package eventstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"tally/domain"
	"tally/eventstore"
	"tally/eventstore/eventstoretest"
	"tally/tracing"
)

// TestAppendCarriesTraceParent: with tracing on, each append is a span in
// its correlation id's trace and the stored message names it, so a reader
// of the event (by subject, by sequence, or following the stream) has the
// parent of its own span.
func TestAppendCarriesTraceParent(t *testing.T) {
	plain, nc := eventstoretest.Start(t)
	exp := tracetest.NewInMemoryExporter()
	tr, err := tracing.New(t.Context(), tracing.Config{Exporter: keptSpans{exp}})
	if err != nil {
		t.Fatal(err)
	}
	traced, err := eventstore.Open(t.Context(), nc, eventstore.Config{Tracing: tr})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	corr := uuid.New()
	doc, other := uuid.NewString(), uuid.NewString()
	uploaded := func(doc string) domain.Envelope {
		e := event(t, doc, domain.TypeDocumentUploaded, uuid.NewString(), domain.DocumentUploaded{Filename: "a.pdf"})
		e.CorrelationID = corr.String()
		return e
	}
	seq, err := traced.Append(ctx, uploaded(doc), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := traced.AppendBatch(ctx, []eventstore.Pending{
		{Event: event(t, doc, domain.TypeExtractionStarted, "s1", domain.ExtractionStarted{Attempt: 1}), Expected: seq},
		{Event: uploaded(other)},
	}); err != nil {
		t.Fatal(err)
	}
	untraced := event(t, uuid.NewString(), domain.TypeDocumentUploaded, "u1", domain.DocumentUploaded{})
	untraced.CorrelationID = corr.String()
	if _, err := plain.Append(ctx, untraced, 0); err != nil {
		t.Fatal(err)
	}
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	if len(spans) != 2 || spans[0].Name != "append DocumentUploaded" || spans[1].Name != "append batch of 2" {
		t.Fatalf("spans %v, want the append and the batch", spans)
	}
	want := "00-" + strings.ReplaceAll(corr.String(), "-", "") + "-" + spans[0].SpanContext.SpanID().String() + "-01"

	history, err := plain.Load(ctx, "acme", doc)
	if err != nil || len(history) != 2 {
		t.Fatalf("history %v, %v", history, err)
	}
	if history[0].Trace != want {
		t.Errorf("loaded event's trace %q, want %q", history[0].Trace, want)
	}
	batchParent := "-" + spans[1].SpanContext.SpanID().String() + "-"
	if !strings.Contains(history[1].Trace, batchParent) {
		t.Errorf("batched event's trace %q, want the batch span %s", history[1].Trace, batchParent)
	}
	r, err := plain.Subscribe(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []domain.Envelope
	for len(got) < 4 {
		batch, err := r.Next(ctx, 10, 10*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, batch...)
	}
	if got[0].Trace != want || got[2].Trace == "" || got[3].Trace != "" {
		t.Errorf("followed events' traces %q, %q, %q, %q: want the append's, the batch's twice, none without tracing",
			got[0].Trace, got[1].Trace, got[2].Trace, got[3].Trace)
	}
}

// keptSpans keeps the exported spans past the tracer's shutdown, which
// flushes them; the in-memory exporter would forget them there.
type keptSpans struct{ *tracetest.InMemoryExporter }

func (keptSpans) Shutdown(context.Context) error { return nil }
