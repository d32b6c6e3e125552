package projections_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tally/domain"
	"tally/eventstore/eventstoretest"
	"tally/migrations/pgtest"
	"tally/projections"
	"tally/readmodel"
)

// statusCountsByReads is StatusCounts as it was written before its
// statement became one: read the document's status, then decide in Go.
// It is kept as the reference the single statement must agree with.
type statusCountsByReads struct{ projections.StatusCounts }

func (statusCountsByReads) Apply(ctx context.Context, q *readmodel.Queries, e domain.Envelope) error {
	id, err := uuid.Parse(e.AggregateID)
	if err != nil {
		return nil
	}
	next, moves := domain.StatusAfter(e.Type)
	deletes := e.Type == domain.TypeDocumentDeleted || e.Type == domain.TypeDocumentRestored
	if !moves && !deletes {
		return nil
	}
	prev, err := q.GetDocumentStatus(ctx, readmodel.GetDocumentStatusParams{Tenant: e.Tenant, ID: id})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if e.Type != domain.TypeDocumentUploaded {
			return nil
		}
	case err != nil:
		return err
	}
	add := func(status string, delta int64) error {
		return q.AddStatusCount(ctx, readmodel.AddStatusCountParams{Tenant: e.Tenant, Status: status, Delta: delta})
	}
	if deletes {
		deleted := e.Type == domain.TypeDocumentDeleted
		if prev.Deleted == deleted {
			return nil
		}
		delta := int64(1)
		if deleted {
			delta = -1
		}
		if err := add(prev.Status, delta); err != nil {
			return err
		}
		return q.SetDocumentDeleted(ctx, readmodel.SetDocumentDeletedParams{Tenant: e.Tenant, ID: id, Deleted: deleted})
	}
	if prev.Status == string(next) {
		return nil
	}
	if !prev.Deleted {
		if prev.Status != "" {
			if err := add(prev.Status, -1); err != nil {
				return err
			}
		}
		if err := add(string(next), 1); err != nil {
			return err
		}
	}
	return q.SetDocumentStatus(ctx, readmodel.SetDocumentStatusParams{Tenant: e.Tenant, ID: id, Status: string(next)})
}

// TestStatusCountsAgreeWithReadingVersion applies the mixed history and a
// run of odd orders (events of documents never uploaded, a second upload,
// a restore of what is not deleted, moves of a deleted document, a delete
// twice) both ways, event by event, and compares both tables, zero counts
// included.
func TestStatusCountsAgreeWithReadingVersion(t *testing.T) {
	store, _ := eventstoretest.Start(t)
	_, keys := pgtest.New(t) // status counts need no users; uploads still seal them
	history(t, store, keys, 120)
	ctx := context.Background()
	reader, err := store.Subscribe(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	last, _ := store.LastSequence(ctx)
	var events []domain.Envelope
	for uint64(len(events)) < last {
		batch, err := reader.Next(ctx, 500, time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, batch...)
	}
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	odd := func(doc, typ string, payload any) {
		e, err := domain.NewEnvelope(uuid.NewString(), "odd", doc, typ, at, payload)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	a, b, c := uuid.NewString(), uuid.NewString(), uuid.NewString()
	up := domain.DocumentUploaded{Attempt: 1, UploadedAt: at}
	odd(c, domain.TypeExtractionStarted, domain.ExtractionStarted{Attempt: 1})
	odd(c, domain.TypeDocumentDeleted, domain.DocumentDeleted{PurgeAfter: at})
	odd(c, domain.TypeDocumentRestored, domain.DocumentRestored{})
	odd(a, domain.TypeDocumentUploaded, up)
	odd(a, domain.TypeDocumentUploaded, up)
	odd(a, domain.TypeDocumentRestored, domain.DocumentRestored{})
	odd(a, domain.TypeExtractionStarted, domain.ExtractionStarted{Attempt: 1})
	odd(a, domain.TypeDocumentDeleted, domain.DocumentDeleted{PurgeAfter: at})
	odd(a, domain.TypeDocumentDeleted, domain.DocumentDeleted{PurgeAfter: at})
	odd(a, domain.TypeExtractionFailed, domain.ExtractionFailed{Attempt: 1})
	odd(a, domain.TypeExtractionRequested, domain.ExtractionRequested{Attempt: 2})
	odd(a, domain.TypeDocumentRestored, domain.DocumentRestored{})
	odd(a, domain.TypeReceiptExtracted, domain.ReceiptExtracted{Attempt: 2})
	odd(b, domain.TypeDocumentUploaded, up)
	odd(b, domain.TypeDocumentDeleted, domain.DocumentDeleted{PurgeAfter: at})
	odd(b, domain.TypeDocumentUploaded, up)
	odd(b, domain.TypeExtractionStarted, domain.ExtractionStarted{Attempt: 1})
	odd(b, domain.TypeReceiptExtracted, domain.ReceiptExtracted{Attempt: 1})
	odd(b, domain.TypeDocumentRestored, domain.DocumentRestored{})
	odd(b, domain.TypeDocumentPurged, domain.DocumentPurged{})
	odd("not-a-uuid", domain.TypeDocumentUploaded, up)

	apply := func(p projections.Projector) *pgxpool.Pool {
		_, pool := pgtest.New(t)
		for _, e := range events {
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return p.Apply(ctx, readmodel.New(tx), e) })
			if err != nil {
				t.Fatalf("%T: apply %s: %v", p, e.Type, err)
			}
		}
		return pool
	}
	got, want := tables(t, apply(projections.StatusCounts{})), tables(t, apply(statusCountsByReads{}))
	if got != want {
		t.Fatalf("status counts differ from the reading version:\n--- one statement\n%s\n--- reading\n%s", got, want)
	}
	for _, s := range []string{`"status":"FAILED"`, `"deleted":true`, `"tenant":"odd"`} {
		if !strings.Contains(want, s) {
			t.Fatalf("cases did not reach %s:\n%s", s, want)
		}
	}
}

// tables renders status_counts (zero rows too) and document_statuses.
func tables(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	return jsonRows(t, pool,
		"SELECT tenant, status, count FROM status_counts ORDER BY tenant, status",
		"SELECT tenant, id, status, deleted FROM document_statuses ORDER BY tenant, id")
}
