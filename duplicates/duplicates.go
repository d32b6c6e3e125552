// Package duplicates makes sure every document's duplicate checks ran. The
// commands run them right after appending an upload or a result, but that
// step is not part of the append: a crash or an unreachable event store in
// between would leave a copy unflagged and counted twice. This consumer
// follows the stream with its own durable position and runs the same
// checks again for every upload and result; they are idempotent, so a
// check that already ran changes nothing.
package duplicates

import (
	"context"
	"log/slog"
	"time"

	"tally/commands"
	"tally/eventstore"
	"tally/supervise"
)

// DurableName is the consumer's name on the stream.
const DurableName = "duplicates"

// Consumer runs the checks for each event, in stream order.
type Consumer struct {
	Events   *eventstore.Store
	Commands *commands.Handler
	Log      *slog.Logger
}

// Run follows the stream until ctx ends. An event whose check fails (the
// event store unavailable) is handed back and tried again.
func (c *Consumer) Run(ctx context.Context) error {
	d, err := c.Events.Durable(ctx, DurableName, time.Minute)
	if err != nil {
		return err
	}
	handle := func(ctx context.Context, del eventstore.Delivery) {
		if err := c.Commands.CheckDuplicates(ctx, del.Event); err != nil {
			c.Log.Warn("duplicate check failed, event handed back", "doc_id", del.Event.AggregateID,
				"event", del.Event.Type, "seq", del.Event.Sequence, "err", err)
			_ = del.Retry(5 * time.Second)
			return
		}
		if err := del.Ack(ctx); err != nil {
			c.Log.Warn("ack of a duplicate check failed; it will run again", "seq", del.Event.Sequence, "err", err)
		}
	}
	supervise.Forever{
		Backoff: supervise.Backoff{First: time.Second, Max: time.Second},
		Stopped: func(err error, _ time.Duration) {
			c.Log.Warn("stream subscription ended, resubscribing", "err", err)
		},
	}.Run(ctx, func(ctx context.Context) error { return d.Run(ctx, handle) })
	return nil
}
