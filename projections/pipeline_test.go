package projections

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"tally/migrations/pgtest"
)

// TestPipelineKeepsOrderAndNamesFailures checks that queued writes are
// seen by a later read of the same transaction, that an :execrows-style
// statement gets its own rows affected, and that a failing queued
// statement fails the next read with the sequence of the event that
// queued it.
func TestPipelineKeepsOrderAndNamesFailures(t *testing.T) {
	_, pool := pgtest.New(t)
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// Not through the pipeline: a batch prepares its statements before
		// it runs any, so a table must exist before the batch that uses it.
		if _, err := tx.Exec(ctx, "CREATE TEMP TABLE t (k int PRIMARY KEY, v int)"); err != nil {
			return err
		}
		p := newPipeline(tx)
		for i := range maxQueued + 10 { // more than one automatic flush
			p.seq = uint64(i + 1)
			if _, err := p.Exec(ctx, "INSERT INTO t VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = t.v + EXCLUDED.v", i%7, 1); err != nil {
				return err
			}
		}
		var sum int
		if err := p.QueryRow(ctx, "SELECT sum(v) FROM t").Scan(&sum); err != nil {
			return err
		}
		if sum != maxQueued+10 {
			t.Errorf("read after queued writes: sum %d, want %d", sum, maxQueued+10)
		}
		// A row that is never scanned must not wedge the connection.
		_ = p.QueryRow(ctx, "SELECT 1")
		if _, err := p.Exec(ctx, "UPDATE t SET v = 0 WHERE k < 3"); err != nil {
			return err
		}
		tag, err := direct{p}.Exec(ctx, "UPDATE t SET v = v + 1 WHERE v = 0")
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 3 {
			t.Errorf("direct exec affected %d rows, want 3", tag.RowsAffected())
		}
		var none int
		if err := p.QueryRow(ctx, "SELECT k FROM t WHERE k = 99").Scan(&none); !errors.Is(err, pgx.ErrNoRows) {
			t.Errorf("missing row: %v, want pgx.ErrNoRows", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		p := newPipeline(tx)
		p.seq = 4242
		if _, err := p.Exec(ctx, "INSERT INTO status_counts (tenant, status, count) VALUES ($1, NULL, 1)", "acme"); err != nil {
			return err
		}
		p.seq = 4243
		var one int
		return p.QueryRow(ctx, "SELECT 1").Scan(&one)
	})
	if err == nil || !strings.Contains(err.Error(), "sequence 4242") {
		t.Fatalf("failed queued statement reported as %v", err)
	}
}
