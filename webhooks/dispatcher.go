package webhooks

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"tally/domain"
	"tally/eventstore"
	"tally/readmodel"
	"tally/supervise"
)

// DurableName is the dispatcher's consumer on the stream.
const DurableName = "webhooks"

// Dispatcher turns events into deliveries: for each event a webhook is
// about, one delivery per subscribed endpoint of the event's tenant, stored
// before the event is acknowledged.
type Dispatcher struct {
	Events *eventstore.Store
	Store  *Store
	// Renderers by endpoint format. Nil means format "event" alone.
	Renderers map[string]Renderer
	Log       *slog.Logger
	// Durable names the consumer; empty means DurableName.
	Durable string
	// OnDelivery runs after new deliveries were stored, e.g. a Sender's
	// Wake, so a sender in the same process starts at once.
	OnDelivery func()
}

// Run dispatches until ctx ends, resubscribing after errors.
func (d *Dispatcher) Run(ctx context.Context) error {
	name := d.Durable
	if name == "" {
		name = DurableName
	}
	cons, err := d.Events.Durable(ctx, name, time.Minute)
	if err != nil {
		return err
	}
	handle := func(ctx context.Context, del eventstore.Delivery) {
		n, err := d.Handle(ctx, del.Event)
		if err != nil {
			d.Log.Warn("webhook dispatch postponed", "doc_id", del.Event.AggregateID, "event_id", del.Event.ID,
				"event", del.Event.Type, "err", err)
			_ = del.Retry(10 * time.Second)
			return
		}
		// Acknowledged only now: a crash before this line redelivers the
		// event, and the unique (endpoint, event) key adds nothing twice.
		if err := del.Ack(ctx); err != nil && ctx.Err() == nil {
			d.Log.Warn("webhook dispatch ack failed; the event comes back and adds nothing", "event_id", del.Event.ID, "err", err)
		}
		if n > 0 && d.OnDelivery != nil {
			d.OnDelivery()
		}
	}
	supervise.Forever{
		Backoff: supervise.Backoff{First: time.Second, Max: time.Second},
		Stopped: func(err error, _ time.Duration) {
			d.Log.Warn("webhook dispatcher subscription ended, resubscribing", "err", err)
		},
	}.Run(ctx, func(ctx context.Context) error { return cons.Run(ctx, handle) })
	return nil
}

// Handle stores the deliveries one event calls for and returns how many
// are new. Calling it again for the same event adds none.
func (d *Dispatcher) Handle(ctx context.Context, e domain.Envelope) (int, error) {
	eventType := TypeOf(e.Type)
	if eventType == "" {
		return 0, nil
	}
	endpoints, err := d.Store.q.WebhookEndpointsForEvent(ctx, readmodel.WebhookEndpointsForEventParams{
		Tenant: e.Tenant, EventType: eventType, OccurredAt: pgtype.Timestamptz{Time: e.OccurredAt, Valid: true}})
	if err != nil {
		return 0, fmt.Errorf("read webhook endpoints: %w", err)
	}
	if len(endpoints) == 0 {
		return 0, nil
	}
	type rendered struct {
		body    []byte
		deliver bool
	}
	bodies := map[string]rendered{}
	var inserts []readmodel.InsertWebhookDeliveryParams
	for _, ep := range endpoints {
		r, ok := bodies[ep.Format]
		if !ok {
			renderer := d.renderer(ep.Format)
			if renderer == nil {
				return 0, fmt.Errorf("endpoint %s wants format %q, which this build cannot render", ep.ID, ep.Format)
			}
			body, deliver, err := renderer.Render(ctx, e)
			if err != nil {
				return 0, fmt.Errorf("render %s as %q: %w", eventType, ep.Format, err)
			}
			r = rendered{body: body, deliver: deliver}
			bodies[ep.Format] = r
		}
		if !r.deliver {
			continue
		}
		inserts = append(inserts, readmodel.InsertWebhookDeliveryParams{
			EndpointID: ep.ID, Tenant: e.Tenant, EventID: e.ID, EventType: eventType, DocumentID: e.AggregateID,
			StreamSequence: int64(e.Sequence), Body: r.body,
		})
	}
	var added int
	err = pgx.BeginFunc(ctx, d.Store.pool, func(tx pgx.Tx) error {
		q := d.Store.q.WithTx(tx)
		for _, in := range inserts {
			n, err := q.InsertWebhookDelivery(ctx, in)
			if err != nil {
				return fmt.Errorf("store webhook delivery: %w", err)
			}
			added += int(n)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if added > 0 {
		d.Log.Debug("webhook deliveries stored", "event_id", e.ID, "doc_id", e.AggregateID, "type", eventType, "deliveries", added)
	}
	return added, nil
}

func (d *Dispatcher) renderer(format string) Renderer {
	if d.Renderers == nil {
		if format == FormatEvent {
			return EventRenderer{}
		}
		return nil
	}
	return d.Renderers[format]
}
