package projections

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"tally/domain"
	"tally/eventstore"
	"tally/readmodel"
	"tally/supervise"
)

// Projector builds one read model from events. Apply runs inside the
// transaction that also moves the projector's checkpoint, so an event is
// applied exactly once or not at all.
type Projector interface {
	// Name identifies the projector's checkpoint; it never changes.
	Name() string
	// Apply writes the effect of one event. Events it does not care about
	// are skipped without error. q's statements are pipelined (see
	// pipeline): an Exec reports no rows affected and its error may come
	// with a later call, so Apply must not branch on either.
	Apply(ctx context.Context, q *readmodel.Queries, e domain.Envelope) error
	// Reset empties the read model before a rebuild from sequence 0.
	Reset(ctx context.Context, q *readmodel.Queries) error
	// Tables are the tables the projector alone writes.
	Tables() []string
}

// ErrCheckpointMoved means another instance advanced the same projector:
// this instance's batch was rolled back.
var ErrCheckpointMoved = errors.New("projector checkpoint moved by another instance")

// Runner feeds one projector from the stream.
type Runner struct {
	pool      *pgxpool.Pool
	store     *eventstore.Store
	projector Projector
	log       *slog.Logger
	// BatchSize is the most events applied in one transaction.
	BatchSize int
	// Linger is how long a batch waits for more events once it has one.
	Linger time.Duration
	// LockName is the advisory lock that keeps one instance applying; a
	// rebuild into other tables uses its own, beside the live projector.
	LockName string
	// Untraced turns the spans of applied events off: a rebuild replays
	// history, which is no document's journey now.
	Untraced bool
	// position is the last sequence committed, for lag metrics and tests.
	position atomic.Uint64
	// appliedAt is when the last committed event occurred (Unix nanos).
	appliedAt atomic.Int64
	// started is set once the checkpoint is read (or made).
	started atomic.Bool
}

// Started reports whether the runner has read or made its checkpoint.
func (r *Runner) Started() bool { return r.started.Load() }

// NewRunner wires a projector to the stream and the database.
func NewRunner(pool *pgxpool.Pool, store *eventstore.Store, p Projector, log *slog.Logger) *Runner {
	return &Runner{pool: pool, store: store, projector: p, log: log.With("projector", p.Name()),
		BatchSize: 500, Linger: 5 * time.Millisecond}
}

// Name is the projector's name.
func (r *Runner) Name() string { return r.projector.Name() }

// Position is the last stream sequence this runner committed.
func (r *Runner) Position() uint64 { return r.position.Load() }

// LastAppliedAt is when the last committed event occurred; zero before
// the first.
func (r *Runner) LastAppliedAt() time.Time {
	if n := r.appliedAt.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// RunForever runs the projector until ctx ends, restarting it with backoff
// after errors (a database or NATS outage, say).
func (r *Runner) RunForever(ctx context.Context) {
	restarting(r.log, "projector stopped, restarting").Run(ctx, r.Run)
}

// restarting restarts a projector's work after errors, with backoff,
// logging msg each time.
func restarting(log *slog.Logger, msg string) supervise.Forever {
	return supervise.Forever{
		Backoff:    supervise.Backoff{First: 200 * time.Millisecond, Max: 15 * time.Second},
		ResetAfter: time.Minute,
		Stopped: func(err error, wait time.Duration) {
			log.Error(msg, "err", err, "retry_in", wait.String())
		},
	}
}

// Run holds the projector's lock and applies events until ctx ends or an
// error occurs. Only one instance per projector applies at a time; others
// wait for the lock. A runner runs as a group of one.
func (r *Runner) Run(ctx context.Context) error {
	g := NewGroup(r.pool, r.store, []*Runner{r}, r.log)
	g.BatchSize, g.Linger = r.BatchSize, r.Linger
	return g.Run(ctx)
}

// start reads the checkpoint, creating it, or resetting the read model when
// it belongs to another incarnation of the stream (identity is the
// stream's now).
func (r *Runner) start(ctx context.Context, identity string) (uint64, error) {
	var last uint64
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		q := readmodel.New(tx)
		if err := q.InitCheckpoint(ctx, readmodel.InitCheckpointParams{Projector: r.Name(), StreamIdentity: identity}); err != nil {
			return err
		}
		cp, err := q.GetCheckpoint(ctx, r.Name())
		if err != nil {
			return err
		}
		if cp.StreamIdentity == identity {
			last = uint64(cp.LastSequence)
			return nil
		}
		r.log.Warn("read model belongs to another stream, rebuilding", "was", cp.StreamIdentity, "now", identity)
		if err := r.projector.Reset(ctx, q); err != nil {
			return err
		}
		return q.ResetCheckpoint(ctx, readmodel.ResetCheckpointParams{Projector: r.Name(), StreamIdentity: identity})
	})
	if err != nil {
		return 0, fmt.Errorf("projector %s: read checkpoint: %w", r.Name(), err)
	}
	return last, nil
}

// apply applies one event, in a span that is the child of the event's
// append when tracing is on. The span times the queuing of the event's
// statements; they reach the database with the batch (see pipeline).
func (r *Runner) apply(ctx context.Context, q *readmodel.Queries, e domain.Envelope) error {
	tr := r.store.Tracing()
	if !tr.Enabled() || r.Untraced {
		return r.projector.Apply(ctx, q, e)
	}
	ctx, span := tr.Start(ctx, e.CorrelationID, e.Trace, "project "+r.Name(), trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("tally.event.type", e.Type), attribute.String("tally.document.id", e.AggregateID),
			attribute.Int64("tally.stream.sequence", int64(e.Sequence))))
	err := r.projector.Apply(ctx, q, e)
	if err != nil {
		// Not the error's text: a database error may quote a row's values.
		span.SetStatus(codes.Error, "apply failed")
	}
	span.End()
	return err
}

// lockKey is the advisory lock that keeps one instance applying this
// runner's projector.
func (r *Runner) lockKey() int64 {
	if r.LockName != "" {
		return lockKey(r.LockName)
	}
	return lockKey(r.Name())
}

// lockAll waits until conn holds every one of keys' advisory locks. It
// takes all or none: a lock it got while another was held elsewhere is
// given back before it waits, so two instances wanting overlapping sets
// never each hold a part.
func lockAll(ctx context.Context, conn *pgxpool.Conn, keys []int64) error {
	for {
		var held []int64
		for _, key := range keys {
			var got bool
			if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&got); err != nil {
				unlock(conn, held...)
				return err
			}
			if !got {
				break
			}
			held = append(held, key)
		}
		if len(held) == len(keys) {
			return nil
		}
		unlock(conn, held...)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// unlock gives back advisory locks conn holds. It uses a fresh context:
// the locks must go even when the caller's context has ended.
func unlock(conn *pgxpool.Conn, keys ...int64) {
	if len(keys) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, key := range keys {
		_, _ = conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", key)
	}
}

// lockKey maps a projector name onto a PostgreSQL advisory lock id.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("tally-projector:" + name))
	return int64(h.Sum64())
}
