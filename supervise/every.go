package supervise

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Every runs work now and then again interval after each run ends, until
// ctx ends. A failed run is passed to failed (for the log) and the next
// one comes at the usual time.
func Every(ctx context.Context, interval time.Duration, work func(ctx context.Context) error, failed func(error)) {
	for {
		if err := work(ctx); err != nil && ctx.Err() == nil && failed != nil {
			failed(err)
		}
		if !Sleep(ctx, interval) {
			return
		}
	}
}

// At runs work at each time next gives, until ctx ends: next is asked
// for the first time after now, then for the one after each run.
// scheduled, if not nil, is told each time before the wait.
func At(ctx context.Context, next func(after time.Time) time.Time, scheduled func(at time.Time), work func(ctx context.Context, at time.Time)) {
	for {
		at := next(time.Now())
		if scheduled != nil {
			scheduled(at)
		}
		if !Sleep(ctx, time.Until(at)) {
			return
		}
		work(ctx, at)
	}
}

// Locker runs work under PostgreSQL advisory locks, so one process of
// many replicas does a periodic job at a time.
type Locker struct {
	Pool *pgxpool.Pool
	Log  *slog.Logger
}

// Locked runs work while holding the session advisory lock named name, or
// not at all when another process holds it (it then returns nil). The
// lock is released when work returns, even when ctx has ended.
func (l Locker) Locked(ctx context.Context, name string, work func() error) error {
	conn, err := l.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", name).Scan(&got); err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	if !got {
		if l.Log != nil {
			l.Log.Info("another process holds the lock; skipping", "lock", name)
		}
		return nil
	}
	defer func() {
		// A fresh context: the lock must go even when ctx is cancelled.
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = conn.Exec(uctx, "SELECT pg_advisory_unlock(hashtextextended($1, 0))", name)
	}()
	return work()
}

// Every runs work every interval under the lock named name, as Every
// does; a run skipped because another process held the lock waits for the
// next interval like any other.
func (l Locker) Every(ctx context.Context, name string, interval time.Duration, work func(ctx context.Context) error, failed func(error)) {
	Every(ctx, interval, func(ctx context.Context) error {
		return l.Locked(ctx, name, func() error { return work(ctx) })
	}, failed)
}
