package projections

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"unicode"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"tally/domain"
	"tally/personal"
	"tally/readmodel"
)

// Search projects search_documents: what people find documents by (full
// text over vendor, file name, invoice number, line items and the
// document's extracted text) and filter
// them on (vendor, dates, amounts, currency, status, user). It keeps the
// user's pseudonymous id, and the file name (a user's Private), which
// erasing a user blanks.
type Search struct{}

func (Search) Name() string { return "search" }

func (Search) Tables() []string { return []string{"search_documents"} }

func (Search) Reset(ctx context.Context, q *readmodel.Queries) error { return q.TruncateSearch(ctx) }

// maxSearchText bounds the text indexed per document (a tsvector holds at
// most 1 MB; a receipt's words are far fewer).
const maxSearchText = 64 << 10

func (Search) Apply(ctx context.Context, q *readmodel.Queries, e domain.Envelope) error {
	id, err := uuid.Parse(e.AggregateID)
	if err != nil {
		return nil
	}
	at := timestamptz(e.OccurredAt)
	switch e.Type {
	case domain.TypeDocumentUploaded:
		var p domain.DocumentUploaded
		if err := e.Decode(&p); err != nil {
			return err
		}
		p, user, err := openOwner(ctx, q, e.Tenant, p)
		if err != nil {
			return err
		}
		return q.InsertSearchDocument(ctx, readmodel.InsertSearchDocumentParams{Tenant: e.Tenant, ID: id,
			UserID: user.ID, Source: p.Source, Filename: p.Filename, Attempt: int32(max(p.Attempt, 1)),
			CreatedAt: timestamptz(uploadTime(p, e)), SearchText: searchText(p.Filename, domain.Fields{})})
	case domain.TypeExtractionRequested:
		var p domain.ExtractionRequested
		if err := e.Decode(&p); err != nil {
			return err
		}
		return q.SetSearchRequested(ctx, readmodel.SetSearchRequestedParams{Tenant: e.Tenant, ID: id,
			Attempt: int32(p.Attempt), UpdatedAt: at})
	case domain.TypeExtractionStarted:
		var p domain.ExtractionStarted
		if err := e.Decode(&p); err != nil {
			return err
		}
		return q.SetSearchStarted(ctx, readmodel.SetSearchStartedParams{Tenant: e.Tenant, ID: id,
			Attempt: int32(p.Attempt), UpdatedAt: at})
	case domain.TypeExtractionFailed:
		var p domain.ExtractionFailed
		if err := e.Decode(&p); err != nil {
			return err
		}
		return q.SetSearchFailed(ctx, readmodel.SetSearchFailedParams{Tenant: e.Tenant, ID: id,
			Attempt: int32(p.Attempt), UpdatedAt: at})
	case domain.TypeUserErased:
		// Erasing blanked the file names and the text; the text of the
		// values comes back here. The event reaches a read model rebuilt
		// meanwhile too, where the uploads opened blank already.
		return blankErased(e, func(ids []string) error {
			if _, err := q.BlankSearchUsers(ctx, readmodel.BlankSearchUsersParams{Tenant: e.Tenant, UserIds: ids}); err != nil {
				return err
			}
			docs, err := q.SearchDocumentsOfUsers(ctx, readmodel.SearchDocumentsOfUsersParams{Tenant: e.Tenant, UserIds: ids})
			if err != nil {
				return err
			}
			for _, d := range docs {
				eff := domain.Merge(decodeFields(d.Machine), decodeFields(d.Corrections))
				if err := q.SetSearchText(ctx, readmodel.SetSearchTextParams{Tenant: e.Tenant, ID: d.ID,
					SearchText: searchText("", eff), UpdatedAt: at}); err != nil {
					return err
				}
			}
			return nil
		})
	case domain.TypeDocumentDeleted, domain.TypeDocumentRestored:
		return q.SetSearchDeleted(ctx, readmodel.SetSearchDeletedParams{Tenant: e.Tenant, ID: id,
			Deleted: e.Type == domain.TypeDocumentDeleted, UpdatedAt: at})
	case domain.TypeReceiptExtracted, domain.TypeExtractionRevised, domain.TypeDocumentCorrected:
		doc, err := q.GetSearchDocument(ctx, readmodel.GetSearchDocumentParams{Tenant: e.Tenant, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		machine, corrections := decodeFields(doc.Machine), decodeFields(doc.Corrections)
		var status, body pgtype.Text
		if e.Type == domain.TypeDocumentCorrected {
			var p domain.DocumentCorrected
			if err := e.Decode(&p); err != nil {
				return err
			}
			corrections = p.Corrections
		} else {
			var p domain.ReceiptExtracted // a revision has the same attempt and fields
			if err := e.Decode(&p); err != nil {
				return err
			}
			if int(doc.Attempt) != p.Attempt {
				return nil // a stale attempt's result
			}
			machine, status = p.Fields, text(statusAfter(e.Type))
			// The result's text replaces the previous one's, even when
			// empty (a structured e-invoice has none to keep).
			txt, err := personal.OpenResultText(ctx, personal.Tx{Q: q}, e.Tenant, p.ResultText)
			if err != nil {
				return err
			}
			body = pgtype.Text{String: bodyText(txt), Valid: true}
		}
		eff := domain.Merge(machine, corrections)
		// Only a completed extraction can need a review: a pending or
		// failed document's state says so already.
		now := doc.Status
		if status.Valid {
			now = status.String
		}
		review := now == "COMPLETED" && domain.NeedsReview(machine, corrections)
		rawMachine, _ := json.Marshal(machine)
		rawCorrections, _ := json.Marshal(corrections)
		return q.SetSearchValues(ctx, readmodel.SetSearchValuesParams{Tenant: e.Tenant, ID: id, Status: status,
			Machine: rawMachine, Corrections: rawCorrections, Vendor: text(eff.Vendor),
			InvoiceNumber: text(eff.InvoiceNumber), DocumentDate: date(eff.Date), Currency: text(eff.Currency),
			Total: amount(eff.Total), NeedsReview: review, SearchText: searchText(doc.Filename, eff), Body: body, UpdatedAt: at})
	}
	return nil
}

// bodyText is a result's extracted text as PostgreSQL stores it: a text
// column holds no NUL byte (a text file or an OCR result may have one,
// and the event would stop the projector for good).
func bodyText(text string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(domain.TruncateText(text), ""), "\x00", " ")
}

// searchText is what a document is found by. Each value is also added
// with its punctuation as spaces, so "INV-2026-001" is found by "2026"
// and "invoice_2026.pdf" by "invoice" (PostgreSQL's parser would read
// "-2026" as a signed number and keep "invoice_2026.pdf" whole).
func searchText(filename string, f domain.Fields) string {
	var b strings.Builder
	add := func(s string) {
		if s == "" || b.Len() >= maxSearchText {
			return
		}
		b.WriteString(s)
		b.WriteByte(' ')
		spaced := strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return r
			}
			return ' '
		}, s)
		if spaced != s {
			b.WriteString(spaced)
			b.WriteByte(' ')
		}
	}
	add(filename)
	add(f.Vendor)
	add(f.InvoiceNumber)
	for _, li := range f.LineItems {
		add(li.Description)
	}
	s := b.String()
	if len(s) > maxSearchText {
		s = strings.ToValidUTF8(s[:maxSearchText], "")
	}
	return s
}
