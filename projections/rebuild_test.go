package projections_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"tally/blob"
	"tally/commands"
	"tally/domain"
	"tally/eventstore/eventstoretest"
	"tally/migrations/pgtest"
	"tally/personal"
	"tally/projections"
)

// TestRebuildSwapsWhileUploadsContinue replays into new tables while the
// live projectors and new uploads go on, swaps, and compares the result
// with an independent rebuild.
func TestRebuildSwapsWhileUploadsContinue(t *testing.T) {
	store, _ := eventstoretest.Start(t)
	_, live := pgtest.New(t)
	history(t, store, live, 60)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var liveRunners []*projections.Runner
	for _, p := range projections.All() {
		r := projections.NewRunner(live, store, p, quiet)
		liveRunners = append(liveRunners, r)
		go r.RunForever(ctx)
	}

	// Uploads and extractions keep coming during the rebuild.
	blobs, _ := blob.NewLocal(t.TempDir())
	h := commands.New(store, blobs, quiet, commands.WithPeople(personal.New(live)))
	var writes sync.WaitGroup
	var stopWriting atomic.Bool
	writes.Go(func() {
		for i := 0; !stopWriting.Load(); i++ {
			meta := commands.Meta{Tenant: "acme"}
			res, err := h.UploadInvoice(ctx, commands.UploadInvoice{Meta: meta, Content: []byte(pdf),
				User: domain.User{Email: fmt.Sprintf("late%d@example.com", i%2)}})
			if err != nil {
				t.Error(err)
				return
			}
			h.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: res.DocumentID, Attempt: 1})
			h.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: res.DocumentID, Attempt: 1,
				Fields: domain.Fields{Total: "2.00", Currency: "EUR", Date: "2026-02-02"}})
			time.Sleep(2 * time.Millisecond)
		}
	})

	var reports atomic.Int32
	rb := &projections.Rebuild{Pool: live, Store: store, Projectors: projections.All(), Log: quiet,
		ProgressEvery: 10 * time.Millisecond, OnProgress: func(projections.Progress) { reports.Add(1) }}
	replayed, err := rb.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stopWriting.Store(true)
	writes.Wait()
	if replayed == 0 {
		t.Fatal("nothing replayed")
	}
	last, _ := store.LastSequence(ctx)
	// The live projectors carry on with the swapped tables.
	waitLive(t, liveRunners, last)

	_, fresh := pgtest.New(t)
	copyKeys(t, live, fresh)
	catchUp(t, runners(fresh, store, 500), last)
	if a, b := dump(t, live), dump(t, fresh); a != b {
		t.Fatalf("swapped tables differ from a rebuild:\n--- swapped\n%s\n--- fresh\n%s", a, b)
	}
	var leftovers int
	live.QueryRow(ctx, "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'tally_rebuild_%'").Scan(&leftovers)
	if leftovers != 0 {
		t.Fatalf("%d scratch schemas left behind", leftovers)
	}
	// The swapped tables have the indexes, names and durability the
	// migrations gave the originals.
	if a, b := schemaOf(t, live), schemaOf(t, fresh); a != b {
		t.Fatalf("swapped tables' indexes or persistence differ from the migrated ones:\n--- swapped\n%s\n--- migrated\n%s", a, b)
	}
}

// schemaOf lists the public tables' persistence and indexes.
func schemaOf(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var out string
	err := pool.QueryRow(context.Background(), `
		SELECT string_agg(line, E'\n' ORDER BY line) FROM (
			SELECT c.relname || ' persistence ' || c.relpersistence::text AS line
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'public' AND c.relkind = 'r'
			UNION ALL
			SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
			UNION ALL
			SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
			FROM pg_constraint WHERE connamespace = 'public'::regnamespace) l`).Scan(&out)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func waitLive(t *testing.T, rs []*projections.Runner, last uint64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		done := true
		for _, r := range rs {
			done = done && r.Position() >= last
		}
		if done {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("live projectors did not catch up after the swap")
}
