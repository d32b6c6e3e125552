package projections_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"tally/domain"
	"tally/eventstore"
	"tally/eventstore/eventstoretest"
	"tally/migrations/pgtest"
	"tally/personal"
	"tally/projections"
)

// TestFoldedRebuildEqualsLiveProjection projects one varied stream twice:
// live, event by event with statements, and by a rebuild that folds it in
// memory and bulk-loads the rows; every column of every table must agree.
// The stream has what makes the fold's work subtle: amounts of several
// scales summed and taken away again, totals that fall to zero, results
// for an old attempt, corrections under a reprocess, deletions, restores
// and purges, duplicates, e-mail and e-receipt details, a schema-1 user
// in the clear, and a user erased (key destroyed) mid-stream who uploads
// again afterwards, under a new id.
func TestFoldedRebuildEqualsLiveProjection(t *testing.T) {
	store, _ := eventstoretest.Start(t)
	_, live := pgtest.New(t)
	ctx := context.Background()
	keys := personal.New(live)
	w := &streamWriter{t: t, store: store, keys: keys, at: time.Date(2025, 12, 30, 23, 0, 0, 123456789, time.UTC)}
	rng := rand.New(rand.NewPCG(7, 11))
	var ids []string
	for i := range 120 {
		ids = append(ids, w.document(rng, i, ids))
	}
	erased := w.erase("acme", "user1@example.com")
	for i := 120; i < 140; i++ {
		ids = append(ids, w.document(rng, i, ids))
	}
	last, err := store.LastSequence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	catchUp(t, runners(live, store, 50), last)

	_, rebuilt := pgtest.New(t)
	copyKeys(t, live, rebuilt)
	rb := &projections.Rebuild{Pool: rebuilt, Store: store, Projectors: projections.All(), Log: quiet}
	replayed, err := rb.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if replayed != last {
		t.Fatalf("rebuild stopped at %d of %d", replayed, last)
	}
	a, b := fullDump(t, live), fullDump(t, rebuilt)
	if a != b {
		la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
		for i := range min(len(la), len(lb)) {
			if la[i] != lb[i] {
				t.Fatalf("rebuilt tables differ from live projection at line %d:\nlive:    %s\nrebuilt: %s", i+1, la[i], lb[i])
			}
		}
		t.Fatalf("rebuilt tables differ from live projection: %d lines live, %d rebuilt", len(la), len(lb))
	}
	// The dump saw what the test means to compare.
	for _, want := range []string{`"tenant":"acme","status":"PROCESSING"`, `"user_email":"user2@example.com"`, `"user_email":"plain@example.com"`, `"duplicate_reason":"same_content"`,
		`"purged_at":"20`, `"status":"FAILED"`, `"lesson":{`, `"subject": "Your receipt"`, `"user_id":"` + erased + `"`,
		`"body":"invoice `, `for paper clips"`, `Flat white`, `"needs_review":true`} {
		if !strings.Contains(a, want) {
			t.Fatalf("the history lacks %s:\n%s", want, a)
		}
	}
	for _, l := range strings.Split(a, "\n") {
		if strings.Contains(l, `"user_id":"`+erased+`"`) && strings.Contains(l, "user1@example.com") {
			t.Fatalf("the erased user is still shown: %s", l)
		}
	}
	var checkpoints int
	if err := rebuilt.QueryRow(ctx, "SELECT count(*) FROM projector_checkpoints WHERE last_sequence = $1", int64(last)).Scan(&checkpoints); err != nil || checkpoints != len(projections.All()) {
		t.Fatalf("rebuilt checkpoints at the head: %d (%v)", checkpoints, err)
	}

	// A history longer than a rebuild may fold in memory is replayed
	// event by event, to the same tables.
	_, replayed2 := pgtest.New(t)
	copyKeys(t, live, replayed2)
	var log bytes.Buffer
	rb = &projections.Rebuild{Pool: replayed2, Store: store, Projectors: projections.All(),
		Log: slog.New(slog.NewTextHandler(&log, nil)), MaxFoldEvents: last - 1}
	if _, err := rb.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "replaying it event by event") {
		t.Fatalf("a history over MaxFoldEvents was folded:\n%s", log.String())
	}
	if c := fullDump(t, replayed2); c != a {
		t.Fatal("tables replayed event by event differ from the live projection")
	}
}

// fullDump renders every column of every read-model table, in key order.
func fullDump(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	return jsonRows(t, pool,
		"SELECT * FROM documents ORDER BY tenant, id",
		"SELECT * FROM document_statuses ORDER BY tenant, id",
		"SELECT * FROM status_counts ORDER BY tenant, status",
		"SELECT * FROM monthly_documents ORDER BY tenant, id",
		"SELECT * FROM monthly_totals ORDER BY tenant, user_id, month, currency",
		"SELECT * FROM learned_issuers ORDER BY tenant, key",
		"SELECT * FROM search_documents ORDER BY tenant, id")
}

// streamWriter appends documents' histories straight to the store,
// decided on the in-memory aggregate as the command handlers decide them.
type streamWriter struct {
	t     *testing.T
	store *eventstore.Store
	keys  *personal.Keys
	at    time.Time
}

func (w *streamWriter) append(tenant, id, typ string, doc *domain.Document, payload any) {
	w.t.Helper()
	w.at = w.at.Add(17*time.Minute + 333*time.Microsecond)
	e, err := domain.NewEnvelope(uuid.NewString(), tenant, id, typ, w.at, payload)
	if err != nil {
		w.t.Fatal(err)
	}
	var version uint64
	if doc != nil {
		version = doc.Version
	} else {
		e.AggregateType = domain.AggregateUser
	}
	seq, err := w.store.Append(context.Background(), e, version)
	if err != nil {
		w.t.Fatal(err)
	}
	if doc != nil {
		e.Sequence = seq
		if err := doc.Apply(e); err != nil {
			w.t.Fatal(err)
		}
	}
}

// erase destroys a user's key as erasure does and appends UserErased;
// it returns the erased id.
func (w *streamWriter) erase(tenant, email string) string {
	w.t.Helper()
	ids, err := w.keys.Erase(context.Background(), tenant, email)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, id := range ids {
		w.append(tenant, id, domain.TypeUserErased, nil, domain.UserErased{UserID: id})
	}
	return ids[0]
}

// document writes one document's history, drawn from rng.
func (w *streamWriter) document(rng *rand.Rand, i int, earlier []string) string {
	w.t.Helper()
	ctx := context.Background()
	tenant := []string{"acme", "globex"}[i%2]
	id := uuid.NewString()
	doc := &domain.Document{}
	up := domain.DocumentUploaded{Source: domain.SourceUpload, Filename: fmt.Sprintf("f%d.pdf", i), ContentType: "application/pdf",
		Size: int64(100 + i), SHA256: fmt.Sprintf("%064x", i), BlobKey: tenant + "/" + id, Attempt: 1}
	if i%4 != 3 {
		up.UploadedAt = w.at
	}
	switch {
	case i%23 == 5:
		up.User = &domain.User{Name: "Plain", Email: "plain@example.com"} // schema 1
	case i%17 == 9:
		// no user
	default:
		sealed, err := w.keys.Seal(ctx, tenant, domain.User{Name: fmt.Sprintf("User %d", i%3), Email: fmt.Sprintf("user%d@example.com", i%3)})
		if err != nil {
			w.t.Fatal(err)
		}
		up.UserID, up.UserSealed = sealed.ID, sealed.Sealed
	}
	if i%5 == 2 {
		up.Email = &domain.EmailInfo{MessageID: fmt.Sprintf("<m%d@x>", i), From: "shop@example.com", Subject: "Your receipt",
			Auth: domain.EmailAuth{DKIM: "verified"}}
	}
	if i%7 == 4 {
		up.Job = &domain.EReceiptJob{EmailHash: "ab12", Provider: "gmail", ClientUserID: "c-1"}
	}
	w.append(tenant, id, domain.TypeDocumentUploaded, doc, up)
	if i%13 == 6 && len(earlier) > 2 {
		w.append(tenant, id, domain.TypeDuplicateDetected, doc, domain.DuplicateDetected{Of: earlier[len(earlier)-2], Reason: domain.DuplicateSameContent})
	}
	amounts := []string{"12.5", "3.25", "10.00", "-1.000", "0.10", "7", "n/a", "", "1234567.891"}
	fields := func() domain.Fields {
		f := domain.Fields{Vendor: []string{"A", "B", ""}[rng.IntN(3)], Currency: []string{"EUR", "USD", ""}[rng.IntN(3)],
			Total: amounts[rng.IntN(len(amounts))], InvoiceNumber: []string{"", "INV-2026-001"}[rng.IntN(2)]}
		if rng.IntN(4) == 0 {
			f.LineItems = []domain.LineItem{{Description: "Flat white"}}
		}
		if rng.IntN(3) > 0 {
			f.Date = fmt.Sprintf("2026-%02d-%02d", 1+rng.IntN(3), 1+rng.IntN(28))
		}
		if f.Vendor != "" {
			// What the generic engine adds, so that corrections teach.
			f.Issuer = &domain.IssuerProfile{Keys: []string{"name:" + strings.ToLower(f.Vendor) + "vendor"},
				Amounts: []domain.LabelledValue{{Label: "total", Value: f.Total}}}
		}
		return f
	}
	step := func(typ string, payload any, err error) bool {
		if err != nil {
			return false
		}
		w.append(tenant, id, typ, doc, payload)
		return true
	}
	if rng.IntN(10) == 0 {
		return id // stays PENDING
	}
	p, err := doc.DecideStart(doc.Attempt, "w")
	step(domain.TypeExtractionStarted, p, err)
	switch rng.IntN(10) {
	case 0:
		return id // stays PROCESSING
	case 1:
		step(domain.TypeExtractionFailed, domain.ExtractionFailed{Attempt: doc.Attempt, Reason: []string{"", "unreadable"}[rng.IntN(2)]},
			doc.DecideResult(doc.Attempt))
		if rng.IntN(2) == 0 {
			p, err := doc.DecideReprocess(domain.ReasonReprocess)
			step(domain.TypeExtractionRequested, p, err)
		}
		return id
	}
	// The result's text: sealed with the user's key where the upload
	// names a sealed user, in the clear otherwise (no user, or a result
	// written before texts were sealed), a NUL byte now and then.
	resultText := func() domain.ResultText {
		body := fmt.Sprintf("invoice %d for %s", i, []string{"coffee", "paper\x00clips", "rent"}[rng.IntN(3)])
		if up.UserID == "" {
			return domain.ResultText{Text: body}
		}
		sealed, err := w.keys.SealPrivate(ctx, tenant, up.UserID, domain.Private{Text: body})
		if err != nil {
			w.t.Fatal(err)
		}
		return domain.ResultText{UserID: up.UserID, PrivateSealed: sealed}
	}
	if err := doc.DecideResult(doc.Attempt); err == nil {
		typ, p := doc.ResultEventWithText(doc.Attempt, fields(), resultText())
		step(typ, p, nil)
	}
	for range rng.IntN(4) {
		switch rng.IntN(6) {
		case 0:
			p, err := doc.DecideCorrect(domain.Fields{Total: amounts[rng.IntN(len(amounts))], Vendor: "Fixed"})
			step(domain.TypeDocumentCorrected, p, err)
		case 1:
			old := doc.Attempt
			p, err := doc.DecideReprocess(domain.ReasonReprocess)
			if step(domain.TypeExtractionRequested, p, err) {
				// A late result of the old attempt changes nothing.
				step(domain.TypeReceiptExtracted, domain.ReceiptExtracted{Attempt: old, Fields: fields()}, nil)
				p, err := doc.DecideStart(doc.Attempt, "w")
				step(domain.TypeExtractionStarted, p, err)
				if err := doc.DecideResult(doc.Attempt); err == nil {
					typ, p := doc.ResultEventWithText(doc.Attempt, fields(), resultText())
					step(typ, p, nil)
				}
			}
		case 2:
			p, err := doc.DecideDelete("", w.at.Add(time.Hour))
			step(domain.TypeDocumentDeleted, p, err)
		case 3:
			p, err := doc.DecideRestore(w.at)
			step(domain.TypeDocumentRestored, p, err)
		case 4:
			p, err := doc.DecidePurge(w.at.Add(2 * time.Hour))
			step(domain.TypeDocumentPurged, p, err)
		case 5:
			step(domain.TypeDuplicateDetected, domain.DuplicateDetected{Of: id, Reason: domain.DuplicateSameContent}, nil)
		}
	}
	return id
}
