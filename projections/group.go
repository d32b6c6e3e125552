package projections

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"tally/domain"
	"tally/eventstore"
	"tally/personal"
	"tally/readmodel"
)

// Group runs several projectors on one reading of the stream. Each batch
// of events is read and decoded once, and every member applies it in one
// transaction that also moves every member's checkpoint: one consumer on
// the server instead of one per projector, one commit instead of one per
// projector, and a user's key opened once for all of them.
//
// Members start where their own checkpoints are: the reading starts after
// the lowest, and a member skips the events it has already applied.
//
// One read model's fault does not stop the others: when a batch fails, each
// member retries it in a transaction of its own, and a member that fails
// there while another succeeds leaves the group and runs alone (its own
// reading, restarted with backoff), as a Runner does. When every member
// fails alike (the database or the stream is down), the group restarts
// with backoff instead. A member far behind the others when the group
// starts (a new read model) runs alone too, so that the others do not wait
// while it replays history; the next start of the process takes it in.
type Group struct {
	pool  *pgxpool.Pool
	store *eventstore.Store
	log   *slog.Logger
	// BatchSize is the most events applied in one transaction.
	BatchSize int
	// Linger is how long a batch waits for more events once it has one.
	Linger time.Duration
	// CatchUpAlone is how many events a member may be behind the member
	// furthest ahead when the group starts and still read with it; one
	// further behind runs alone (until the next start of the process).
	CatchUpAlone uint64

	mu sync.Mutex
	// members are the runners applying together; a member that left is
	// in alone.
	members []*Runner
	alone   sync.WaitGroup
}

// NewGroup runs members' projectors together. The runners keep their
// positions up to date as if each ran alone (Position, LastAppliedAt,
// Started), so lag is watched the same way; their own BatchSize and
// Linger apply once a member runs alone.
func NewGroup(pool *pgxpool.Pool, store *eventstore.Store, members []*Runner, log *slog.Logger) *Group {
	return &Group{pool: pool, store: store, log: log, members: slices.Clone(members),
		BatchSize: 500, Linger: 5 * time.Millisecond, CatchUpAlone: 10_000}
}

// Members are the runners reading together; not those that left to run
// alone (far behind at the start, or failing where the others did not).
func (g *Group) Members() []*Runner {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.members)
}

// RunForever runs the group until ctx ends, restarting it with backoff
// after errors, and then waits for the members that left it.
func (g *Group) RunForever(ctx context.Context) {
	restarting(g.log, "projectors stopped, restarting").Run(ctx, g.Run)
	g.alone.Wait()
}

// Run holds every member's lock and applies events until ctx ends or an
// error occurs. Another instance wanting any of the same projectors waits
// for the locks, so each projector has one instance applying at a time.
// Members that leave the group run alone until ctx ends; when ctx has
// ended, Run returns after them.
func (g *Group) Run(ctx context.Context) error {
	err := g.run(ctx)
	if ctx.Err() != nil {
		g.alone.Wait()
	}
	return err
}

func (g *Group) run(ctx context.Context) error {
	members := g.Members()
	if len(members) == 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	conn, err := g.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("projectors: acquire lock connection: %w", err)
	}
	defer conn.Release()
	keys := make([]int64, len(members))
	for i, m := range members {
		keys[i] = m.lockKey()
	}
	if err := lockAll(ctx, conn, keys); err != nil {
		return fmt.Errorf("projectors: lock: %w", err)
	}
	defer func() { unlock(conn, keys...) }()

	identity, err := g.store.Identity(ctx)
	if err != nil {
		return fmt.Errorf("projectors: %w", err)
	}
	lasts := make([]uint64, len(members))
	for i, m := range members {
		if lasts[i], err = m.start(ctx, identity); err != nil {
			return err
		}
		m.position.Store(lasts[i])
		m.started.Store(true)
	}
	// leave sends members[i] away to run alone.
	leave := func(i int) {
		m := members[i]
		unlock(conn, keys[i])
		members = slices.Delete(members, i, i+1)
		lasts = slices.Delete(lasts, i, i+1)
		keys = slices.Delete(keys, i, i+1)
		g.leave(ctx, m)
	}

	// A member far behind the others (a new read model, or one reset)
	// runs on its own reading: reading from its checkpoint would hold
	// every other read model back while it replays history. The next
	// start of the process takes it into the group.
	ahead := slices.Max(lasts)
	for i := len(members) - 1; i >= 0; i-- {
		if ahead-lasts[i] > g.CatchUpAlone {
			g.log.Info("projector far behind the others runs alone", "projector", members[i].Name(), "at", lasts[i], "others_at", ahead)
			leave(i)
		}
	}

	from := slices.Min(lasts) + 1
	g.log.Info("projectors running", "projectors", len(members), "from_sequence", from)
	stats := newStatistics(g.pool, members, g.log)
	reader, err := g.store.Subscribe(ctx, from)
	if err != nil {
		return fmt.Errorf("projectors: %w", err)
	}
	defer reader.Close()
	for {
		batch, err := reader.Next(ctx, g.BatchSize, g.Linger)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("projectors: %w", err)
		}
		if len(batch) == 0 {
			continue
		}
		nexts, err := g.applyBatch(ctx, identity, members, lasts, batch)
		if err == nil {
			lasts = nexts
			record(members, lasts, batch)
			stats.keep(ctx)
			continue
		}
		if ctx.Err() != nil || errors.Is(err, ErrCheckpointMoved) || len(members) == 1 {
			return err
		}
		failed, err := g.isolate(ctx, identity, members, lasts, batch)
		if err != nil {
			return err
		}
		record(members, lasts, batch)
		for _, i := range slices.Backward(failed) {
			leave(i)
		}
	}
}

// applyBatch applies the events after each member's last position and
// moves every checkpoint that moved, all in one transaction. It returns
// the members' new positions.
func (g *Group) applyBatch(ctx context.Context, identity string, members []*Runner, lasts []uint64, batch []domain.Envelope) ([]uint64, error) {
	nexts := slices.Clone(lasts)
	err := pgx.BeginFunc(ctx, g.pool, func(tx pgx.Tx) error {
		// The events' statements are pipelined: sent with the next read or
		// with the checkpoints, in order, in this transaction. A user's
		// key, read once, opens all of that user's events in it, for
		// every member.
		p := newPipeline(tx)
		q := readmodel.New(p)
		ctx := personal.WithKeyCache(ctx)
		for _, e := range batch {
			p.seq = e.Sequence
			for i, m := range members {
				if e.Sequence <= nexts[i] {
					continue // applied before, or redelivered after a reconnect
				}
				if err := m.apply(ctx, q, e); err != nil {
					return fmt.Errorf("projector %s: apply %s %s (seq %d, doc %s): %w", m.Name(), e.Type, e.ID, e.Sequence, e.AggregateID, err)
				}
				nexts[i] = e.Sequence
			}
		}
		var moved readmodel.AdvanceCheckpointsParams
		moved.StreamIdentity = identity
		for i, m := range members {
			if nexts[i] > lasts[i] {
				moved.Projectors = append(moved.Projectors, m.Name())
				moved.PrevSequences = append(moved.PrevSequences, int64(lasts[i]))
				moved.NextSequences = append(moved.NextSequences, int64(nexts[i]))
			}
		}
		if len(moved.Projectors) == 0 {
			return p.flush(ctx)
		}
		// The checkpoints go with the last queued statements, and their
		// compare-and-set needs its own rows affected.
		rows, err := readmodel.New(direct{p}).AdvanceCheckpoints(ctx, moved)
		if err != nil {
			return err
		}
		if rows != int64(len(moved.Projectors)) {
			return ErrCheckpointMoved
		}
		return nil
	})
	if err != nil {
		return lasts, fmt.Errorf("projectors: %w", err)
	}
	return nexts, nil
}

// isolate retries a batch that failed for the group with each member in a
// transaction of its own, updating lasts for those that succeed. It
// returns the indexes of the members that failed while another
// succeeded. It returns an error instead when every member failed, one
// found its checkpoint moved, or a failure was the database's rather
// than a member's (a lost connection, a timeout, a serialization
// failure): a member that met one of those is no more at fault than the
// members that ran before it.
func (g *Group) isolate(ctx context.Context, identity string, members []*Runner, lasts []uint64, batch []domain.Envelope) ([]int, error) {
	var failed []int
	var errs []error
	for i := range members {
		next, err := g.applyBatch(ctx, identity, members[i:i+1], lasts[i:i+1], batch)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, ErrCheckpointMoved) || databaseFault(err) {
				return nil, err
			}
			failed = append(failed, i)
			errs = append(errs, err)
			continue
		}
		lasts[i] = next[0]
	}
	if len(failed) == len(members) {
		return nil, errors.Join(errs...)
	}
	for _, err := range errs {
		g.log.Error("projector failed where the others did not; it leaves the shared reading and retries alone", "err", err)
	}
	return failed, nil
}

// databaseFault reports whether err is the database's or the connection's
// state rather than an answer to what the statements asked: a lost or
// refused connection, a timeout on the way, a serialization failure or
// deadlock, a lock not available, resources exhausted, the server
// shutting down.
func databaseFault(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if pgErr.Code == "55P03" || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03" {
			return true // lock not available, the server shutting down or starting
		}
		// Not 57014 (query canceled): a statement timeout that one
		// member's batch always meets is that member's.
		return len(pgErr.Code) == 5 && slices.Contains([]string{"08", "40", "53", "58"}, pgErr.Code[:2])
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || pgconn.Timeout(err) || pgconn.SafeToRetry(err)
}

// leave runs m alone from its own checkpoint until ctx ends. The group
// has given back its lock.
func (g *Group) leave(ctx context.Context, m *Runner) {
	g.mu.Lock()
	g.members = slices.DeleteFunc(g.members, func(r *Runner) bool { return r == m })
	g.mu.Unlock()
	g.alone.Go(func() { m.RunForever(ctx) })
}

// record publishes the members' positions after a committed batch.
func record(members []*Runner, lasts []uint64, batch []domain.Envelope) {
	at := batch[len(batch)-1].OccurredAt.UnixNano()
	for i, m := range members {
		if lasts[i] > m.position.Load() {
			m.position.Store(lasts[i])
			m.appliedAt.Store(at)
		}
	}
}
