package commands_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"tally/blob"
	"tally/commands"
	"tally/domain"
	"tally/eventstore"
	"tally/eventstore/eventstoretest"
	"tally/migrations/pgtest"
	"tally/personal"
)

const pdf = "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

func setup(t *testing.T) (*commands.Handler, *eventstore.Store, blob.Store) {
	t.Helper()
	h, store, blobs, _ := setupWithKeys(t)
	return h, store, blobs
}

// setupWithKeys also returns the user keys uploads seal users with.
func setupWithKeys(t *testing.T) (*commands.Handler, *eventstore.Store, blob.Store, *personal.Keys) {
	t.Helper()
	store, _ := eventstoretest.Start(t)
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, pool := pgtest.New(t)
	keys := personal.New(pool)
	return commands.New(store, blobs, slog.New(slog.DiscardHandler), commands.WithPeople(keys)), store, blobs, keys
}

func upload(t *testing.T, h *commands.Handler, commandID string) commands.Result {
	t.Helper()
	res, err := h.UploadInvoice(context.Background(), commands.UploadInvoice{
		Meta: commands.Meta{Tenant: "acme", CommandID: commandID}, Source: domain.SourceUpload,
		Filename: "../../inv.pdf", Content: []byte(pdf), User: domain.User{Name: "Ann", Email: "Ann@Example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestUploadStoresBlobThenOneEvent(t *testing.T) {
	h, store, blobs, keys := setupWithKeys(t)
	ctx := context.Background()
	res := upload(t, h, "")
	if res.Status != domain.StatusPending || res.Attempt != 1 {
		t.Fatalf("result %+v", res)
	}
	r, err := blobs.Get(ctx, res.BlobKey)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if string(got) != pdf {
		t.Fatal("stored blob differs from upload")
	}
	history, _ := store.Load(ctx, "acme", res.DocumentID)
	if len(history) != 1 || history[0].Type != domain.TypeDocumentUploaded {
		t.Fatalf("history %+v", history)
	}
	var p domain.DocumentUploaded
	if err := history[0].Decode(&p); err != nil {
		t.Fatal(err)
	}
	shown, owner, err := personal.OpenUpload(ctx, keys, "acme", p)
	if err != nil {
		t.Fatal(err)
	}
	if shown.Filename != "inv.pdf" || owner.User != (domain.User{Name: "Ann", Email: "ann@example.com"}) || owner.ID != p.UserID ||
		p.ContentType != "application/pdf" || p.SHA256 == "" || history[0].SchemaVersion != 3 {
		t.Fatalf("payload %+v, user %+v", p, owner)
	}
	for _, clear := range []string{"ann@example.com", `"Ann"`, "inv.pdf"} {
		if p.User != nil || strings.Contains(string(history[0].Data), clear) {
			t.Fatalf("%s is in the clear: %s", clear, history[0].Data)
		}
	}
}

// TestXMLUploadKeepsItsExtension: an e-invoice uploaded without a name
// is stored and shown as an .xml file, like the other types.
func TestXMLUploadKeepsItsExtension(t *testing.T) {
	h, store, _, keys := setupWithKeys(t)
	ctx := context.Background()
	xml, err := os.ReadFile(filepath.Join("..", "einvoice", "testdata", "peppol-invoice.xml"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.UploadInvoice(ctx, commands.UploadInvoice{Meta: commands.Meta{Tenant: "acme"}, Source: domain.SourceUpload,
		Content: xml, User: domain.User{Name: "Ann", Email: "ann@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(res.BlobKey, ".xml") {
		t.Errorf("blob key %s, want an .xml file", res.BlobKey)
	}
	history, _ := store.Load(ctx, "acme", res.DocumentID)
	var p domain.DocumentUploaded
	if err := history[0].Decode(&p); err != nil {
		t.Fatal(err)
	}
	if p, _, err = personal.OpenUpload(ctx, keys, "acme", p); err != nil {
		t.Fatal(err)
	}
	if p.Filename != "document.xml" || p.ContentType != "application/xml" {
		t.Errorf("filename %q, type %q", p.Filename, p.ContentType)
	}
}

func TestUploadWithSameCommandIDIsIdempotent(t *testing.T) {
	h, store, _ := setup(t)
	first := upload(t, h, "key-1")
	var wg sync.WaitGroup
	results := make([]commands.Result, 8)
	for i := range results {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = upload(t, h, "key-1") }()
	}
	wg.Wait()
	for _, r := range results {
		if r.DocumentID != first.DocumentID || !r.Replayed || r.Sequence != first.Sequence {
			t.Fatalf("retry %+v differs from first %+v", r, first)
		}
	}
	history, _ := store.Load(context.Background(), "acme", first.DocumentID)
	if len(history) != 1 {
		t.Fatalf("%d events for one idempotent upload", len(history))
	}
	// Another tenant with the same key gets its own document.
	other, err := h.UploadInvoice(context.Background(), commands.UploadInvoice{
		Meta: commands.Meta{Tenant: "globex", CommandID: "key-1"}, Content: []byte(pdf), User: domain.User{Email: "b@example.com"}})
	if err != nil || other.DocumentID == first.DocumentID {
		t.Fatalf("other tenant: %+v %v", other, err)
	}
}

type downStore struct{ blob.Store }

func (downStore) Put(context.Context, string, io.Reader, int64, string) error {
	return errors.New("connection refused")
}

func TestUploadWithBlobStoreDownAppendsNothing(t *testing.T) {
	store, _ := eventstoretest.Start(t)
	h := commands.New(store, downStore{}, slog.New(slog.DiscardHandler))
	_, err := h.UploadInvoice(context.Background(), commands.UploadInvoice{
		Meta: commands.Meta{Tenant: "acme"}, Content: []byte(pdf), User: domain.User{Email: "a@example.com"}})
	if !errors.Is(err, commands.ErrBlobStore) {
		t.Fatalf("err = %v, want ErrBlobStore", err)
	}
	if last, _ := store.LastSequence(context.Background()); last != 0 {
		t.Fatalf("stream has %d events after a failed upload", last)
	}
}

func TestUploadRejectsBadInput(t *testing.T) {
	h, _, _ := setup(t)
	for name, cmd := range map[string]commands.UploadInvoice{
		"not a pdf":  {Meta: commands.Meta{Tenant: "acme"}, Content: []byte("hello"), User: domain.User{Email: "a@example.com"}},
		"empty":      {Meta: commands.Meta{Tenant: "acme"}, User: domain.User{Email: "a@example.com"}},
		"bad email":  {Meta: commands.Meta{Tenant: "acme"}, Content: []byte(pdf), User: domain.User{Email: "nobody"}},
		"bad tenant": {Meta: commands.Meta{Tenant: "a.b"}, Content: []byte(pdf), User: domain.User{Email: "a@example.com"}},
		"reserved":   {Meta: commands.Meta{Tenant: "system"}, Content: []byte(pdf), User: domain.User{Email: "a@example.com"}},
	} {
		if _, err := h.UploadInvoice(context.Background(), cmd); !errors.Is(err, commands.ErrInvalidInput) {
			t.Errorf("%s: err = %v, want ErrInvalidInput", name, err)
		}
	}
}

func TestEmailReceiptUserFromTo(t *testing.T) {
	h, store, _, keys := setupWithKeys(t)
	raw := "From: Shop <orders@shop.example>\r\nTo: Bob <bob@example.com>\r\nSubject: Receipt\r\n\r\nTotal: 9.99 EUR\r\n"
	res, err := h.SubmitEmailReceipt(context.Background(), commands.SubmitEmailReceipt{Meta: commands.Meta{Tenant: "acme"}, Raw: []byte(raw)})
	if err != nil {
		t.Fatal(err)
	}
	history, _ := store.Load(context.Background(), "acme", res.DocumentID)
	var p domain.DocumentUploaded
	_ = history[0].Decode(&p)
	owner, err := keys.Open(context.Background(), "acme", p.Owner())
	if err != nil || owner.User != (domain.User{Name: "Bob", Email: "bob@example.com"}) || p.Source != domain.SourceEmail || p.ContentType != "message/rfc822" {
		t.Fatalf("payload %+v, user %+v, %v", p, owner, err)
	}
	if p.User != nil || strings.Contains(string(history[0].Data), "bob@example.com") {
		t.Fatalf("the user is in the clear: %s", history[0].Data)
	}
	if _, err := h.SubmitEmailReceipt(context.Background(), commands.SubmitEmailReceipt{Meta: commands.Meta{Tenant: "acme"}, Raw: []byte("From: a@b.example\r\n\r\nno recipient")}); !errors.Is(err, commands.ErrInvalidInput) {
		t.Fatalf("e-mail without any user: %v", err)
	}
}

func TestExtractionLifecycleAndDuplicates(t *testing.T) {
	h, store, _ := setup(t)
	ctx := context.Background()
	doc := upload(t, h, "")
	meta := commands.Meta{Tenant: "acme"}

	// Ten workers take the same job at once: one ExtractionStarted.
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: doc.DocumentID, Attempt: 1}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	fields := domain.Fields{Vendor: "ACME", Date: "2026-10-03", Currency: "EUR", Total: "12.50"}
	res, err := h.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: doc.DocumentID, Attempt: 1, Fields: fields})
	if err != nil || res.Status != domain.StatusCompleted {
		t.Fatalf("record: %+v %v", res, err)
	}
	// The same result again (a redelivered job) and a late failure of the
	// same attempt change nothing.
	again, err := h.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: doc.DocumentID, Attempt: 1, Fields: fields})
	if err != nil || !again.Replayed {
		t.Fatalf("second record: %+v %v", again, err)
	}
	if _, err := h.FailExtraction(ctx, commands.FailExtraction{Meta: meta, DocumentID: doc.DocumentID, Attempt: 1, Reason: "late"}); err != nil {
		t.Fatalf("late failure of a finished attempt: %v", err)
	}
	history, _ := store.Load(ctx, "acme", doc.DocumentID)
	types := []string{}
	for _, e := range history {
		types = append(types, e.Type)
	}
	want := []string{domain.TypeDocumentUploaded, domain.TypeExtractionStarted, domain.TypeReceiptExtracted}
	if len(types) != len(want) {
		t.Fatalf("history %v, want %v", types, want)
	}

	// Reprocess: attempt 2; a stale attempt-1 result is refused.
	rep, err := h.RequestReprocess(ctx, commands.RequestReprocess{Meta: meta, DocumentID: doc.DocumentID})
	if err != nil || rep.Attempt != 2 || rep.Status != domain.StatusPending {
		t.Fatalf("reprocess %+v %v", rep, err)
	}
	_, err = h.StartExtraction(ctx, commands.StartExtraction{Meta: commands.Meta{Tenant: "acme", CommandID: "other"}, DocumentID: doc.DocumentID, Attempt: 1})
	if !errors.Is(err, domain.ErrStaleAttempt) {
		t.Fatalf("stale start: %v", err)
	}
	if _, err := h.RequestReprocess(ctx, commands.RequestReprocess{Meta: meta, DocumentID: doc.DocumentID}); !errors.Is(err, domain.ErrInvalidTransition) {
		t.Fatalf("reprocess while pending: %v", err)
	}
}

func TestRecordRejectsMalformedFields(t *testing.T) {
	h, _, _ := setup(t)
	doc := upload(t, h, "")
	_, err := h.RecordExtraction(context.Background(), commands.RecordExtraction{Meta: commands.Meta{Tenant: "acme"},
		DocumentID: doc.DocumentID, Attempt: 1, Fields: domain.Fields{Total: "12,50", Date: "03/10/2026", Currency: "euro"}})
	if !errors.Is(err, commands.ErrInvalidInput) {
		t.Fatalf("err = %v", err)
	}
}

func TestCommandsOnUnknownDocument(t *testing.T) {
	h, _, _ := setup(t)
	_, err := h.RequestReprocess(context.Background(), commands.RequestReprocess{Meta: commands.Meta{Tenant: "acme"}, DocumentID: "0192f000-0000-7000-8000-000000000000"})
	if !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
}

func TestUploadWithoutKeysRefusesAUser(t *testing.T) {
	store, _ := eventstoretest.Start(t)
	blobs, _ := blob.NewLocal(t.TempDir())
	h := commands.New(store, blobs, slog.New(slog.DiscardHandler))
	_, err := h.UploadInvoice(context.Background(), commands.UploadInvoice{
		Meta: commands.Meta{Tenant: "acme"}, Content: []byte(pdf), User: domain.User{Email: "a@example.com"}})
	if !errors.Is(err, commands.ErrNoPeople) {
		t.Fatalf("err = %v, want ErrNoPeople", err)
	}
	// A document without a user needs no keys.
	if _, err := h.UploadInvoice(context.Background(), commands.UploadInvoice{
		Meta: commands.Meta{Tenant: "acme"}, Content: []byte(pdf)}); err != nil {
		t.Fatal(err)
	}
	// Its DocumentUploaded first, then its file's fingerprint claim, which
	// runs after the upload answered.
	h.Wait()
	e, err := store.At(context.Background(), 1)
	if err != nil || e.Type != domain.TypeDocumentUploaded {
		t.Fatalf("first event %+v (%v), want the upload without a user", e, err)
	}
	if last, _ := store.LastSequence(context.Background()); last != 2 {
		t.Fatalf("stream has %d events, want the upload without a user and its claim", last)
	}
}

func TestEraseUserRecordsOneEventPerID(t *testing.T) {
	h, store, _, keys := setupWithKeys(t)
	ctx := context.Background()
	res := upload(t, h, "")
	history, _ := store.Load(ctx, "acme", res.DocumentID)
	var p domain.DocumentUploaded
	_ = history[0].Decode(&p)
	meta := commands.Meta{Tenant: "acme"}
	if _, err := h.EraseUser(ctx, commands.EraseUser{Meta: meta, Email: "nobody@example.com"}); !errors.Is(err, domain.ErrUserNotFound) {
		t.Fatalf("erase an unknown address: %v", err)
	}
	if _, err := h.EraseUser(ctx, commands.EraseUser{Meta: meta, Email: "not an address"}); !errors.Is(err, commands.ErrInvalidInput) {
		t.Fatalf("erase a non-address: %v", err)
	}
	ids, err := h.EraseUser(ctx, commands.EraseUser{Meta: meta, Email: "ann@example.com"})
	if err != nil || !slices.Contains(ids, p.UserID) || len(ids) != 2 {
		t.Fatalf("erase: %v %v (user %s)", ids, err, p.UserID)
	}
	again, err := h.EraseUser(ctx, commands.EraseUser{Meta: meta, Email: "ann@example.com"})
	if err != nil || !slices.Equal(again, ids) {
		t.Fatalf("erase again: %v %v", again, err)
	}
	for _, id := range ids {
		events, err := store.LoadAggregate(ctx, "acme", domain.AggregateUser, id)
		if err != nil || len(events) != 1 || events[0].Type != domain.TypeUserErased {
			t.Fatalf("events of user %s: %v %v", id, events, err)
		}
	}
	if owner, err := keys.Open(ctx, "acme", p.Owner()); err != nil || !owner.Erased || owner.User != (domain.User{}) {
		t.Fatalf("an erased user opens: %+v %v", owner, err)
	}
}

// TestEraseWhileTheStreamIsDown: the keys go first, so the data is erased
// even when UserErased cannot be appended (a later call appends it: see
// TestEraseUserRecordsOneEventPerID for erasing again).
func TestEraseWhileTheStreamIsDown(t *testing.T) {
	store, nc := eventstoretest.Start(t)
	blobs, _ := blob.NewLocal(t.TempDir())
	_, pool := pgtest.New(t)
	keys := personal.New(pool)
	quiet := slog.New(slog.DiscardHandler)
	h := commands.New(store, blobs, quiet, commands.WithPeople(keys))
	ctx := context.Background()
	res := upload(t, h, "")
	history, _ := store.Load(ctx, "acme", res.DocumentID)
	var p domain.DocumentUploaded
	_ = history[0].Decode(&p)
	nc.Close()
	meta := commands.Meta{Tenant: "acme"}
	if _, err := h.EraseUser(ctx, commands.EraseUser{Meta: meta, Email: "ann@example.com"}); !errors.Is(err, commands.ErrEventStore) {
		t.Fatalf("erase with the stream down: %v, want ErrEventStore", err)
	}
	if o, err := keys.Open(ctx, "acme", p.Owner()); err != nil || !o.Erased {
		t.Fatalf("the user still opens after a half-done erasure: %+v %v", o, err)
	}
}

// TestCopyIsFlaggedAfterTheUploadAnswered: the second upload of the same
// file by the same user answers at once as a new document and is flagged a
// duplicate of the first by the check that runs after the answer.
func TestCopyIsFlaggedAfterTheUploadAnswered(t *testing.T) {
	h, _, _ := setup(t)
	ctx := context.Background()
	first, second := upload(t, h, ""), upload(t, h, "")
	if second.DocumentID == first.DocumentID || second.Status != domain.StatusPending {
		t.Fatalf("the copy's answer: %+v", second)
	}
	h.Wait()
	d, err := h.Documents().Load(ctx, "acme", second.DocumentID)
	if err != nil || d.DuplicateOf != first.DocumentID || d.DuplicateReason != domain.DuplicateSameContent {
		t.Fatalf("the copy: duplicate of %q (%s), %v; want %s", d.DuplicateOf, d.DuplicateReason, err, first.DocumentID)
	}
	if d, _ := h.Documents().Load(ctx, "acme", first.DocumentID); d.DuplicateOf != "" {
		t.Fatalf("the original is flagged: %+v", d)
	}
}
