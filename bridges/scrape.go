// Package bridges relays events from the stream to systems outside it. The
// scrape bridge turns every request for extraction into a job on the
// RabbitMQ scrape queue.
//
// Invariants: an event is acknowledged on the stream only after the broker
// confirmed the job, so a crash at any point re-relays rather than loses;
// the job's message id names the document attempt, so workers recognise a
// job relayed twice.
package bridges

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"tally/domain"
	"tally/eventstore"
	"tally/metrics"
	"tally/queue"
	"tally/supervise"
	"tally/tracing"
)

// DurableName is the bridge's consumer on the stream; it never changes, or
// a new bridge would relay the whole history again.
const DurableName = "bridge-scrape"

// Documents loads a document's current state; the commands package
// satisfies it.
type Documents interface {
	Load(ctx context.Context, tenant, docID string) (*domain.Document, error)
}

// Scrape relays extraction requests to the scrape queue.
type Scrape struct {
	Events  *eventstore.Store
	Docs    Documents
	Session *queue.Session
	Metrics *metrics.Metrics
	Log     *slog.Logger
	durable *eventstore.Durable
}

// Run relays until ctx ends, reconnecting to RabbitMQ and resubscribing to
// the stream as needed.
func (b *Scrape) Run(ctx context.Context) error {
	supervise.Forever{
		Backoff: supervise.Backoff{First: 2 * time.Second, Max: 2 * time.Second},
		Stopped: func(err error, _ time.Duration) { b.Log.Error("bridge stopped, restarting", "err", err) },
	}.Run(ctx, func(ctx context.Context) error {
		d, err := b.Events.Durable(ctx, DurableName, 30*time.Second)
		if err != nil {
			return err
		}
		b.durable = d
		b.Session.Run(ctx, b.relay)
		return nil
	})
	return nil
}

// relay runs on one broker channel: confirms on, then one event at a time,
// acknowledged only after the broker confirmed its job.
func (b *Scrape) relay(ctx context.Context, ch *amqp.Channel) error {
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("enable publisher confirms: %w", err)
	}
	// A closed channel ends this run, so the session reconnects.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var failed error
	handle := func(ctx context.Context, d eventstore.Delivery) {
		if failed != nil {
			_ = d.Retry(time.Second)
			return
		}
		if err := b.handle(ctx, ch, d.Event); err != nil {
			b.Log.Warn("relay failed, event handed back", "doc_id", d.Event.AggregateID, "event", d.Event.Type,
				"seq", d.Event.Sequence, "err", err)
			_ = d.Retry(time.Second)
			if ch.IsClosed() {
				failed = err
				cancel()
			}
			return
		}
		if b.Metrics != nil {
			b.Metrics.Events.WithLabelValues(d.Event.Type).Inc()
		}
		if err := d.Ack(ctx); err != nil {
			// The job is on the queue; the event comes back and is relayed
			// again, which workers recognise by the job id.
			b.Log.Warn("ack after relay failed", "doc_id", d.Event.AggregateID, "err", err)
		}
	}
	supervise.Forever{
		Backoff: supervise.Backoff{First: time.Second, Max: time.Second},
		Stopped: func(err error, _ time.Duration) {
			b.Log.Warn("stream subscription ended, resubscribing", "err", err)
		},
	}.Run(rctx, func(ctx context.Context) error { return b.durable.Run(ctx, handle) })
	return failed
}

// handle publishes the job an event asks for, if any, and waits for the
// broker's confirmation.
func (b *Scrape) handle(ctx context.Context, ch *amqp.Channel, e domain.Envelope) (err error) {
	job, notBefore, ok, err := b.jobFor(ctx, e)
	if err != nil || !ok {
		return err
	}
	// The relay's span is the append's child (the event's traceparent),
	// and the job carries the relay's on to the worker.
	ctx, span := b.Events.Tracing().Start(ctx, e.CorrelationID, e.Trace, "bridge relay", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("tally.document.id", job.DocumentID), attribute.Int("tally.attempt", job.Attempt)))
	defer func() { tracing.End(span, err) }()
	body, err := json.Marshal(job)
	if err != nil {
		return err
	}
	msg := amqp.Publishing{
		ContentType:   "application/json",
		DeliveryMode:  amqp.Persistent,
		MessageId:     job.ID,
		CorrelationId: job.CorrelationID,
		Timestamp:     time.Now(),
		Type:          "tally.extract",
		Body:          body,
	}
	if parent := tracing.Parent(ctx); parent != "" {
		msg.Headers = amqp.Table{tracing.Header: parent}
	}
	routingKey := b.Session.Topology.Queue
	if wait := time.Until(notBefore); wait > 0 {
		// Backoff: the delay queue dead-letters the job into the scrape
		// queue when it expires.
		routingKey = b.Session.Topology.Delay()
		msg.Expiration = strconv.FormatInt(max(wait.Milliseconds(), 1), 10)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := queue.PublishConfirmed(pctx, ch, routingKey, true, msg); err != nil {
		return fmt.Errorf("relay job %s: %w", job.ID, err)
	}
	b.Metrics.Relayed.Inc()
	b.Log.Info("job relayed", "doc_id", job.DocumentID, "attempt", job.Attempt, "queue", routingKey,
		"correlation_id", job.CorrelationID)
	return nil
}

// jobFor builds the job an event requests. Events that request nothing
// yield ok=false.
func (b *Scrape) jobFor(ctx context.Context, e domain.Envelope) (job queue.Job, notBefore time.Time, ok bool, err error) {
	switch e.Type {
	case domain.TypeDocumentUploaded:
		var p domain.DocumentUploaded
		if err := e.Decode(&p); err != nil {
			return job, notBefore, false, err
		}
		attempt := max(p.Attempt, 1)
		return queue.Job{ID: queue.JobID(e.AggregateID, attempt), Tenant: e.Tenant, DocumentID: e.AggregateID,
			Attempt: attempt, BlobKey: p.BlobKey, ContentType: p.ContentType, CorrelationID: e.CorrelationID,
			RequestedAt: e.OccurredAt}, notBefore, true, nil
	case domain.TypeExtractionRequested:
		var p domain.ExtractionRequested
		if err := e.Decode(&p); err != nil {
			return job, notBefore, false, err
		}
		doc, err := b.Docs.Load(ctx, e.Tenant, e.AggregateID)
		if errors.Is(err, domain.ErrNotFound) {
			return job, notBefore, false, nil
		}
		if err != nil {
			return job, notBefore, false, err
		}
		if p.NotBefore != nil {
			notBefore = *p.NotBefore
		}
		return queue.Job{ID: queue.JobID(e.AggregateID, p.Attempt), Tenant: e.Tenant, DocumentID: e.AggregateID,
			Attempt: p.Attempt, BlobKey: doc.BlobKey, ContentType: doc.ContentType, CorrelationID: e.CorrelationID,
			RequestedAt: e.OccurredAt}, notBefore, true, nil
	}
	return job, notBefore, false, nil
}
