package eventstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"tally/domain"
)

// Delivery is one event handed to a durable subscriber, to be acknowledged
// once its effect is safely done elsewhere, or handed back.
type Delivery struct {
	Event domain.Envelope
	msg   jetstream.Msg
}

// Ack confirms the event and waits for the server to record that, so an
// acknowledged event is not delivered again.
func (d Delivery) Ack(ctx context.Context) error { return d.msg.DoubleAck(ctx) }

// Retry hands the event back for redelivery after delay.
func (d Delivery) Retry(delay time.Duration) error { return d.msg.NakWithDelay(delay) }

// Durable is a named consumer whose position the server keeps: a
// subscriber that restarts resumes after its last acknowledged event.
type Durable struct {
	name string
	cons jetstream.Consumer
}

// Durable creates or opens the durable consumer name over every event.
// Unacknowledged events come back after ackWait.
func (s *Store) Durable(ctx context.Context, name string, ackWait time.Duration) (*Durable, error) {
	var cons jetstream.Consumer
	err := s.retry(ctx, func(ctx context.Context) error {
		var err error
		cons, err = s.js.CreateOrUpdateConsumer(ctx, s.cfg.Stream, jetstream.ConsumerConfig{
			Durable:       name,
			Description:   "Tally subscriber " + name,
			FilterSubject: s.AllSubjects(),
			DeliverPolicy: jetstream.DeliverAllPolicy,
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       ackWait,
			MaxAckPending: 1000,
			Replicas:      s.cfg.Replicas,
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("durable consumer %s: %w", name, err)
	}
	return &Durable{name: name, cons: cons}, nil
}

// Run hands events to handle, in stream order, until ctx ends. handle owns
// acknowledging each delivery. An event that cannot be decoded is reported
// through handle's caller as an error and retried later, never skipped.
func (d *Durable) Run(ctx context.Context, handle func(ctx context.Context, d Delivery)) error {
	iter, err := d.cons.Messages(jetstream.PullMaxMessages(100))
	if err != nil {
		return fmt.Errorf("durable consumer %s: %w", d.name, err)
	}
	defer iter.Stop()
	go func() {
		<-ctx.Done()
		iter.Stop()
	}()
	for {
		msg, err := iter.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return ctx.Err()
			}
			return fmt.Errorf("durable consumer %s: %w", d.name, err)
		}
		e, err := decode(msg)
		if err != nil {
			_ = msg.NakWithDelay(30 * time.Second)
			return err
		}
		handle(ctx, Delivery{Event: e, msg: msg})
	}
}
