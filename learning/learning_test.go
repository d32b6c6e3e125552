package learning

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"tally/domain"
	"tally/extract"
	"tally/migrations/pgtest"
	"tally/readmodel"
)

// Two receipts of one issuer that the generic rules read wrong the same
// way: the name is misprinted in the heading, the total sits next to a
// label no rule knows, and the dates are printed month first.
const firstReceipt = `NORTHWIND TRAD1NG CO
12 Harbour Road, Portsmouth
VAT Reg No: GB 123 4567 89
Date: 03/04/2024
Widget                 4.00
Gadget                 6.00
Amount settled        10.00
`

const secondReceipt = `NORTHWIND TRAD1NG CO
12 Harbour Road, Portsmouth
VAT Reg No: GB 123 4567 89
Date: 05/06/2024
Sprocket               7.50
Amount settled         7.50
`

func extractText(t *testing.T, text string) domain.Fields {
	t.Helper()
	f, err := extract.New(extract.Limits{}).Extract(context.Background(), []byte(text), "text/plain")
	if err != nil {
		t.Fatal(err)
	}
	if f.Issuer == nil || len(f.Issuer.Keys) == 0 {
		t.Fatalf("no issuer profile: %+v", f)
	}
	return f
}

func TestACorrectionTeachesTheNextDocumentOfTheIssuer(t *testing.T) {
	first := extractText(t, firstReceipt)
	l, ok := Learn(first, domain.Fields{Vendor: "Northwind Trading Co", Date: "2024-03-04", Total: "10.00"})
	if !ok {
		t.Fatal("nothing learnt")
	}
	if !l.MonthFirst || l.Date == nil || l.Date.Label != "date" {
		t.Fatalf("date format not learnt: %+v", l)
	}
	if l.Total == nil || l.Total.Label != "amount settled" {
		t.Fatalf("total's label not learnt: %+v", l.Total)
	}

	second := extractText(t, secondReceipt)
	from := domain.LearnedFrom{DocumentID: "doc-1", EventID: "ev-1"}
	// A name the engine is sure of stays; one it is unsure of (as OCR
	// reads names) takes the correction's spelling.
	second.Confidence["vendor"] = 95
	if got := Apply(second, "", l, from); got.Vendor != second.Vendor {
		t.Errorf("a name the engine was sure of became %q", got.Vendor)
	}
	second.Confidence["vendor"] = 50
	got := Apply(second, "", l, from)
	if got.Vendor != "Northwind Trading Co" || got.Sources["vendor"] != domain.FieldSourceLearned {
		t.Errorf("vendor %q (%s), want the corrected name, learned", got.Vendor, got.Sources["vendor"])
	}
	if got.Date != "2024-05-06" || got.Sources["date"] != domain.FieldSourceLearned {
		t.Errorf("date %q (%s), want 2024-05-06 read month first, learned", got.Date, got.Sources["date"])
	}
	if got.Total != "7.50" {
		t.Errorf("total %q, want 7.50", got.Total)
	}
	if got.LearnedFrom == nil || *got.LearnedFrom != from {
		t.Errorf("learned_from %+v, want %+v", got.LearnedFrom, from)
	}
	if err := domain.ValidateFields(got); err != nil {
		t.Error(err)
	}
}

// TestAnotherIssuerIsNotTaught: a lesson applies by the fingerprint, so a
// different issuer's document finds none, and a name the engine read as
// something else entirely is not replaced.
func TestAnotherIssuerIsNotTaught(t *testing.T) {
	first := extractText(t, firstReceipt)
	l, _ := Learn(first, domain.Fields{Vendor: "Northwind Trading Co"})
	other := extractText(t, "CONTOSO MARKET LTD\nDate: 2024-02-01\nTotal 3.00\n")
	for _, k := range other.Issuer.Keys {
		for _, k2 := range first.Issuer.Keys {
			if k == k2 {
				t.Fatalf("shared key %s", k)
			}
		}
	}
	if got := Apply(other, "", l, domain.LearnedFrom{}); got.Vendor != other.Vendor || got.Sources["vendor"] == domain.FieldSourceLearned {
		t.Errorf("a dissimilar name was replaced: %q", got.Vendor)
	}
}

func correction(t *testing.T, tenant, doc string, seq uint64, prev, corr domain.Fields) domain.Envelope {
	t.Helper()
	e, err := domain.NewEnvelope(uuid.NewString(), tenant, doc, domain.TypeDocumentCorrected, timeNow(), domain.DocumentCorrected{Corrections: corr, Previous: prev})
	if err != nil {
		t.Fatal(err)
	}
	e.Sequence = seq
	return e
}

// TestTheReadModelKeepsLessonsPerTenant: the projection stores a lesson
// under the corrected document's keys, for its tenant only, and forgets
// it when the document is purged.
func TestTheReadModelKeepsLessonsPerTenant(t *testing.T) {
	_, pool := pgtest.New(t)
	ctx := context.Background()
	q := readmodel.New(pool)
	first := extractText(t, firstReceipt)
	second := extractText(t, secondReceipt)
	doc := uuid.NewString()
	e := correction(t, "acme", doc, 7, first, domain.Fields{Vendor: "Northwind Trading Co", Date: "2024-03-04"})
	if err := Record(ctx, q, e); err != nil {
		t.Fatal(err)
	}
	got, ok, err := Lookup(ctx, q, "acme", second.Issuer.Keys)
	if err != nil || !ok {
		t.Fatalf("no lesson for the same issuer: %v", err)
	}
	if got.Lesson.Vendor != "Northwind Trading Co" || got.From.DocumentID != doc || got.From.EventID != e.ID {
		t.Fatalf("lesson %+v", got)
	}
	if got.Key[:6] != "taxid:" {
		t.Errorf("found by %s, want the tax number first", got.Key)
	}
	if _, ok, _ := Lookup(ctx, q, "globex", second.Issuer.Keys); ok {
		t.Fatal("another tenant found the lesson")
	}
	engine := &Engine{Extractor: extract.New(extract.Limits{}), Queries: q}
	f, err := engine.ExtractFor(ctx, "acme", []byte(secondReceipt), "text/plain")
	if err != nil || f.Sources["date"] != domain.FieldSourceLearned || f.LearnedFrom == nil || f.LearnedFrom.EventID != e.ID {
		t.Fatalf("engine did not apply the lesson: %v %+v", err, f.Sources)
	}
	if f, _ := engine.ExtractFor(ctx, "globex", []byte(secondReceipt), "text/plain"); f.LearnedFrom != nil {
		t.Fatal("another tenant's document was taught")
	}
	purged, _ := domain.NewEnvelope(uuid.NewString(), "acme", doc, domain.TypeDocumentPurged, timeNow(), domain.DocumentPurged{BlobKey: "k"})
	if err := Record(ctx, q, purged); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := Lookup(ctx, q, "acme", second.Issuer.Keys); ok {
		t.Fatal("a purged document's lesson is still there")
	}
}

func FuzzLearnApply(f *testing.F) {
	f.Add(firstReceipt, secondReceipt, "2024-03-04", "10.00")
	f.Fuzz(func(t *testing.T, a, b, date, total string) {
		fa := extract.FromText(a)
		fa.Issuer = &domain.IssuerProfile{Keys: []string{"name:x"}}
		l, _ := Learn(fa, domain.Fields{Date: date, Total: total})
		Apply(extract.FromText(b), "", l, domain.LearnedFrom{})
		l.AddressLines = 1
		Apply(extract.FromText(b), b, l, domain.LearnedFrom{})
		l.AddressLines = -1
		Apply(extract.FromText(b), b, l, domain.LearnedFrom{})
	})
}

func timeNow() time.Time { return time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC) }
