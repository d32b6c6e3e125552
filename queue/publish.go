package queue

import (
	"context"
	"errors"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"
)

// ErrNotConfirmed means the broker answered a publish with a nack: it did
// not take the message.
var ErrNotConfirmed = errors.New("the broker refused the message")

// PublishConfirmed publishes msgs, in order, to the queue named
// routingKey on the default exchange and returns once the broker
// confirmed every one; a nil error means each message is the broker's.
// ch must be in confirm mode (ch.Confirm). mandatory asks the broker to
// return a message no queue takes rather than drop it. ctx bounds the
// whole call.
func PublishConfirmed(ctx context.Context, ch *amqp.Channel, routingKey string, mandatory bool, msgs ...amqp.Publishing) error {
	confirms := make([]*amqp.DeferredConfirmation, 0, len(msgs))
	for i, m := range msgs {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", routingKey, mandatory, false, m)
		if err != nil {
			return fmt.Errorf("publish message %d of %d (id %q): %w", i+1, len(msgs), m.MessageId, err)
		}
		confirms = append(confirms, dc)
	}
	for i, dc := range confirms {
		acked, err := dc.WaitContext(ctx)
		if err != nil {
			return fmt.Errorf("wait for the confirm of message %d of %d (id %q): %w", i+1, len(msgs), msgs[i].MessageId, err)
		}
		if !acked {
			return fmt.Errorf("message %d of %d (id %q): %w", i+1, len(msgs), msgs[i].MessageId, ErrNotConfirmed)
		}
	}
	return nil
}
