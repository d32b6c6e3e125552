package worker

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"tally/blob"
	"tally/commands"
	"tally/domain"
	"tally/eventstore"
	"tally/eventstore/eventstoretest"
	"tally/extract"
	"tally/metrics"
	"tally/migrations/pgtest"
	"tally/personal"
	"tally/queue"
)

// stores are the real stores a worker test runs on.
type stores struct {
	events *eventstore.Store
	pool   *pgxpool.Pool
	blobs  blob.Store
	log    *slog.Logger
	cmds   *commands.Handler
}

func newStores(t *testing.T) stores {
	t.Helper()
	events, _ := eventstoretest.Start(t)
	_, pool := pgtest.New(t)
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	return stores{events: events, pool: pool, blobs: blobs, log: log,
		cmds: commands.New(events, blobs, log, commands.WithPeople(personal.New(pool)))}
}

func receipt(total string) []byte {
	return []byte(fmt.Sprintf("From: Shop <orders@shop.test>\r\nTo: ann@example.com\r\nSubject: Your receipt\r\n"+
		"Date: Mon, 02 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%s@shop.test>\r\nContent-Type: text/plain\r\n\r\nThank you.\r\nTotal: %s EUR\r\n", total, total))
}

// A job message on the broker names a tenant, a document and a blob key.
// Only the document's own events may say which file it is: a forged or
// mistaken message used to make another tenant's file this document's
// fields.
func TestJobNamingAnotherDocumentsFileIsRefused(t *testing.T) {
	ctx := context.Background()
	s := newStores(t)
	blobs, log, cmds := s.blobs, s.log, s.cmds
	upload := func(tenant, total string) commands.Result {
		res, err := cmds.SubmitEmailReceipt(ctx, commands.SubmitEmailReceipt{Meta: commands.Meta{Tenant: tenant}, Raw: receipt(total)})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	secret := upload("acme", "99.99")
	mine := upload("evil", "12.50")
	w := New(Config{Name: "w1", MaxAttempts: 1, Timeout: 20 * time.Second}, cmds, blobs, extract.New(extract.Limits{}), metrics.New(), log)

	forged := []queue.Job{
		// evil's document, acme's file.
		{Tenant: "evil", DocumentID: mine.DocumentID, Attempt: 1, BlobKey: secret.BlobKey, ContentType: "message/rfc822"},
		// acme's document under evil's name.
		{Tenant: "evil", DocumentID: secret.DocumentID, Attempt: 1, BlobKey: secret.BlobKey, ContentType: "message/rfc822"},
	}
	for _, job := range forged {
		if got := w.run(ctx, job, log); got != metrics.OutcomeSkipped {
			t.Fatalf("forged job %+v: outcome %s, want skipped", job, got)
		}
	}
	doc, err := cmds.Documents().Load(ctx, "evil", mine.DocumentID)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Status != domain.StatusPending || doc.Fields != nil {
		t.Fatalf("after the forged jobs evil's document is %s with %+v", doc.Status, doc.Fields)
	}
	// The genuine job still works, on the document's own file.
	job := queue.Job{Tenant: "evil", DocumentID: mine.DocumentID, Attempt: 1, BlobKey: mine.BlobKey, ContentType: "message/rfc822"}
	if got := w.run(ctx, job, log); got != metrics.OutcomeCompleted {
		t.Fatalf("genuine job: %s", got)
	}
	doc, err = cmds.Documents().Load(ctx, "evil", mine.DocumentID)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Fields == nil || doc.Fields.Total != "12.50" {
		t.Fatalf("fields %+v, want the total of evil's own file", doc.Fields)
	}
}
