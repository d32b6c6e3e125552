package eventstore

import (
	"context"
	"strconv"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"tally/domain"
	"tally/tracing"
)

// Tracing is the tracer of the store's appends, which the stream's
// subscribers use for their spans too; nil when tracing is off.
func (s *Store) Tracing() *tracing.Tracer { return s.cfg.Tracing }

// traceAppend starts the span of one append (or batch) in the trace of the
// event's correlation id and puts its traceparent on the messages, so a
// subscriber's span of the event is the append's child. finish ends it.
func (s *Store) traceAppend(ctx context.Context, e domain.Envelope, count int, msgs ...*nats.Msg) (context.Context, func(seq uint64, err error)) {
	if !s.cfg.Tracing.Enabled() {
		return ctx, func(uint64, error) {}
	}
	name := "append " + e.Type
	if count > 1 {
		name = "append batch of " + strconv.Itoa(count)
	}
	ctx, span := s.cfg.Tracing.Start(ctx, e.CorrelationID, "", name, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("tally.event.type", e.Type), attribute.String("tally.document.id", e.AggregateID)))
	if parent := tracing.Parent(ctx); parent != "" {
		for _, msg := range msgs {
			msg.Header.Set(tracing.Header, parent)
		}
	}
	return ctx, func(seq uint64, err error) {
		if err == nil {
			span.SetAttributes(attribute.Int64("tally.stream.sequence", int64(seq)))
		}
		tracing.End(span, err)
	}
}
