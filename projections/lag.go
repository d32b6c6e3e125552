package projections

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"tally/eventstore"
	"tally/metrics"
)

// RunAll runs every projector on one reading of the stream (a Group)
// until ctx ends, restarting after errors, and keeps their lag gauges up
// to date.
func RunAll(ctx context.Context, pool *pgxpool.Pool, store *eventstore.Store, m *metrics.Metrics, log *slog.Logger) {
	var wg sync.WaitGroup
	var runners []*Runner
	for _, p := range All() {
		runners = append(runners, NewRunner(pool, store, p, log))
	}
	group := NewGroup(pool, store, runners, log)
	wg.Go(func() { group.RunForever(ctx) })
	wg.Go(func() { WatchLag(ctx, store, m, runners) })
	wg.Wait()
}

// WatchLag updates the lag gauges of runners every few seconds until ctx
// ends: how many events each is behind the stream, and how old the last
// event it applied is while it is behind.
func WatchLag(ctx context.Context, store *eventstore.Store, m *metrics.Metrics, runners []*Runner) {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		last, err := store.LastSequence(ctx)
		if err != nil {
			continue
		}
		for _, r := range runners {
			lag := float64(0)
			if pos := r.Position(); last > pos {
				lag = float64(last - pos)
			}
			m.ProjectorLagEvents.WithLabelValues(r.Name()).Set(lag)
			seconds := 0.0
			if lag > 0 && !r.LastAppliedAt().IsZero() {
				seconds = time.Since(r.LastAppliedAt()).Seconds()
			}
			m.ProjectorLagSeconds.WithLabelValues(r.Name()).Set(seconds)
		}
	}
}
