package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Subscriber feeds a State from Tally's stream through a durable consumer
// of its own. The server keeps the consumer's position; the State keeps
// the last sequence it applied. Run makes the two agree before it starts
// and whenever a delivery went missing, so every matching event is applied
// exactly once, in stream order.
//
// Run one Subscriber per durable name at a time.
type Subscriber struct {
	JS jetstream.JetStream
	// Stream is Tally's stream, TALLY_EVENTS unless configured otherwise.
	Stream string
	// Durable names the consumer, which outlives this process.
	Durable string
	// Filter selects the events, e.g. "tally.events.*.document.*".
	Filter string
	State  *State
	// Save persists the State; it runs after a batch is applied and before
	// the batch is acknowledged. Nil keeps the State in memory only.
	Save func(*State) error
	// Batch is the most events fetched at once; AckWait how long the
	// server waits for their acknowledgement before delivering them again.
	Batch   int
	AckWait time.Duration
	// MaxWait bounds one fetch when there is nothing new.
	MaxWait time.Duration
	// StopWhenCaughtUp ends Run once no event is pending.
	StopWhenCaughtUp bool
	Log              *slog.Logger
}

// errGap: a delivery never arrived (its consumer sequence was skipped), so
// the events after it must not be applied before it.
var errGap = errors.New("a delivery went missing")

// Run consumes until ctx ends (nil then) or an event cannot be applied.
func (s *Subscriber) Run(ctx context.Context) error {
	s.setDefaults()
	cons, delivered, err := s.open(ctx)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		n, err := s.fetch(ctx, cons, &delivered)
		if errors.Is(err, errGap) {
			s.Log.Warn("delivery gap, rewinding the consumer", "durable", s.Durable, "next_seq", s.State.LastSeq()+1)
			if cons, delivered, err = s.rewind(ctx); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if n == 0 && s.StopWhenCaughtUp {
			info, err := cons.Info(ctx)
			if err != nil {
				return fmt.Errorf("consumer %s: %w", s.Durable, err)
			}
			if info.NumPending == 0 && info.NumAckPending == 0 {
				return nil
			}
		}
	}
	return nil
}

func (s *Subscriber) setDefaults() {
	if s.Batch == 0 {
		s.Batch = 256
	}
	if s.AckWait == 0 {
		s.AckWait = 30 * time.Second
	}
	if s.MaxWait == 0 {
		s.MaxWait = 2 * time.Second
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
}

func (s *Subscriber) config() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       s.Durable,
		Description:   "analytics-subscriber: monthly totals",
		FilterSubject: s.Filter,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       s.AckWait,
		MaxAckPending: 2 * s.Batch,
	}
}

// open creates the durable consumer, or opens it as the last run left it,
// and returns it with the consumer sequence of its last delivery.
func (s *Subscriber) open(ctx context.Context) (jetstream.Consumer, uint64, error) {
	stream, err := s.JS.Stream(ctx, s.Stream)
	if err != nil {
		return nil, 0, fmt.Errorf("stream %s: %w", s.Stream, err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("stream %s: %w", s.Stream, err)
	}
	if s.State.Bind(info.Config.Name + "@" + info.Created.UTC().Format(time.RFC3339Nano)) {
		s.Log.Warn("the stream was recreated since the state was built: starting over", "stream", s.Stream)
	}
	cons, err := s.JS.CreateOrUpdateConsumer(ctx, s.Stream, s.config())
	if err != nil {
		return nil, 0, fmt.Errorf("consumer %s on %s: %w", s.Durable, s.Stream, err)
	}
	cinfo, err := cons.Info(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("consumer %s: %w", s.Durable, err)
	}
	// The consumer continues after its last delivery. That is right only
	// when everything delivered was acknowledged and applied to this very
	// State. Otherwise (a crash mid-batch, a lost or in-memory State, a
	// restored backup) go back to the State's own position.
	if cinfo.NumAckPending == 0 && cinfo.Delivered.Stream == s.State.LastSeq() {
		return cons, cinfo.Delivered.Consumer, nil
	}
	s.Log.Info("consumer and state disagree, rewinding the consumer", "durable", s.Durable,
		"consumer_at_seq", cinfo.Delivered.Stream, "unacknowledged", cinfo.NumAckPending, "state_seq", s.State.LastSeq())
	return s.rewind(ctx)
}

// rewind makes the consumer deliver from the event after the State's last
// one, dropping whatever it still waits to have acknowledged.
func (s *Subscriber) rewind(ctx context.Context) (jetstream.Consumer, uint64, error) {
	next := s.State.LastSeq() + 1
	if _, err := s.JS.ResetConsumerToSequence(ctx, s.Stream, s.Durable, next); err != nil {
		// A server without the reset API: start the consumer over; the
		// State skips the events it already has.
		s.Log.Info("consumer reset failed, recreating the consumer", "durable", s.Durable, "err", err)
		if err := s.JS.DeleteConsumer(ctx, s.Stream, s.Durable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, 0, fmt.Errorf("consumer %s: delete: %w", s.Durable, err)
		}
		if _, err := s.JS.CreateConsumer(ctx, s.Stream, s.config()); err != nil {
			return nil, 0, fmt.Errorf("consumer %s: create: %w", s.Durable, err)
		}
	}
	cons, err := s.JS.Consumer(ctx, s.Stream, s.Durable)
	if err != nil {
		return nil, 0, fmt.Errorf("consumer %s: %w", s.Durable, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("consumer %s: %w", s.Durable, err)
	}
	return cons, info.Delivered.Consumer, nil
}

// fetch applies one batch: apply each event in order, save, then
// acknowledge. It returns how many events arrived.
func (s *Subscriber) fetch(ctx context.Context, cons jetstream.Consumer, delivered *uint64) (int, error) {
	fctx, cancel := context.WithTimeout(ctx, s.MaxWait)
	defer cancel()
	batch, err := cons.Fetch(s.Batch, jetstream.FetchContext(fctx))
	if err != nil {
		return 0, fmt.Errorf("consumer %s: fetch: %w", s.Durable, err)
	}
	var msgs []jetstream.Msg
	for msg := range batch.Messages() {
		msgs = append(msgs, msg)
	}
	var done []jetstream.Msg
	var stop error
	changed := false
	for _, msg := range msgs {
		meta, err := msg.Metadata()
		if err != nil {
			stop = fmt.Errorf("consumer %s: %w", s.Durable, err)
			break
		}
		if meta.Sequence.Consumer != *delivered+1 {
			stop = errGap
			break
		}
		*delivered = meta.Sequence.Consumer
		applied, err := s.State.Apply(meta.Sequence.Stream, msg.Data())
		if err != nil {
			// Not acknowledged: it comes back, and so does this error,
			// until a fixed or upgraded subscriber can apply it.
			stop = err
			break
		}
		changed = changed || applied
		done = append(done, msg)
	}
	if changed && s.Save != nil {
		if err := s.Save(s.State); err != nil {
			return len(msgs), fmt.Errorf("save state: %w", err)
		}
	}
	for i, msg := range done {
		if i < len(done)-1 {
			err = msg.Ack()
		} else {
			// Wait for the last one, so the server has recorded the
			// batch before the next fetch.
			err = msg.DoubleAck(ctx)
		}
		if err != nil && ctx.Err() == nil {
			// The event comes back and is skipped as a redelivery.
			s.Log.Warn("ack failed", "durable", s.Durable, "err", err)
		}
	}
	if stop != nil {
		return len(msgs), stop
	}
	if err := batch.Error(); err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
		return len(msgs), fmt.Errorf("consumer %s: fetch: %w", s.Durable, err)
	}
	return len(msgs), nil
}
