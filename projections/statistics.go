package projections

import (
	"context"
	"errors"
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
// for every event. So the projectors gather the statistics of a table
// that has none yet once it has changed by statsMinChanges rows: what
// PostgreSQL needs is statistics of the table's shape (one tenant's
// rows are not few), not of its latest size, and from the first
// analysis on autovacuum keeps them.
const (
	// statsInterval is how often the projectors look for tables of
	// theirs without statistics.
	statsInterval = 2 * time.Second
	// statsMinChanges is how many rows a table without statistics must
	// have changed before they are gathered: enough rows to show its
	// shape.
	statsMinChanges = 1000
	// statsTimeout bounds one analysis: the projectors wait for it.
	statsTimeout = 10 * time.Second
)

// statistics gathers the statistics of the tables of a group's projectors
// that have none yet (see above).
type statistics struct {
	pool   *pgxpool.Pool
	tables []string
	log    *slog.Logger
	next   time.Time
	// done: every table has statistics; nothing is left to look at.
	done bool
}

func newStatistics(pool *pgxpool.Pool, members []*Runner, log *slog.Logger) *statistics {
	var tables []string
	for _, m := range members {
		tables = append(tables, m.projector.Tables()...)
	}
	return &statistics{pool: pool, tables: tables, log: log}
}

// keep gathers the statistics of the tables that need them, looking at
// most once every statsInterval, and never again once every table has
// some. A table locked by another analysis or a vacuum at that moment is
// skipped (SKIP_LOCKED): the projectors never wait for one. A failure
// costs only the statistics and is logged.
func (s *statistics) keep(ctx context.Context) {
	now := time.Now()
	if s.done || now.Before(s.next) || len(s.tables) == 0 {
		return
	}
	s.next = now.Add(statsInterval)
	ctx, cancel := context.WithTimeout(ctx, statsTimeout)
	defer cancel()
	due, done, err := s.due(ctx)
	if err == nil && len(due) > 0 {
		_, err = s.pool.Exec(ctx, "ANALYZE (SKIP_LOCKED) "+strings.Join(due, ", "))
	}
	if err != nil {
		// A stop of the projectors is no failure; a timeout is.
		if !errors.Is(ctx.Err(), context.Canceled) {
			s.log.Warn("projectors: gathering their tables' statistics", "err", err)
		}
		return
	}
	s.done = done
}

// due returns the tables, as quoted names, that have no statistics and
// changed by statsMinChanges rows, and whether every table has
// statistics. The tables are the projectors' in their pool's schema (a
// rebuild's scratch runners work in a schema of their own). Only a
// table's owner may gather its statistics: where the projectors' role
// does not own the tables (the migrations ran as another), autovacuum
// alone gathers them.
func (s *statistics) due(ctx context.Context) ([]string, bool, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT quote_ident(st.schemaname) || '.' || quote_ident(st.relname),
		       st.last_analyze IS NOT NULL OR st.last_autoanalyze IS NOT NULL,
		       st.n_mod_since_analyze >= $2::bigint
		FROM pg_stat_user_tables st JOIN pg_class c ON c.oid = st.relid
		WHERE st.schemaname = current_schema() AND st.relname = ANY($1::text[])
		  AND pg_has_role(c.relowner, 'USAGE')`,
		s.tables, statsMinChanges)
	if err != nil {
		return nil, false, err
	}
	var due []string
	done := true
	var name string
	var analysed, changed bool
	_, err = pgx.ForEachRow(rows, []any{&name, &analysed, &changed}, func() error {
		if !analysed {
			done = false
			if changed {
				due = append(due, name)
			}
		}
		return nil
	})
	return due, done, err
}
