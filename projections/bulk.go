package projections

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tally/personal"
	"tally/readmodel"
)

// copyParts is how many connections copy one projector's rows at once:
// the work of a COPY is the server's, one process per connection, and a
// single one leaves a core idle.
const copyParts = 2

// bulkLoad folds the stream up to its current head into the folders'
// fresh tables: one pass over the stream feeds every fold, then each
// projector's rows are copied in (copyParts connections at once), its
// unique indexes built and its checkpoint set to the head in one
// transaction, and its other indexes (deferred, which it empties for its
// tables) built and its tables analysed, the projectors in parallel.
// Nobody reads the scratch tables before the swap, so a projector's
// parts need not commit together: a failure drops the whole schema.
func (b *Rebuild) bulkLoad(ctx context.Context, scratch *pgxpool.Pool, folders []Folder, afterCopy, deferred map[string][]string,
	started time.Time, every time.Duration) error {
	identity, err := b.Store.Identity(ctx)
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	target, err := b.Store.LastSequence(ctx)
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	// Users are opened with the keys as they are after the pass, so a key
	// erased while the stream was read opens nothing (see owner).
	users := personal.NewSnapshot(readmodel.New(b.Pool))
	folds := make([]Fold, len(folders))
	for i, f := range folders {
		folds[i] = f.NewFold(users)
	}
	progress := b.reportFold(ctx, folders, target, started, every)
	err = foldStream(ctx, b.Store, target, folds, progress)
	progress.stop()
	if err != nil {
		return err
	}
	heap := liveHeap()
	if err := users.Load(ctx); err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	copyStarted := time.Now()
	errs := make([]error, len(folders))
	var wg sync.WaitGroup
	for i, f := range folders {
		wg.Go(func() {
			errs[i] = load(ctx, scratch, f, folds[i], afterCopy[f.Name()], deferred, identity, target)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("rebuild: bulk load %s: %w", f.Name(), errs[i])
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	for _, f := range folders {
		for _, t := range f.Tables() {
			delete(deferred, t)
		}
	}
	b.Log.Info("read models folded and copied", "events", target, "projectors", len(folders),
		"fold", copyStarted.Sub(started).String(), "copy", time.Since(copyStarted).String(), "heap_live_mb", heap>>20)
	return nil
}

// load copies one projector's folded rows into its tables, makes the
// indexes replay needs (unique), sets its checkpoint, then builds its
// deferred indexes and analyses its tables, each statement on a
// connection of its own. It only reads deferred.
func load(ctx context.Context, scratch *pgxpool.Pool, f Folder, fold Fold, afterCopy []string, deferred map[string][]string,
	identity string, target uint64) error {
	parts := make([]error, copyParts)
	var wg sync.WaitGroup
	for p := range copyParts {
		wg.Go(func() {
			parts[p] = pgx.BeginFunc(ctx, scratch, func(tx pgx.Tx) error { return fold.Copy(ctx, tx, p, copyParts) })
		})
	}
	wg.Wait()
	if err := errors.Join(parts...); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, scratch, func(tx pgx.Tx) error {
		for _, s := range afterCopy {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO projector_checkpoints (projector, stream_identity, last_sequence)
			VALUES ($1, $2, $3)`, f.Name(), identity, int64(target))
		return err
	})
	if err != nil {
		return err
	}
	var stmts []string
	for _, t := range f.Tables() {
		stmts = append(stmts, deferred[t]...)
	}
	built := make([]error, len(stmts))
	for i, s := range stmts {
		wg.Go(func() {
			if _, err := scratch.Exec(ctx, s); err != nil {
				built[i] = fmt.Errorf("%s: %w", s, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(built...); err != nil {
		return err
	}
	for _, t := range f.Tables() {
		if _, err := scratch.Exec(ctx, "ANALYZE "+t); err != nil {
			return fmt.Errorf("analyze %s: %w", t, err)
		}
	}
	return nil
}

// foldProgress reports a fold's position until stopped.
type foldProgress struct {
	position func(uint64)
	stop     func()
}

func (b *Rebuild) reportFold(ctx context.Context, folders []Folder, target uint64, started time.Time, every time.Duration) foldProgress {
	var mu sync.Mutex
	var pos uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	if b.OnProgress != nil {
		wg.Go(func() {
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				mu.Lock()
				p := pos
				mu.Unlock()
				rate := float64(p) / time.Since(started).Seconds()
				var eta time.Duration
				if rate > 0 && target > p {
					eta = time.Duration(float64(target-p)/rate) * time.Second
				}
				for _, f := range folders {
					b.OnProgress(Progress{Projector: f.Name(), Position: p, Target: target, PerSecond: rate, ETA: eta})
				}
			}
		})
	}
	return foldProgress{
		position: func(p uint64) { mu.Lock(); pos = p; mu.Unlock() },
		stop:     func() { close(done); wg.Wait() },
	}
}
