package projections_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tally/blob"
	"tally/commands"
	"tally/domain"
	"tally/eventstore"
	"tally/eventstore/eventstoretest"
	"tally/migrations/pgtest"
	"tally/personal"
	"tally/projections"
	"tally/readmodel"
)

const pdf = "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

var quiet = slog.New(slog.DiscardHandler)

// history writes a mixed history: uploads by several users, some
// extracted in two currencies, some failed, some reprocessed with a new
// total.
// The users' keys go to keys's database, which the read models that open
// them must share (copyKeys).
func history(t *testing.T, store *eventstore.Store, keys *pgxpool.Pool, docs int) {
	t.Helper()
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := commands.New(store, blobs, quiet, commands.WithPeople(personal.New(keys)))
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range docs {
		meta := commands.Meta{Tenant: []string{"acme", "globex"}[i%2]}
		res, err := h.UploadInvoice(ctx, commands.UploadInvoice{Meta: meta, Source: domain.SourceUpload, Filename: "f.pdf",
			Content: []byte(pdf), User: domain.User{Name: "U", Email: fmt.Sprintf("user%d@example.com", i%3)}})
		if err != nil {
			t.Fatal(err)
		}
		id := res.DocumentID
		if i%5 == 4 {
			continue // stays PENDING
		}
		ok(t)(h.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: id, Attempt: 1}))
		if i%7 == 3 {
			ok(t)(h.FailExtraction(ctx, commands.FailExtraction{Meta: meta, DocumentID: id, Attempt: 1, Reason: "unreadable"}))
			continue
		}
		if i%11 == 5 {
			continue // stays PROCESSING
		}
		f := domain.Fields{Vendor: "V", Currency: []string{"EUR", "USD", ""}[i%3],
			Total: fmt.Sprintf("%d.%02d", rng.IntN(500), rng.IntN(100))}
		if i%4 != 0 {
			f.Date = fmt.Sprintf("2026-%02d-%02d", 1+i%12, 1+i%28)
		}
		ok(t)(h.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: id, Attempt: 1, Fields: f}))
		if i%9 == 2 {
			// A user's correction, which the reprocess below must not undo.
			ok(t)(h.CorrectDocument(ctx, commands.CorrectDocument{Meta: meta, DocumentID: id,
				Fields: domain.Fields{Total: "3.33", Vendor: "Corrected"}}))
		}
		if i%6 == 1 {
			ok(t)(h.RequestReprocess(ctx, commands.RequestReprocess{Meta: meta, DocumentID: id}))
			ok(t)(h.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: id, Attempt: 2}))
			f.Total = "1.01"
			f.Date = "2025-12-31"
			ok(t)(h.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: id, Attempt: 2, Fields: f}))
		}
		if i%10 == 7 {
			ok(t)(h.DeleteDocument(ctx, commands.DeleteDocument{Meta: meta, DocumentID: id, Grace: time.Hour}))
			if i%20 == 7 {
				ok(t)(h.RestoreDocument(ctx, meta, id))
			}
		}
	}
}

func ok(t *testing.T) func(commands.Result, error) {
	return func(_ commands.Result, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// dump renders every read model table in a stable order.
func dump(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	return jsonRows(t, pool,
		"SELECT tenant, id, status, attempt, fields, total::text, vendor, document_date, currency, failure_reason, last_sequence FROM documents ORDER BY tenant, id",
		"SELECT tenant, status, count FROM status_counts WHERE count > 0 ORDER BY tenant, status",
		"SELECT tenant, user_email, month, currency, total::text, documents FROM monthly_totals ORDER BY 1, 2, 3, 4")
}

// jsonRows renders the rows of each query as JSON, one line each.
func jsonRows(t *testing.T, pool *pgxpool.Pool, queries ...string) string {
	t.Helper()
	var out strings.Builder
	for _, q := range queries {
		rows, err := pool.Query(context.Background(), "SELECT row_to_json(r)::text FROM ("+q+") r")
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			out.WriteString(l + "\n")
		}
	}
	return out.String()
}

// copyKeys gives dst the user keys (and the address-hash key) of src, as
// a restored database would have them.
func copyKeys(t *testing.T, src, dst *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	for _, table := range []string{"user_keys", "secrets"} {
		rows, err := src.Query(ctx, "SELECT row_to_json(t)::text FROM "+table+" t")
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			if _, err := dst.Exec(ctx, "INSERT INTO "+table+" SELECT * FROM json_populate_record(NULL::"+table+", $1::json)", l); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func runners(pool *pgxpool.Pool, store *eventstore.Store, batch int) []*projections.Runner {
	var rs []*projections.Runner
	for _, p := range projections.All() {
		r := projections.NewRunner(pool, store, p, quiet)
		r.BatchSize = batch
		rs = append(rs, r)
	}
	return rs
}

// catchUp runs the runners until each has applied the whole stream.
func catchUp(t *testing.T, rs []*projections.Runner, last uint64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, r := range rs {
		go r.RunForever(ctx)
	}
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
	t.Fatal("projectors did not catch up within 60s")
}

func TestKilledProjectorsEqualRebuild(t *testing.T) {
	store, _ := eventstoretest.Start(t)
	_, interrupted := pgtest.New(t)
	history(t, store, interrupted, 120)
	last, err := store.LastSequence(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	// Killed alternately as runners of their own, which leave the
	// projectors at different positions, and as one group, which starts
	// each member at its own.
	// Each run is killed once every projector has passed a point a little
	// further on, a moment after (mid-batch, as likely as not).
	rng := rand.New(rand.NewPCG(7, 7))
	groupBatches := 0
	for kill := range 40 {
		batch := 1 + rng.IntN(40)
		rs := runners(interrupted, store, batch)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		if kill%2 == 0 {
			for _, r := range rs {
				wg.Go(func() { _ = r.Run(ctx) })
			}
		} else {
			g := projections.NewGroup(interrupted, store, rs, quiet)
			g.BatchSize = batch
			// Now and then a member far enough behind runs alone.
			g.CatchUpAlone = uint64(20 + rng.IntN(200))
			wg.Go(func() { _ = g.Run(ctx) })
		}
		waitFor(t, "the projectors' start", func() bool { return allStarted(rs) })
		// Runners are killed when the first is past the point, so
		// they stop at different positions; a group when its last member
		// is, so that it starts members at their own.
		from := positions(rs)
		lead := slices.Max[[]uint64]
		if kill%2 == 1 {
			lead = slices.Min[[]uint64]
		}
		target := min(lead(from)+1+uint64(rng.IntN(8)), last)
		waitFor(t, "the projectors past the kill point", func() bool { return lead(positions(rs)) >= target })
		time.Sleep(time.Duration(rng.IntN(3_000)) * time.Microsecond)
		cancel()
		wg.Wait()
		if kill%2 == 1 && !slices.Equal(from, positions(rs)) {
			groupBatches++
		}
	}
	if groupBatches < 5 {
		t.Fatalf("groups committed before their kill in %d of 20 runs; the test needs more", groupBatches)
	}
	catchUpGroup(t, projections.NewGroup(interrupted, store, runners(interrupted, store, 17), quiet), last)

	_, rebuilt := pgtest.New(t)
	copyKeys(t, interrupted, rebuilt)
	catchUp(t, runners(rebuilt, store, 500), last)

	a, b := dump(t, interrupted), dump(t, rebuilt)
	if a != b {
		t.Fatalf("read models after 40 kills differ from a rebuild:\n--- interrupted\n%s\n--- rebuilt\n%s", a, b)
	}
	if !strings.Contains(b, `"COMPLETED"`) || !strings.Contains(b, `"FAILED"`) || !strings.Contains(b, `"EUR"`) ||
		!strings.Contains(b, `"user_email":"user1@example.com"`) {
		t.Fatalf("history did not exercise every status:\n%s", b)
	}
}

func TestMonthlyTotalsFollowNewestResult(t *testing.T) {
	store, _ := eventstoretest.Start(t)
	blobs, _ := blob.NewLocal(t.TempDir())
	_, pool := pgtest.New(t)
	h := commands.New(store, blobs, quiet, commands.WithPeople(personal.New(pool)))
	ctx := context.Background()
	meta := commands.Meta{Tenant: "acme"}
	res, err := h.UploadInvoice(ctx, commands.UploadInvoice{Meta: meta, Content: []byte(pdf), User: domain.User{Email: "ann@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	ok(t)(h.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: res.DocumentID, Attempt: 1}))
	ok(t)(h.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: res.DocumentID, Attempt: 1,
		Fields: domain.Fields{Date: "2026-03-04", Currency: "EUR", Total: "10.00"}}))
	ok(t)(h.RequestReprocess(ctx, commands.RequestReprocess{Meta: meta, DocumentID: res.DocumentID}))
	ok(t)(h.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: res.DocumentID, Attempt: 2,
		Fields: domain.Fields{Date: "2026-04-01", Currency: "EUR", Total: "-2.50"}}))
	last, _ := store.LastSequence(ctx)
	catchUp(t, runners(pool, store, 100), last)
	got := dump(t, pool)
	lines := slices.DeleteFunc(strings.Split(got, "\n"), func(l string) bool { return !strings.Contains(l, "user_email") })
	if len(lines) != 1 || !strings.Contains(lines[0], `"month":"2026-04"`) || !strings.Contains(lines[0], `"total":"-2.50"`) {
		t.Fatalf("monthly totals:\n%s", got)
	}
}

func TestRebuildWhenStreamIsNew(t *testing.T) {
	_, pool := pgtest.New(t)
	for round := range 2 {
		// A new embedded server: a new stream incarnation with the same name.
		store, _ := eventstoretest.Start(t)
		history(t, store, pool, 10+round)
		last, _ := store.LastSequence(context.Background())
		catchUp(t, runners(pool, store, 50), last)
		var n int
		if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM documents").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 10+round {
			t.Fatalf("round %d: %d documents, want %d (old stream's rows kept?)", round, n, 10+round)
		}
	}
}

// TestUserErasedBlanksTheUser: the event alone removes a user's name and
// address from the read models (a rebuild that read the key just before
// it was destroyed learns of the erasure this way), and leaves the
// amounts.
func TestUserErasedBlanksTheUser(t *testing.T) {
	store, _ := eventstoretest.Start(t)
	blobs, _ := blob.NewLocal(t.TempDir())
	_, pool := pgtest.New(t)
	h := commands.New(store, blobs, quiet, commands.WithPeople(personal.New(pool)))
	ctx := context.Background()
	meta := commands.Meta{Tenant: "acme"}
	var ids []string
	for _, u := range []domain.User{{Name: "Erin Gone", Email: "erin@example.com"}, {Name: "Kim Stays", Email: "kim@example.com"}} {
		res, err := h.UploadInvoice(ctx, commands.UploadInvoice{Meta: meta, Content: []byte(pdf), User: u})
		if err != nil {
			t.Fatal(err)
		}
		ok(t)(h.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: res.DocumentID, Attempt: 1,
			Fields: domain.Fields{Date: "2026-03-04", Currency: "EUR", Total: "10.00"}}))
		ids = append(ids, res.DocumentID)
	}
	history, _ := store.Load(ctx, "acme", ids[0])
	var p domain.DocumentUploaded
	_ = history[0].Decode(&p)
	e, err := domain.NewEnvelope(uuid.NewString(), "acme", p.UserID, domain.TypeUserErased, time.Now(), domain.UserErased{UserID: p.UserID})
	if err != nil {
		t.Fatal(err)
	}
	e.AggregateType = domain.AggregateUser
	last, err := store.Append(ctx, e, 0)
	if err != nil {
		t.Fatal(err)
	}
	catchUp(t, runners(pool, store, 100), last)
	got := dump(t, pool)
	if strings.Contains(got, "erin@example.com") || strings.Contains(got, "Erin Gone") {
		t.Fatalf("the erased user is still in the read models:\n%s", got)
	}
	if !strings.Contains(got, "kim@example.com") {
		t.Fatalf("the other user is gone:\n%s", got)
	}
	var name, email, userID string
	if err := pool.QueryRow(ctx, "SELECT user_name, user_email, user_id FROM documents WHERE id = $1", ids[0]).Scan(&name, &email, &userID); err != nil ||
		name != "" || email != "" || userID != p.UserID {
		t.Fatalf("the erased user's document: %q %q %q %v", name, email, userID, err)
	}
	var total string
	if err := pool.QueryRow(ctx, "SELECT sum(total)::text FROM monthly_totals").Scan(&total); err != nil || total != "20.00" {
		t.Fatalf("totals after the erasure: %s %v", total, err)
	}
}

// TestPipelinedEqualsOneByOne applies the same history twice: through the
// runners, whose statements are pipelined per batch, and event by event,
// each statement sent and answered on its own, and finds the same read
// models.
func TestPipelinedEqualsOneByOne(t *testing.T) {
	store, _ := eventstoretest.Start(t)
	_, pipelined := pgtest.New(t)
	history(t, store, pipelined, 90)
	ctx := context.Background()
	last, err := store.LastSequence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	catchUp(t, runners(pipelined, store, 64), last)

	// The second database gets the same user keys, so users open alike.
	_, oneByOne := pgtest.New(t)
	pgtest.CopyTables(t, pipelined, oneByOne, "secrets", "user_keys")
	reader, err := store.Subscribe(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	for applied := uint64(0); applied < last; {
		batch, err := reader.Next(ctx, 100, time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range batch {
			err := pgx.BeginFunc(ctx, oneByOne, func(tx pgx.Tx) error {
				for _, p := range projections.All() {
					if err := p.Apply(ctx, readmodel.New(tx), e); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			applied = e.Sequence
		}
	}
	if a, b := dump(t, pipelined), dump(t, oneByOne); a != b {
		t.Fatalf("pipelined read models differ:\n--- pipelined\n%s\n--- one by one\n%s", a, b)
	}
}
