package projections

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// LockKey is the advisory lock id of a projector's name, for tests that
// hold a projector's lock the way another instance would.
func LockKey(name string) int64 { return lockKey(name) }

// StatisticsDue is what a projector group's statistics keeper would
// analyse among tables now, and whether every one of them has statistics.
func StatisticsDue(ctx context.Context, pool *pgxpool.Pool, tables ...string) ([]string, bool, error) {
	return (&statistics{pool: pool, tables: tables}).due(ctx)
}
