package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Archived is one stream message as a backup keeps it: its sequence,
// subject, headers (the message id among them) and bytes, unchanged.
type Archived struct {
	Sequence uint64              `json:"seq"`
	Subject  string              `json:"subject"`
	Header   map[string][]string `json:"header,omitempty"`
	Data     []byte              `json:"data"`
	// Time is when the server stored the message. A restored stream
	// stores each message anew; events carry their own time besides.
	Time time.Time `json:"time"`
}

// ErrNotEmpty: a restore found events in the stream already.
var ErrNotEmpty = errors.New("the stream is not empty")

// Export calls fn with every message of the stream from sequence 1 up to
// the last one at the time of the call, in order, and returns that last
// sequence. Messages appended meanwhile are not part of the export, so
// the export is the stream as it was at one point.
func (s *Store) Export(ctx context.Context, fn func(Archived) error) (uint64, error) {
	info, err := s.info(ctx)
	if err != nil {
		return 0, err
	}
	last := info.State.LastSeq
	if last == 0 {
		return 0, nil
	}
	if info.State.FirstSeq != 1 || info.State.Msgs != last {
		// The stream denies delete and purge, so this is a stream some
		// other tool changed: its sequences cannot be restored as they are.
		return 0, fmt.Errorf("export %s: %d messages from sequence %d to %d: the stream has gaps", s.cfg.Stream,
			info.State.Msgs, info.State.FirstSeq, last)
	}
	var cons jetstream.Consumer
	err = s.retry(ctx, func(ctx context.Context) error {
		var err error
		cons, err = s.js.OrderedConsumer(ctx, s.cfg.Stream, jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{s.AllSubjects()}, DeliverPolicy: jetstream.DeliverAllPolicy,
		})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("export %s: %w", s.cfg.Stream, err)
	}
	iter, err := cons.Messages(jetstream.PullMaxMessages(defaultReadAhead))
	if err != nil {
		return 0, fmt.Errorf("export %s: %w", s.cfg.Stream, err)
	}
	defer iter.Stop()
	// The iterator's Next does not take a context; stopping it ends a
	// wait when ctx ends.
	stop := context.AfterFunc(ctx, iter.Stop)
	defer stop()
	for want := uint64(1); want <= last; want++ {
		msg, err := iter.Next()
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return 0, fmt.Errorf("export %s at sequence %d: %w", s.cfg.Stream, want, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return 0, fmt.Errorf("export %s at sequence %d: metadata: %w", s.cfg.Stream, want, err)
		}
		if meta.Sequence.Stream != want {
			return 0, fmt.Errorf("export %s: sequence %d came where %d was expected", s.cfg.Stream, meta.Sequence.Stream, want)
		}
		a := Archived{Sequence: want, Subject: msg.Subject(), Data: msg.Data(), Time: meta.Timestamp.UTC()}
		if h := msg.Headers(); len(h) > 0 {
			a.Header = map[string][]string(h)
		}
		if err := fn(a); err != nil {
			return 0, err
		}
	}
	return last, nil
}

// Import appends archived messages to an empty stream, each at the
// sequence it had, so that every sequence kept elsewhere (checkpoints,
// webhook deliveries) still names the same event. next returns the
// messages in order and false after the last. The checks the original
// append made (expected subject sequence, batch headers) are not made
// again; the message id is kept, since reading back an append compares it.
func (s *Store) Import(ctx context.Context, next func() (Archived, bool, error)) (uint64, error) {
	last, err := s.LastSequence(ctx)
	if err != nil {
		return 0, err
	}
	if last != 0 {
		return 0, fmt.Errorf("import into %s: %w (last sequence %d)", s.cfg.Stream, ErrNotEmpty, last)
	}
	var n uint64
	for {
		a, ok, err := next()
		if err != nil {
			return n, err
		}
		if !ok {
			return n, nil
		}
		if a.Sequence != n+1 {
			return n, fmt.Errorf("import into %s: message %d comes after %d: the archive has gaps", s.cfg.Stream, a.Sequence, n)
		}
		msg := nats.NewMsg(a.Subject)
		msg.Data = a.Data
		for k, v := range a.Header {
			if strings.HasPrefix(k, "Nats-Expected-") || strings.HasPrefix(k, "Nats-Batch-") {
				continue
			}
			msg.Header[k] = v
		}
		// The stream must be where the archive was: a message in between
		// (another writer) fails the import rather than shifting every
		// sequence after it.
		msg.Header.Set("Nats-Expected-Last-Sequence", strconv.FormatUint(n, 10))
		var ack *jetstream.PubAck
		err = s.retry(ctx, func(ctx context.Context) error {
			var err error
			ack, err = s.js.PublishMsg(ctx, msg)
			return err
		})
		if err != nil {
			return n, fmt.Errorf("import into %s at sequence %d: %w", s.cfg.Stream, a.Sequence, err)
		}
		if ack.Duplicate || ack.Sequence != a.Sequence {
			// Two messages with one id within the duplicate window: the
			// second would be dropped and every later sequence shift.
			return n, fmt.Errorf("import into %s: message %d (id %q) was stored at %d (duplicate %t)", s.cfg.Stream,
				a.Sequence, msg.Header.Get(headerMsgID), ack.Sequence, ack.Duplicate)
		}
		n = a.Sequence
	}
}

// Position is where a durable consumer is: every event up to AckFloor
// is acknowledged.
type Position struct {
	Name     string        `json:"name"`
	AckFloor uint64        `json:"ack_floor"`
	AckWait  time.Duration `json:"ack_wait"`
}

// Positions lists the durable consumers of the stream and where they are.
// A backup keeps them so that a restored stream does not hand every event
// to the notifier, the bridge and the webhooks again.
func (s *Store) Positions(ctx context.Context) ([]Position, error) {
	var out []Position
	err := s.retry(ctx, func(ctx context.Context) error {
		out = out[:0]
		list := s.stream.ListConsumers(ctx)
		for info := range list.Info() {
			if info.Config.Durable == "" {
				continue
			}
			out = append(out, Position{Name: info.Config.Durable, AckFloor: info.AckFloor.Stream, AckWait: info.Config.AckWait})
		}
		return list.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("consumers of %s: %w", s.cfg.Stream, err)
	}
	return out, nil
}

// RestorePositions makes each durable consumer as Durable makes it and
// acknowledges the events up to its floor, so that the role resumes after
// them. Events acknowledged beyond the floor (out of order) come again:
// subscribers take an event more than once already.
func (s *Store) RestorePositions(ctx context.Context, positions []Position) error {
	for _, p := range positions {
		d, err := s.Durable(ctx, p.Name, p.AckWait)
		if err != nil {
			return err
		}
		if err := d.advance(ctx, p.AckFloor); err != nil {
			return fmt.Errorf("consumer %s to %d: %w", p.Name, p.AckFloor, err)
		}
	}
	return nil
}

// advance acknowledges every event up to floor. Every event matches the
// consumer's filter, so the next floor-acked deliveries are exactly the
// events up to the floor; asking for no more leaves nothing beyond it
// delivered and waiting for its ack timeout.
func (d *Durable) advance(ctx context.Context, floor uint64) error {
	var acked uint64
	for acked < floor {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch, err := d.cons.Fetch(int(min(floor-acked, 500)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return err
		}
		var last jetstream.Msg
		for msg := range batch.Messages() {
			meta, err := msg.Metadata()
			if err != nil {
				return err
			}
			if meta.Sequence.Stream > floor {
				_ = msg.Nak()
				continue
			}
			if last != nil {
				if err := last.Ack(); err != nil {
					return err
				}
			}
			last, acked = msg, meta.Sequence.Stream
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return err
		}
		if last == nil {
			return nil // nothing up to the floor left
		}
		// Acknowledgements are handled in order: the server has the
		// batch's once it confirms the last.
		if err := last.DoubleAck(ctx); err != nil {
			return err
		}
	}
	return nil
}
