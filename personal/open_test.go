package personal_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"tally/domain"
	"tally/migrations/pgtest"
	"tally/personal"
)

// TestUploadPrivateOpensUntilErased: an upload's file name, subject and
// e-receipt ids open with the user's key (version 3), stay as stored in
// an older event, and read blank in both once the user is erased, in the
// upload, in a folded document with its order's parts, and in the audit
// view's copy of the events.
func TestUploadPrivateOpensUntilErased(t *testing.T) {
	_, pool := pgtest.New(t)
	ctx := context.Background()
	keys := personal.New(pool)
	pr := domain.Private{Filename: "ann-payslip.pdf", Subject: "Ann's order", EmailHash: strings.Repeat("ab", 32), ClientUserID: "crm-ann"}
	s, err := keys.SealUpload(ctx, "acme", ann, pr)
	if err != nil {
		t.Fatal(err)
	}
	for _, clear := range []string{"payslip", "order", "crm-ann", "abab"} {
		if strings.Contains(s.Private, clear) {
			t.Fatalf("%q in the sealed private: %s", clear, s.Private)
		}
	}
	if other, _ := keys.Seal(ctx, "acme", ann); other.Private != "" || other.ID != s.ID {
		t.Fatalf("a user sealed without a private: %+v", other)
	}
	upload := domain.DocumentUploaded{Source: domain.SourceEReceipt, Email: &domain.EmailInfo{From: "shop@example.com"},
		Job: &domain.EReceiptJob{Provider: "gmail"}, UserID: s.ID, UserSealed: s.Sealed, PrivateSealed: s.Private}
	// A version-2 upload of the same user: the user sealed, the rest clear.
	old := domain.DocumentUploaded{Source: domain.SourceEReceipt, UserID: s.ID, UserSealed: s.Sealed}.WithPrivate(domain.Private{})
	old.Filename, old.Email, old.Job = pr.Filename, &domain.EmailInfo{Subject: pr.Subject}, &domain.EReceiptJob{EmailHash: pr.EmailHash, ClientUserID: pr.ClientUserID}
	// A user named by no route: nothing to open, nothing to erase.
	nobody := domain.DocumentUploaded{Source: domain.SourceIngest, Filename: "ingest.pdf"}

	shownPrivate := func(p domain.DocumentUploaded) domain.Private {
		t.Helper()
		shown, _, err := personal.OpenUpload(ctx, keys, "acme", p)
		if err != nil {
			t.Fatal(err)
		}
		return shown.Private()
	}
	if got := shownPrivate(upload); got != pr {
		t.Fatalf("opened %+v, want %+v", got, pr)
	}
	if upload.Job.ClientUserID != "" || upload.Email.Subject != "" {
		t.Fatal("opening changed the decoded payload")
	}
	if got := shownPrivate(old); got != pr {
		t.Fatalf("version 2 shown %+v", got)
	}
	// Copied onto another tenant, it does not open: shown blank.
	if _, err := keys.Seal(ctx, "globex", ann); err != nil {
		t.Fatal(err)
	}
	if shown, _, _ := personal.OpenUpload(ctx, keys, "globex", upload); !shown.Private().IsZero() {
		t.Fatalf("opened under another tenant: %+v", shown.Private())
	}

	// A folded order whose later part carries its own sealed subject.
	part, err := keys.SealUpload(ctx, "acme", ann, domain.Private{Subject: "Ann's parcel shipped"})
	if err != nil {
		t.Fatal(err)
	}
	envelope := func(seq uint64, typ string, version int, payload any) domain.Envelope {
		e, err := domain.NewEnvelope("e"+typ, "acme", "0192f000-0000-7000-8000-0000000000aa", typ, time.Now(), payload)
		if err != nil {
			t.Fatal(err)
		}
		e.Sequence, e.SchemaVersion = seq, version
		return e
	}
	history := []domain.Envelope{
		envelope(1, domain.TypeDocumentUploaded, 2, old),
		envelope(2, domain.TypeOrderPartAdded, 2, domain.OrderPartAdded{DocumentID: "p1", UserID: part.ID, PrivateSealed: part.Private}),
		envelope(3, domain.TypeOrderPartAdded, 1, domain.OrderPartAdded{DocumentID: "p2", Subject: "Ann's parcel delivered"}),
	}
	doc := func() *domain.Document {
		d, err := domain.Fold(history)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := personal.OpenDocument(ctx, keys, d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := doc(); d.Private() != pr || d.Parts[0].Subject != "Ann's parcel shipped" || d.Parts[1].Subject != "Ann's parcel delivered" {
		t.Fatalf("document %+v, parts %+v", d.Private(), d.Parts)
	}

	if _, err := keys.Erase(ctx, "acme", ann.Email); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]domain.DocumentUploaded{"version 3": upload, "version 2": old} {
		if got := shownPrivate(p); !got.IsZero() {
			t.Errorf("%s after the erasure: %+v", name, got)
		}
	}
	if got := shownPrivate(nobody); got.Filename != "ingest.pdf" {
		t.Errorf("an upload without a user: %+v", got)
	}
	if d := doc(); !d.Private().IsZero() || d.Parts[0].Subject != "" || d.Parts[1].Subject != "" {
		t.Fatalf("document after the erasure %+v, parts %+v", d.Private(), d.Parts)
	}
	redacted, err := keys.RedactHistory(ctx, history)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(redacted)
	for _, clear := range []string{"payslip", "Ann's", "crm-ann", "abab"} {
		if strings.Contains(string(raw), clear) {
			t.Fatalf("%q in the redacted history: %s", clear, raw)
		}
	}
	// Redacting keeps the payloads readable.
	var p domain.DocumentUploaded
	if err := redacted[0].Decode(&p); err != nil || p.Email == nil || p.Job == nil {
		t.Fatalf("redacted upload: %+v %v", p, err)
	}
}
