package backup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"tally/apikeys"
	"tally/backup"
	"tally/blob"
	"tally/commands"
	"tally/domain"
	"tally/eventstore"
	"tally/eventstore/eventstoretest"
	"tally/migrations/pgtest"
	"tally/personal"
	"tally/projections"
	"tally/webhooks"
)

const pdf = "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

var quiet = slog.New(slog.DiscardHandler)

// readModels are the tables a restore rebuilds.
func readModels() []string {
	var tables []string
	for _, p := range projections.All() {
		tables = append(tables, p.Tables()...)
	}
	return tables
}

// TestRestoreShowsTheSameDocuments backs up a history, restores it into a
// new database and a new JetStream, rebuilds the read models there, and
// compares documents, totals, histories, keys and webhooks.
func TestRestoreShowsTheSameDocuments(t *testing.T) {
	ctx := context.Background()
	store, _ := eventstoretest.Start(t)
	_, pool := pgtest.New(t)
	key, err := apikeys.New(pool).Create(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	hooks, err := webhooks.Open(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := hooks.Create(ctx, "acme", webhooks.EndpointSpec{URL: "https://hooks.example.com/tally",
		Events: webhooks.EventTypes()}); err != nil {
		t.Fatal(err)
	}
	files, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ids := history(t, store, pool, files, 40)
	// Two webhook deliveries (an identity column): the dispatcher stores
	// one per completed or failed document of the tenant.
	dispatcher := &webhooks.Dispatcher{Events: store, Store: hooks, Log: quiet}
	delivered := 0
	for seq := uint64(1); delivered < 2; seq++ {
		e, err := store.At(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		n, err := dispatcher.Handle(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		delivered += n
	}
	rebuild(t, pool, store)

	// A durable subscriber that has taken the first ten events.
	durable, err := store.Durable(ctx, "notifier", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ackFirst(t, durable, 10)

	dir := filepath.Join(t.TempDir(), "backup")
	m, err := backup.Write(ctx, dir, backup.Source{Pool: pool, Events: store, ReadModels: readModels(), Version: "test", Files: files})
	if err != nil {
		t.Fatal(err)
	}
	// Every document's file, less the ones purged.
	if m.Files == nil || m.Files.Count != len(ids)-1 || len(m.Files.Missing) != 0 {
		t.Fatalf("files in the backup: %+v, want %d", m.Files, len(ids)-1)
	}
	var names []string
	for _, tb := range m.Tables {
		names = append(names, tb.Name)
	}
	// A new table is either a read model (a projector's Tables) or data
	// a backup must keep; this list makes the choice visible.
	want := []string{"account_tokens", "accounts", "api_keys", "ereceipt_config", "ereceipt_retailers",
		"forwarding_addresses", "forwarding_senders", "mailbox_links", "mailbox_seen", "notification_preferences",
		"secrets", "template_bundles", "user_keys", "webhook_endpoints", "webhook_deliveries", "webhook_attempts"}
	if a, b := slices.Sorted(slices.Values(names)), slices.Sorted(slices.Values(want)); !slices.Equal(a, b) {
		t.Fatalf("backed-up tables %v, want %v: a new table is data a backup keeps (add it to want) or a read model (list it in its projector's Tables())", a, b)
	}
	if slices.Index(names, "webhook_endpoints") > slices.Index(names, "webhook_deliveries") {
		t.Fatalf("tables not in foreign-key order: %v", names)
	}

	// Restore into an empty database, a fresh JetStream and an empty
	// blob store of the other kind: S3 (an in-process S3 server).
	restored, _ := eventstoretest.Start(t)
	_, fresh := pgtest.New(t)
	version := schemaVersion(t, fresh)
	bucket := emptyS3(t)
	if _, err := backup.Restore(ctx, dir, backup.Target{Pool: fresh, Events: restored, SchemaVersion: version, Files: bucket}); err != nil {
		t.Fatal(err)
	}
	rebuild(t, fresh, restored)

	// Each document's file reads back byte for byte; the purged one's is
	// gone as it was.
	for i, id := range ids {
		d, err := commands.NewDocuments(restored, quiet).Load(ctx, id.tenant, id.id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := readBlob(ctx, bucket, d.BlobKey)
		if i == purged {
			if !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("the purged document's file: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("document %d's file after restore: %v", i, err)
		}
		if want := content(i); !bytes.Equal(got, want) {
			t.Fatalf("document %d's file after restore: %d bytes %q, want %q", i, len(got), got, want)
		}
	}

	if a, b := dump(t, pool), dump(t, fresh); a != b {
		t.Fatalf("restored read models differ:\n--- original\n%s\n--- restored\n%s", a, b)
	}
	for _, table := range names {
		q := "SELECT * FROM " + pgx.Identifier{table}.Sanitize() + " ORDER BY 1"
		if a, b := jsonRows(t, pool, q), jsonRows(t, fresh, q); a != b {
			t.Fatalf("table %s differs:\n--- original\n%s\n--- restored\n%s", table, a, b)
		}
	}
	for _, id := range ids {
		a, err := store.Load(ctx, id.tenant, id.id)
		if err != nil {
			t.Fatal(err)
		}
		b, err := restored.Load(ctx, id.tenant, id.id)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("history of %s differs:\n%v\n%v", id.id, a, b)
		}
	}
	if tenant, err := apikeys.New(fresh).Tenant(ctx, key); err != nil || tenant != "acme" {
		t.Fatalf("the API key after restore: tenant %q, %v", tenant, err)
	}
	// Identity columns go on after the restored rows.
	var next, max int64
	if err := fresh.QueryRow(ctx, "SELECT nextval(pg_get_serial_sequence('webhook_deliveries', 'id')), (SELECT max(id) FROM webhook_deliveries)").
		Scan(&next, &max); err != nil || next <= max {
		t.Fatalf("webhook_deliveries id sequence at %d after rows up to %d (%v)", next, max, err)
	}
	// The durable subscriber resumes after what it had taken.
	again, err := restored.Durable(ctx, "notifier", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if seq := nextSequence(t, again); seq != 11 {
		t.Fatalf("restored subscriber resumes at %d, want 11", seq)
	}

	// A second restore finds the stream and the tables taken.
	if _, err := backup.Restore(ctx, dir, backup.Target{Pool: fresh, Events: restored, SchemaVersion: version}); err == nil ||
		!strings.Contains(err.Error(), "not empty") {
		t.Fatalf("restore into a used database: %v", err)
	}
}

func TestRestoreRefusesAChangedFile(t *testing.T) {
	ctx := context.Background()
	store, _ := eventstoretest.Start(t)
	_, pool := pgtest.New(t)
	files, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	history(t, store, pool, files, 3)
	dir := filepath.Join(t.TempDir(), "backup")
	if _, err := backup.Write(ctx, dir, backup.Source{Pool: pool, Events: store, ReadModels: readModels()}); err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Write(ctx, dir, backup.Source{Pool: pool, Events: store, ReadModels: readModels()}); err == nil {
		t.Fatal("a second backup into the same directory was accepted")
	}
	f, err := os.OpenFile(filepath.Join(dir, backup.EventsFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write([]byte("x"))
	f.Close()

	restored, _ := eventstoretest.Start(t)
	_, fresh := pgtest.New(t)
	_, err = backup.Restore(ctx, dir, backup.Target{Pool: fresh, Events: restored, SchemaVersion: schemaVersion(t, fresh)})
	if err == nil || !strings.Contains(err.Error(), "events.jsonl.gz") {
		t.Fatalf("restore of a changed backup: %v", err)
	}
	var keys int
	if err := fresh.QueryRow(ctx, "SELECT count(*) FROM user_keys").Scan(&keys); err != nil || keys != 0 {
		t.Fatalf("a failed restore left %d user keys (%v)", keys, err)
	}

	if err := os.Remove(filepath.Join(dir, backup.ManifestFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := backup.ReadManifest(dir); err == nil || !strings.Contains(err.Error(), "not a backup") {
		t.Fatalf("a backup without manifest: %v", err)
	}
}

type docID struct{ tenant, id string }

// purged is the document of history whose file is purged.
const purged = 7

// content is the file of history's document i: each its own.
func content(i int) []byte { return fmt.Appendf([]byte(pdf), "%% document %d\n", i) }

// history writes uploads of several users in two tenants, extracted,
// failed, corrected, reprocessed, deleted, and one purged.
func history(t *testing.T, store *eventstore.Store, pool *pgxpool.Pool, blobs blob.Store, docs int) []docID {
	t.Helper()
	h := commands.New(store, blobs, quiet, commands.WithPeople(personal.New(pool)))
	ctx := context.Background()
	var ids []docID
	for i := range docs {
		meta := commands.Meta{Tenant: []string{"acme", "globex"}[i%2]}
		res, err := h.UploadInvoice(ctx, commands.UploadInvoice{Meta: meta, Source: domain.SourceUpload, Filename: "f.pdf",
			Content: content(i), User: domain.User{Name: "U", Email: fmt.Sprintf("user%d@example.com", i%3)}})
		if err != nil {
			t.Fatal(err)
		}
		id := res.DocumentID
		ids = append(ids, docID{meta.Tenant, id})
		if i%5 == 4 {
			continue
		}
		ok(t)(h.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: id, Attempt: 1}))
		if i%7 == 3 {
			ok(t)(h.FailExtraction(ctx, commands.FailExtraction{Meta: meta, DocumentID: id, Attempt: 1, Reason: "unreadable"}))
			continue
		}
		f := domain.Fields{Vendor: "V", Currency: []string{"EUR", "USD"}[i%2], Total: fmt.Sprintf("%d.%02d", 10+i, i),
			Date: fmt.Sprintf("2026-%02d-%02d", 1+i%12, 1+i%28)}
		ok(t)(h.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: id, Attempt: 1, Fields: f}))
		if i%9 == 2 {
			ok(t)(h.CorrectDocument(ctx, commands.CorrectDocument{Meta: meta, DocumentID: id,
				Fields: domain.Fields{Total: "3.33", Vendor: "Corrected"}}))
		}
		if i%6 == 1 {
			ok(t)(h.RequestReprocess(ctx, commands.RequestReprocess{Meta: meta, DocumentID: id}))
			ok(t)(h.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: id, Attempt: 2}))
			f.Total = "1.01"
			ok(t)(h.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: id, Attempt: 2, Fields: f}))
		}
		if i%10 == 7 {
			grace := time.Hour
			if i == purged {
				grace = time.Nanosecond
			}
			ok(t)(h.DeleteDocument(ctx, commands.DeleteDocument{Meta: meta, DocumentID: id, Grace: grace}))
		}
		if i == purged {
			ok(t)(h.PurgeDocument(ctx, meta, id))
		}
	}
	return ids
}

func ok(t *testing.T) func(commands.Result, error) {
	return func(_ commands.Result, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func rebuild(t *testing.T, pool *pgxpool.Pool, store *eventstore.Store) {
	t.Helper()
	rb := &projections.Rebuild{Pool: pool, Store: store, Projectors: projections.All(), Log: quiet}
	if _, err := rb.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func schemaVersion(t *testing.T, pool *pgxpool.Pool) int64 {
	t.Helper()
	var v int64
	if err := pool.QueryRow(context.Background(), "SELECT max(version_id) FROM goose_db_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func dump(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	return jsonRows(t, pool,
		"SELECT tenant, id, status, attempt, fields, total::text, vendor, document_date, currency, failure_reason, last_sequence, user_email FROM documents ORDER BY tenant, id",
		"SELECT tenant, status, count FROM status_counts WHERE count > 0 ORDER BY tenant, status",
		"SELECT tenant, user_email, month, currency, total::text, documents FROM monthly_totals ORDER BY 1, 2, 3, 4")
}

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

// ackFirst acknowledges the first n events of a durable subscriber.
func ackFirst(t *testing.T, d *eventstore.Durable, n int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	taken := 0
	done := make(chan struct{})
	go func() {
		_ = d.Run(ctx, func(ctx context.Context, del eventstore.Delivery) {
			if taken >= n {
				return
			}
			if err := del.Ack(ctx); err != nil {
				t.Error(err)
			}
			if taken++; taken == n {
				close(done)
			}
		})
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the subscriber took no events")
	}
}

// nextSequence is the sequence of the next event a durable subscriber gets.
func nextSequence(t *testing.T, d *eventstore.Durable) uint64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan uint64, 1)
	go func() {
		_ = d.Run(ctx, func(ctx context.Context, del eventstore.Delivery) {
			select {
			case got <- del.Event.Sequence:
			default:
			}
		})
	}()
	select {
	case seq := <-got:
		return seq
	case <-time.After(30 * time.Second):
		t.Fatal("the restored subscriber got no event")
	}
	return 0
}

// emptyS3 is an empty bucket on an S3 server in this process.
func emptyS3(t *testing.T) *blob.S3 {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	s, err := blob.NewS3(t.Context(), blob.S3Config{Bucket: "restored", Region: "us-east-1", Endpoint: srv.URL,
		AccessKeyID: "test", SecretAccessKey: "test", UsePathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureBucket(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func readBlob(ctx context.Context, store blob.Store, key string) ([]byte, error) {
	r, err := store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// TestUploadedFilesInABackup: a file the blob store lost is named in the
// manifest, not a failed backup; a file changed in the backup stops the
// restore before the database or the stream take anything.
func TestUploadedFilesInABackup(t *testing.T) {
	ctx := context.Background()
	store, _ := eventstoretest.Start(t)
	_, pool := pgtest.New(t)
	files, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ids := history(t, store, pool, files, 3)
	lost, err := commands.NewDocuments(store, quiet).Load(ctx, ids[0].tenant, ids[0].id)
	if err != nil {
		t.Fatal(err)
	}
	if err := files.Delete(ctx, lost.BlobKey); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "backup")
	m, err := backup.Write(ctx, dir, backup.Source{Pool: pool, Events: store, ReadModels: readModels(), Files: files})
	if err != nil {
		t.Fatal(err)
	}
	if m.Files.Count != 2 || !slices.Equal(m.Files.Missing, []string{lost.BlobKey}) {
		t.Fatalf("files %+v, want 2 and the lost one missing", m.Files)
	}
	kept, err := commands.NewDocuments(store, quiet).Load(ctx, ids[1].tenant, ids[1].id)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "files", filepath.FromSlash(kept.BlobKey)), []byte("%PDF-1.4 other"), 0o600); err != nil {
		t.Fatal(err)
	}
	restored, _ := eventstoretest.Start(t)
	_, fresh := pgtest.New(t)
	_, err = backup.Restore(ctx, dir, backup.Target{Pool: fresh, Events: restored, SchemaVersion: schemaVersion(t, fresh), Files: emptyS3(t)})
	if err == nil || !strings.Contains(err.Error(), kept.BlobKey) || !strings.Contains(err.Error(), "changed since the backup") {
		t.Fatalf("restore of a changed file: %v", err)
	}
	if last, err := restored.LastSequence(ctx); err != nil || last != 0 {
		t.Fatalf("a refused restore left %d events (%v)", last, err)
	}
}
