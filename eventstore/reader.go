package eventstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"tally/domain"
)

// Reader follows the stream from a sequence on, in order, for projectors
// and other subscribers that keep their own position. It holds no durable
// state on the server: the position lives with the reader's owner.
type Reader struct {
	feed[domain.Envelope]
}

// RawReader is a Reader that leaves the decoding of the events to its
// owner, for a reader that goes through much of the stream in one go (a
// rebuild) and decodes only what it needs.
type RawReader struct {
	feed[Raw]
}

// Raw is a stored event as the stream holds it: the JSON of its envelope
// (a domain.Envelope), not decoded, and its position in the stream. Data
// is the reader's own: nothing else writes to it.
type Raw struct {
	Sequence uint64
	Data     []byte
}

// feed moves messages from the client's iterator, each turned into a T,
// into a channel so that Next can wait with a context and drain without
// blocking.
type feed[T any] struct {
	iter   jetstream.MessagesContext
	events chan result[T]
	done   chan struct{}
	// failed holds an error met while a batch was being filled; it is
	// returned by the next call so that the events before it are applied.
	failed error
}

type result[T any] struct {
	event T
	err   error
}

// Subscribe starts reading every event with a sequence >= from (from 0 or 1
// means the beginning). Close the reader when done.
func (s *Store) Subscribe(ctx context.Context, from uint64) (*Reader, error) {
	iter, err := s.subscribe(ctx, from, time.Time{}, defaultReadAhead)
	if err != nil {
		return nil, err
	}
	return &Reader{start(iter, defaultReadAhead, decode)}, nil
}

// SubscribeRaw is Subscribe for a reader that decodes the events itself,
// with up to readAhead events asked of the server at once: each pull is a
// round trip, and on a busy machine each round trip waits for the
// scheduler.
func (s *Store) SubscribeRaw(ctx context.Context, from uint64, readAhead int) (*RawReader, error) {
	readAhead = max(readAhead, 1)
	iter, err := s.subscribe(ctx, from, time.Time{}, readAhead)
	if err != nil {
		return nil, err
	}
	return &RawReader{start(iter, readAhead, raw)}, nil
}

// raw is a message's data and stream sequence.
func raw(msg jetstream.Msg) (Raw, error) {
	meta, err := msg.Metadata()
	if err != nil {
		return Raw{}, fmt.Errorf("read event on %s: metadata: %w", msg.Subject(), err)
	}
	return Raw{Sequence: meta.Sequence.Stream, Data: msg.Data()}, nil
}

// defaultReadAhead is how many events a Reader asks the server for at
// once, and holds decoded, by default.
const defaultReadAhead = 1000

// SubscribeSince starts reading at the first event stored at or after t.
func (s *Store) SubscribeSince(ctx context.Context, t time.Time) (*Reader, error) {
	iter, err := s.subscribe(ctx, 0, t, defaultReadAhead)
	if err != nil {
		return nil, err
	}
	return &Reader{start(iter, defaultReadAhead, decode)}, nil
}

func (s *Store) subscribe(ctx context.Context, from uint64, since time.Time, readAhead int) (jetstream.MessagesContext, error) {
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{s.AllSubjects()},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	}
	switch {
	case !since.IsZero():
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		cfg.OptStartTime = &since
	case from > 1:
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = from
	}
	var cons jetstream.Consumer
	err := s.retry(ctx, func(ctx context.Context) error {
		var err error
		cons, err = s.js.OrderedConsumer(ctx, s.cfg.Stream, cfg)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe from %d: %w", from, err)
	}
	iter, err := cons.Messages(jetstream.PullMaxMessages(readAhead))
	if err != nil {
		return nil, fmt.Errorf("subscribe from %d: %w", from, err)
	}
	return iter, nil
}

// start pumps iter's messages, each turned into a T by convert, into a
// feed that holds up to readAhead of them.
func start[T any](iter jetstream.MessagesContext, readAhead int, convert func(jetstream.Msg) (T, error)) feed[T] {
	r := feed[T]{iter: iter, events: make(chan result[T], readAhead), done: make(chan struct{})}
	go r.pump(convert)
	return r
}

// pump moves messages from the client's iterator into the channel until
// the iterator stops, an error, or Close.
func (r feed[T]) pump(convert func(jetstream.Msg) (T, error)) {
	defer close(r.events)
	for {
		msg, err := r.iter.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			select {
			case r.events <- result[T]{err: fmt.Errorf("read stream: %w", err)}:
			case <-r.done:
			}
			return
		}
		e, err := convert(msg)
		select {
		case r.events <- result[T]{event: e, err: err}:
		case <-r.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// Next waits until at least one event is there (or ctx ends), then returns
// up to max events that are already available, lingering up to linger for
// more so that a busy stream is applied in large batches.
func (r *feed[T]) Next(ctx context.Context, max int, linger time.Duration) ([]T, error) {
	if r.failed != nil {
		return nil, r.failed
	}
	var batch []T
	take := func(res result[T], ok bool) error {
		if !ok {
			return errors.New("read stream: reader closed")
		}
		if res.err != nil {
			return res.err
		}
		batch = append(batch, res.event)
		return nil
	}
	select {
	case res, ok := <-r.events:
		if err := take(res, ok); err != nil {
			return nil, err
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	timer := time.NewTimer(linger)
	defer timer.Stop()
	for len(batch) < max {
		select {
		case res, ok := <-r.events:
			if err := take(res, ok); err != nil {
				r.failed = err
				return batch, nil
			}
		case <-timer.C:
			return batch, nil
		case <-ctx.Done():
			return batch, nil
		}
	}
	return batch, nil
}

// Close stops the reader.
func (r *feed[T]) Close() {
	select {
	case <-r.done:
	default:
		close(r.done)
	}
	r.iter.Stop()
}
