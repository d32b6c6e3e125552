package projections_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"tally/eventstore/eventstoretest"
	"tally/migrations/pgtest"
	"tally/projections"
)

// A new installation's read models have no statistics until autovacuum
// gathers them, a minute later at the soonest, and PostgreSQL plans their
// updates as for empty tables meanwhile. The projectors gather them once
// a table has changed enough, so that an update by id goes by the
// primary key.
func TestProjectorsGatherStatisticsOfNewTables(t *testing.T) {
	store, _ := eventstoretest.Start(t)
	_, pool := pgtest.New(t)
	ctx := context.Background()
	// Statistics can come from the projectors only.
	if _, err := pool.Exec(ctx, `ALTER TABLE documents SET (autovacuum_enabled = off)`); err != nil {
		t.Fatal(err)
	}
	// The projector starts on an empty stream (and empties its table).
	r := projections.NewRunner(pool, store, projections.Documents{}, quiet)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go r.RunForever(runCtx)
	waitFor(t, "the projector's start", r.Started)

	// A tenant's first few thousand uploads, all of one user.
	if _, err := pool.Exec(ctx, `
		INSERT INTO documents (tenant, id, status, source, filename, content_type, size_bytes, sha256, blob_key,
		                       user_name, user_email, user_id, attempt, created_at, updated_at, last_sequence)
		SELECT 'acme', gen_random_uuid(), 'PENDING', 'upload', 'f.pdf', 'application/pdf', 1, '', '',
		       'U', 'u@example.com', 'u1', 1, now(), now(), 0
		FROM generate_series(1, 3000)`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the inserts in the table's counts", func() bool {
		var changes int64
		err := pool.QueryRow(ctx, `SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = 'documents'`).Scan(&changes)
		return err == nil && changes >= 3000
	})
	// The next events reach the projector.
	history(t, store, pool, 3)

	waitFor(t, "statistics of the documents table", func() bool {
		var gathered bool
		err := pool.QueryRow(ctx, `SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'documents'`).Scan(&gathered)
		return err == nil && gathered
	})
	rows, err := pool.Query(ctx, `EXPLAIN UPDATE documents SET status = 'PROCESSING'
		WHERE tenant = 'acme' AND id = '00000000-0000-0000-0000-000000000001' AND attempt = 1 AND status = 'PENDING'`)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if p := strings.Join(plan, "\n"); !strings.Contains(p, "documents_pkey") {
		t.Fatalf("an update by id does not go by the primary key:\n%s", p)
	}
}

// Statistics are due for a table without any once it changed by a
// thousand rows, not before, and never again once it has some: from then
// on autovacuum keeps them.
func TestStatisticsDueOnceForTablesWithoutAny(t *testing.T) {
	_, pool := pgtest.New(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `ALTER TABLE status_counts SET (autovacuum_enabled = off)`); err != nil {
		t.Fatal(err)
	}
	count := func(n int) {
		t.Helper()
		if _, err := pool.Exec(ctx, `INSERT INTO status_counts (tenant, status, count)
			SELECT 't' || i, 'PENDING', 1 FROM generate_series(1, $1::int) i
			ON CONFLICT (tenant, status) DO UPDATE SET count = status_counts.count + 1`, n); err != nil {
			t.Fatal(err)
		}
	}
	changes := func() int64 {
		var n int64
		if err := pool.QueryRow(ctx, `SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = 'status_counts'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	count(500)
	waitFor(t, "500 changes counted", func() bool { return changes() >= 500 })
	if due, done, err := projections.StatisticsDue(ctx, pool, "status_counts"); err != nil || len(due) != 0 || done {
		t.Fatalf("after 500 changes: due %v, done %v, err %v; want nothing due, not done", due, done, err)
	}
	count(600) // the same rows again: changes, not rows, count
	waitFor(t, "1,100 changes counted", func() bool { return changes() >= 1100 })
	due, done, err := projections.StatisticsDue(ctx, pool, "status_counts")
	if err != nil || len(due) != 1 || !strings.HasSuffix(due[0], ".status_counts") || done {
		t.Fatalf("after 1,100 changes: due %v, done %v, err %v; want status_counts due", due, done, err)
	}
	if _, err := pool.Exec(ctx, "ANALYZE "+due[0]); err != nil {
		t.Fatal(err)
	}
	count(1500)
	waitFor(t, "statistics and 1,500 more changes counted", func() bool { return changes() >= 1500 })
	if due, done, err := projections.StatisticsDue(ctx, pool, "status_counts"); err != nil || len(due) != 0 || !done {
		t.Fatalf("once analysed: due %v, done %v, err %v; want nothing due, done", due, done, err)
	}
}
