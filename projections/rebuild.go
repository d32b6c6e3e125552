package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"tally/eventstore"
)

// Progress is a rebuild's state, reported every few seconds.
type Progress struct {
	Projector string
	Position  uint64
	Target    uint64
	PerSecond float64
	ETA       time.Duration
}

// Rebuild replays the stream from sequence 0 into fresh tables in a
// schema of their own while the live tables keep serving, then swaps them
// in with one transaction: readers see the old tables or the new ones,
// never half-built data. The live projector, if running, finds its
// checkpoint moved by the swap and continues from the rebuilt position.
type Rebuild struct {
	Pool       *pgxpool.Pool
	Store      *eventstore.Store
	Projectors []Projector
	Log        *slog.Logger
	// OnProgress is called every ProgressEvery while replaying.
	OnProgress    func(Progress)
	ProgressEvery time.Duration
	// MaxFoldEvents bounds the history a rebuild folds in memory (about
	// 3 KB an event at the fold's peak, see MaxFoldEvents): a longer one
	// is replayed event by event instead, several times slower but in
	// bounded memory. 0 means no bound.
	MaxFoldEvents uint64
}

// Run rebuilds and swaps; it returns the number of events replayed.
//
// Projectors that are Folders are rebuilt in bulk: one pass over the
// stream up to its head as it was at the start folds every document's
// events in memory, the resulting rows go into the fresh tables with COPY
// (each projector on a connection of its own), and their checkpoints say
// where the fold stopped. Other projectors replay Apply event by event
// meanwhile. From there on every projector catches up with statements,
// as the live projector does.
func (b *Rebuild) Run(ctx context.Context) (uint64, error) {
	schema := fmt.Sprintf("tally_rebuild_%d", time.Now().UnixNano())
	fold, err := b.mayFold(ctx)
	if err != nil {
		return 0, err
	}
	var folders []Folder
	folded := map[string]bool{}
	for _, p := range b.Projectors {
		if f, ok := p.(Folder); ok && fold {
			folders = append(folders, f)
			folded[p.Name()] = true
		}
	}
	deferred, afterCopy, err := b.prepare(ctx, schema, folded)
	if err != nil {
		return 0, err
	}
	// Whatever happens, the scratch schema goes; after a successful swap
	// it is empty.
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = b.Pool.Exec(cctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
	}()

	cfg := b.Pool.Config().Copy()
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	// The scratch tables are nothing until the swap: a rebuild transaction
	// need not wait for its WAL to reach the disk. A PostgreSQL crash
	// before finish empties the unlogged tables and their checkpoints
	// alike; after it, it loses at most the last batches, each whole with
	// its checkpoint. Either way tables and checkpoints stay in step. The
	// swap's own transaction, on the live pool, commits synchronously,
	// which flushes all WAL written before it, these commits included.
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	// Index builds sort in memory rather than on disk.
	cfg.ConnConfig.RuntimeParams["maintenance_work_mem"] = "128MB"
	cfg.MaxConns = max(int32(len(b.Projectors))*2, 4)
	scratch, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return 0, fmt.Errorf("rebuild: open scratch pool: %w", err)
	}
	defer scratch.Close()

	started := time.Now()
	every := b.ProgressEvery
	if every == 0 {
		every = 2 * time.Second
	}
	var runners []*Runner
	newRunner := func(p Projector) *Runner {
		r := NewRunner(scratch, b.Store, p, b.Log)
		r.LockName = "rebuild:" + schema + ":" + p.Name()
		r.Untraced = true
		// Nobody reads the scratch tables, so long transactions cost
		// nothing and save commits.
		r.BatchSize = rebuildBatch
		return r
	}
	for _, p := range b.Projectors {
		if !folded[p.Name()] {
			runners = append(runners, newRunner(p))
		}
	}
	// start runs the scratch runners until the returned stop is called;
	// stop waits for them, so no scratch transaction is open at the swap.
	start := func() (stop func()) {
		rctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, r := range runners {
			wg.Go(func() { r.RunForever(rctx) })
		}
		return func() { cancel(); wg.Wait() }
	}
	stop := start()
	defer func() { stop() }()
	if len(folders) > 0 {
		if err := b.bulkLoad(ctx, scratch, folders, afterCopy, deferred, started, every); err != nil {
			return 0, err
		}
		// The folded projectors go on from their checkpoints.
		stop()
		for _, f := range folders {
			runners = append(runners, newRunner(f))
		}
		stop = start()
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	finished, goal := false, uint64(0)
	for {
		target, err := b.Store.LastSequence(ctx)
		if err != nil {
			return 0, err
		}
		// Replay stops close to the head: under a steady stream of new
		// events it never stands exactly there. Once the tables are
		// finished, the runners catch up to the head as it was then, a
		// goal that does not move, and the swap follows; the live
		// projector applies whatever came after from the rebuilt position.
		if allStarted(runners) && !finished && minPosition(runners)+slack(target) >= target {
			stop()
			// Indexes and WAL for the whole tables at once, then catch
			// up on the events that came meanwhile.
			if err := b.finish(ctx, scratch, schema, deferred); err != nil {
				return 0, err
			}
			if goal, err = b.Store.LastSequence(ctx); err != nil {
				return 0, err
			}
			finished = true
			stop = start()
			continue
		}
		if finished && minPosition(runners) >= goal {
			stop()
			swapped, err := b.swap(ctx, schema, runners)
			if err != nil {
				return 0, err
			}
			if swapped {
				stop = func() {}
				return minPosition(runners), nil
			}
			stop = start() // the live tables moved on meanwhile: catch up again
			continue
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-tick.C:
			if b.OnProgress != nil {
				for _, r := range runners {
					pos := r.Position()
					rate := float64(pos) / time.Since(started).Seconds()
					var eta time.Duration
					if rate > 0 && target > pos {
						eta = time.Duration(float64(target-pos)/rate) * time.Second
					}
					b.OnProgress(Progress{Projector: r.Name(), Position: pos, Target: target, PerSecond: rate, ETA: eta})
				}
			}
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// mayFold reports whether the history is short enough to fold in memory
// (MaxFoldEvents).
func (b *Rebuild) mayFold(ctx context.Context) (bool, error) {
	if b.MaxFoldEvents == 0 {
		return true, nil
	}
	last, err := b.Store.LastSequence(ctx)
	if err != nil {
		return false, fmt.Errorf("rebuild: %w", err)
	}
	if last <= b.MaxFoldEvents {
		return true, nil
	}
	b.Log.Warn("history too long to fold in memory; replaying it event by event, which takes longer",
		"events", last, "max_fold_events", b.MaxFoldEvents)
	return false, nil
}

// rebuildBatch is the most events a rebuild applies in one transaction.
const rebuildBatch = 10_000

// prepare makes the scratch schema with empty copies of the tables and of
// the checkpoint table. The copies of replayed tables are UNLOGGED, so
// replay writes no WAL, and have only the indexes that replay needs
// (primary keys, unique indexes, constraints): maintaining a secondary
// index row by row costs more than building it once at the end, and each
// one also turns an update that could stay on its page into one that
// touches every index. The tables of folded projectors are bulk-loaded
// once, so they are logged from the start (one write, where SET LOGGED
// would write them again) and get no index before the load: afterCopy
// holds, per projector, the statements that make the indexes replay
// needs, to run after its COPY. It returns the definitions of the indexes
// left for finish. Names of constraints and indexes are those of the live
// tables, so they survive the swap unchanged.
func (b *Rebuild) prepare(ctx context.Context, schema string, folded map[string]bool) (deferred, afterCopy map[string][]string, err error) {
	deferred, afterCopy = map[string][]string{}, map[string][]string{}
	err = pgx.BeginFunc(ctx, b.Pool, func(tx pgx.Tx) error {
		stmts := []string{"CREATE SCHEMA " + schema,
			fmt.Sprintf("CREATE UNLOGGED TABLE %s.projector_checkpoints (LIKE public.projector_checkpoints INCLUDING ALL)", schema)}
		for _, p := range b.Projectors {
			for _, t := range p.Tables() {
				now, later, err := tableIndexes(ctx, tx, schema, t)
				if err != nil {
					return err
				}
				if folded[p.Name()] {
					stmts = append(stmts, fmt.Sprintf("CREATE TABLE %s.%s (LIKE public.%s INCLUDING ALL EXCLUDING INDEXES)", schema, t, t))
					afterCopy[p.Name()] = append(afterCopy[p.Name()], now...)
				} else {
					stmts = append(stmts, fmt.Sprintf("CREATE UNLOGGED TABLE %s.%s (LIKE public.%s INCLUDING ALL EXCLUDING INDEXES)", schema, t, t))
					stmts = append(stmts, now...)
				}
				deferred[t] = later
			}
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("rebuild: prepare %s: %w", schema, err)
	}
	return deferred, afterCopy, nil
}

// tableIndexes reads a live table's indexes as statements that make them
// on the scratch table: those replay needs (constraints, unique indexes)
// and those it can do without.
func tableIndexes(ctx context.Context, tx pgx.Tx, schema, table string) (now, later []string, err error) {
	rows, err := tx.Query(ctx, `
		SELECT c.conname, pg_get_constraintdef(c.oid), pg_get_indexdef(i.indexrelid), i.indisunique
		FROM pg_index i
		LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
		WHERE i.indrelid = ('public.' || quote_ident($1))::regclass
		ORDER BY i.indexrelid`, table)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var conName, conDef *string
		var indexDef string
		var unique bool
		if err := rows.Scan(&conName, &conDef, &indexDef, &unique); err != nil {
			return nil, nil, err
		}
		if conName != nil {
			now = append(now, fmt.Sprintf("ALTER TABLE %s.%s ADD CONSTRAINT %s %s", schema, table,
				pgx.Identifier{*conName}.Sanitize(), *conDef))
			continue
		}
		// pg_get_indexdef always names the table with its schema.
		live := " ON public." + table + " "
		if strings.Count(indexDef, live) != 1 {
			return nil, nil, fmt.Errorf("index of %s: cannot place %q in the scratch schema", table, indexDef)
		}
		def := strings.Replace(indexDef, live, " ON "+schema+"."+table+" ", 1)
		if unique {
			now = append(now, def)
		} else {
			later = append(later, def)
		}
	}
	return now, later, rows.Err()
}

// finish makes the scratch tables ready to serve: it builds the deferred
// indexes, has the tables WAL-logged (so they are durable and replicated
// once swapped in) and gathers planner statistics. Tables are finished in
// parallel, and a table's indexes are built in parallel too, each on a
// connection of its own: nobody else uses the scratch tables, and a
// failure drops the whole scratch schema.
func (b *Rebuild) finish(ctx context.Context, scratch *pgxpool.Pool, schema string, deferred map[string][]string) error {
	started := time.Now()
	run := func(s string) error {
		if _, err := scratch.Exec(ctx, s); err != nil {
			return fmt.Errorf("rebuild: finish %s: %s: %w", schema, s, err)
		}
		return nil
	}
	// The checkpoints too: after a crash, unlogged tables come back
	// empty and logged ones do not, and a checkpoint must never lose
	// its rows.
	if err := run(fmt.Sprintf("ALTER TABLE %s.projector_checkpoints SET LOGGED", schema)); err != nil {
		return err
	}
	// Folded tables were indexed and analysed after their COPY, and are
	// logged from the start: bulkLoad took them out of deferred.
	var tables []string
	indexes := 0
	for _, p := range b.Projectors {
		for _, t := range p.Tables() {
			if _, ok := deferred[t]; ok {
				tables = append(tables, t)
			}
		}
	}
	errs := make([]error, len(tables))
	var wg sync.WaitGroup
	for i, t := range tables {
		indexes += len(deferred[t])
		wg.Go(func() {
			built := make([]error, len(deferred[t]))
			var each sync.WaitGroup
			for j, def := range deferred[t] {
				each.Go(func() { built[j] = run(def) })
			}
			each.Wait()
			if errs[i] = errors.Join(built...); errs[i] != nil {
				return
			}
			if errs[i] = run(fmt.Sprintf("ALTER TABLE %s.%s SET LOGGED", schema, t)); errs[i] != nil {
				return
			}
			errs[i] = run(fmt.Sprintf("ANALYZE %s.%s", schema, t))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	b.Log.Info("rebuilt tables indexed and logged", "took", time.Since(started).String(), "indexes", indexes)
	return nil
}

// swap replaces the live tables with the rebuilt ones and sets the live
// checkpoints to the rebuilt positions, in one transaction.
func (b *Rebuild) swap(ctx context.Context, schema string, runners []*Runner) (bool, error) {
	swapped := false
	err := pgx.BeginFunc(ctx, b.Pool, func(tx pgx.Tx) error {
		var tables []string
		for _, p := range b.Projectors {
			for _, t := range p.Tables() {
				tables = append(tables, "public."+t)
			}
		}
		// Writers and readers of these tables wait for the swap; it only
		// renames, so the wait is short.
		if _, err := tx.Exec(ctx, "LOCK TABLE "+strings.Join(tables, ", ")+" IN ACCESS EXCLUSIVE MODE"); err != nil {
			return err
		}
		for _, r := range runners {
			var rebuilt int64
			var identity string
			if err := tx.QueryRow(ctx, fmt.Sprintf("SELECT last_sequence, stream_identity FROM %s.projector_checkpoints WHERE projector = $1", schema),
				r.Name()).Scan(&rebuilt, &identity); err != nil {
				return fmt.Errorf("read rebuilt checkpoint of %s: %w", r.Name(), err)
			}
			// The live projector may be ahead or behind: either way its next
			// compare-and-set on the checkpoint fails, and it carries on from
			// the rebuilt position in the new tables.
			if _, err := tx.Exec(ctx, `INSERT INTO public.projector_checkpoints (projector, stream_identity, last_sequence, updated_at)
				VALUES ($1, $2, $3, now()) ON CONFLICT (projector) DO UPDATE
				SET stream_identity = EXCLUDED.stream_identity, last_sequence = EXCLUDED.last_sequence, updated_at = now()`,
				r.Name(), identity, rebuilt); err != nil {
				return err
			}
		}
		for _, p := range b.Projectors {
			for _, t := range p.Tables() {
				if _, err := tx.Exec(ctx, fmt.Sprintf("DROP TABLE public.%s", t)); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, fmt.Sprintf("ALTER TABLE %s.%s SET SCHEMA public", schema, t)); err != nil {
					return err
				}
			}
		}
		swapped = true
		return nil
	})
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == deadlockDetected {
		// The swap takes its tables' locks one by one while live
		// projectors write: one of them held a table the swap wanted
		// and waited for one the swap held, and PostgreSQL rolled the
		// swap back whole. The caller catches up and swaps again.
		b.Log.Warn("rebuild: swap crossed a live projector's locks, trying again", "err", err)
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("rebuild: swap: %w", err)
	}
	return swapped, nil
}

// deadlockDetected is PostgreSQL's SQLSTATE deadlock_detected.
const deadlockDetected = "40P01"

// slack is how many events behind the head a rebuild may be swapped in:
// a tenth of the stream, at most 500, so a small stream is rebuilt whole
// and a busy one is not chased forever.
func slack(target uint64) uint64 {
	return min(500, target/10)
}

func allStarted(runners []*Runner) bool {
	for _, r := range runners {
		if !r.Started() {
			return false
		}
	}
	return true
}

func minPosition(runners []*Runner) uint64 {
	m := ^uint64(0)
	for _, r := range runners {
		m = min(m, r.Position())
	}
	return m
}
