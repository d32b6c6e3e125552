package projections

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PostgreSQL plans a read model's statements by its tables' statistics,
// which autovacuum gathers about a minute after a table changes (its
// naptime) and not before. Until then a table has none, and PostgreSQL
// plans as for an empty table: an update of documents by (tenant, id)
// weighed the primary key and documents_by_user (tenant, user_id) alike
// and took the latter, which reads every row of the tenant; at 6,000
// documents of one tenant each such statement took 1.2-1.5 ms instead of
// 0.03 ms, and a fresh installation's first minute of uploads paid that
// for every event. So the projectors gather a table's statistics
// themselves once it has changed by at least as many rows as it held
// when they were last gathered (statsMinChanges at least): soon for a
// new table, rarely for a large one, where autovacuum comes first.
const (
	// statsInterval is how often the projectors look at their tables'
	// changes since their statistics were gathered.
	statsInterval = 2 * time.Second
	// statsMinChanges is the fewest changes that make a table's
	// statistics worth gathering again.
	statsMinChanges = 1000
)

// statistics gathers the statistics of the tables of a group's projectors
// when they are missing or far behind the tables (see above).
type statistics struct {
	pool   *pgxpool.Pool
	tables []string
	log    *slog.Logger
	next   time.Time
}

func newStatistics(pool *pgxpool.Pool, members []*Runner, log *slog.Logger) *statistics {
	var tables []string
	for _, m := range members {
		tables = append(tables, m.projector.Tables()...)
	}
	return &statistics{pool: pool, tables: tables, log: log}
}

// keep gathers the statistics of the tables that need them, at most once
// every statsInterval. A table whose statistics autovacuum is gathering
// at that moment is skipped (SKIP_LOCKED): the projectors never wait for
// it. A failure costs only the statistics and is logged.
func (s *statistics) keep(ctx context.Context) {
	now := time.Now()
	if now.Before(s.next) || len(s.tables) == 0 {
		return
	}
	s.next = now.Add(statsInterval)
	stale, err := s.stale(ctx)
	if err == nil && len(stale) > 0 {
		idents := make([]string, len(stale))
		for i, t := range stale {
			idents[i] = pgx.Identifier{"public", t}.Sanitize()
		}
		_, err = s.pool.Exec(ctx, "ANALYZE (SKIP_LOCKED) "+strings.Join(idents, ", "))
	}
	if err != nil && ctx.Err() == nil {
		s.log.Warn("projectors: gathering their tables' statistics", "err", err)
	}
}

// stale returns the tables that changed by at least as many rows as they
// held when their statistics were last gathered (statsMinChanges at
// least), or that have none and changed by statsMinChanges. Only a
// table's owner may gather its statistics: where the projectors' role
// does not own the tables (the migrations ran as another), autovacuum
// alone keeps them.
func (s *statistics) stale(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT st.relname FROM pg_stat_user_tables st JOIN pg_class c ON c.oid = st.relid
		WHERE st.schemaname = 'public' AND st.relname = ANY($1::text[])
		  AND st.n_mod_since_analyze >= GREATEST($2::bigint, c.reltuples::bigint)
		  AND pg_has_role(c.relowner, 'USAGE')`,
		s.tables, statsMinChanges)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
