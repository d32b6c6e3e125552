package worker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"tally/commands"
	"tally/domain"
	"tally/extract"
	"tally/learning"
	"tally/metrics"
	"tally/queue"
	"tally/readmodel"
)

func datedReceipt(date, total string) []byte {
	return []byte(fmt.Sprintf("From: Shop <orders@shop.test>\r\nTo: ann@example.com\r\nSubject: Your receipt\r\n"+
		"Date: Mon, 02 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%s@shop.test>\r\nContent-Type: text/plain\r\n\r\n"+
		"Thank you.\r\nDate: %s\r\nTotal: %s EUR\r\n", total, date, total))
}

// TestACorrectionTeachesTheTenantsNextDocument: the whole path. A
// correction of one document from a sender (the date is printed month
// first) reaches the learning read model; the next document of the same
// sender and tenant is read with the learned date format and says so;
// another tenant's document of the same sender is not.
func TestACorrectionTeachesTheTenantsNextDocument(t *testing.T) {
	ctx := context.Background()
	s := newStores(t)
	events, blobs, log, cmds := s.events, s.blobs, s.log, s.cmds
	q := readmodel.New(s.pool)
	engine := &learning.Engine{Extractor: extract.New(extract.Limits{}), Queries: q}
	w := New(Config{Name: "w1", MaxAttempts: 1, Timeout: 20 * time.Second}, cmds, blobs, engine, metrics.New(), log)
	extracted := func(tenant, date, total string) *domain.Document {
		t.Helper()
		res, err := cmds.SubmitEmailReceipt(ctx, commands.SubmitEmailReceipt{Meta: commands.Meta{Tenant: tenant}, Raw: datedReceipt(date, total)})
		if err != nil {
			t.Fatal(err)
		}
		job := queue.Job{Tenant: tenant, DocumentID: res.DocumentID, Attempt: 1, BlobKey: res.BlobKey, ContentType: "message/rfc822"}
		if got := w.run(ctx, job, log); got != metrics.OutcomeCompleted {
			t.Fatalf("job: %s", got)
		}
		doc, err := cmds.Documents().Load(ctx, tenant, res.DocumentID)
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}

	first := extracted("acme", "03/04/2026", "12.50")
	if first.Fields.Date != "2026-04-03" || first.Fields.Issuer == nil {
		t.Fatalf("first document read as %+v", first.Fields)
	}
	if _, err := cmds.CorrectDocument(ctx, commands.CorrectDocument{Meta: commands.Meta{Tenant: "acme"},
		DocumentID: first.ID, Fields: domain.Fields{Date: "2026-03-04"}}); err != nil {
		t.Fatal(err)
	}
	history, err := events.Load(ctx, "acme", first.ID)
	if err != nil {
		t.Fatal(err)
	}
	var correction domain.Envelope
	for _, e := range history {
		if err := learning.Record(ctx, q, e); err != nil {
			t.Fatal(err)
		}
		if e.Type == domain.TypeDocumentCorrected {
			correction = e
		}
	}

	next := extracted("acme", "05/06/2026", "7.00")
	if next.Fields.Date != "2026-05-06" || next.Fields.Sources["date"] != domain.FieldSourceLearned {
		t.Errorf("next document's date %q (%s), want 2026-05-06 learned", next.Fields.Date, next.Fields.Sources["date"])
	}
	if lf := next.Fields.LearnedFrom; lf == nil || lf.DocumentID != first.ID || lf.EventID != correction.ID {
		t.Errorf("learned_from %+v, want document %s event %s", lf, first.ID, correction.ID)
	}
	other := extracted("globex", "05/06/2026", "8.00")
	if other.Fields.Date != "2026-06-05" || other.Fields.LearnedFrom != nil {
		t.Errorf("another tenant's document was taught: %q %+v", other.Fields.Date, other.Fields.LearnedFrom)
	}
}
