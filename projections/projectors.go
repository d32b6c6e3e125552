package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"tally/domain"
	"tally/personal"
	"tally/readmodel"
)

// All returns one of each projector, the set `tally projector` runs.
func All() []Projector {
	return []Projector{Documents{}, StatusCounts{}, MonthlyTotals{}, Learning{}, Search{}}
}

// NoCurrency is ISO 4217's code for "no currency", used when extraction
// found a total but no currency, so the amount is still counted somewhere.
const NoCurrency = "XXX"

// isoDate is the shape of a date in Fields.
var isoDate = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

// Documents projects the documents table: status and fields per document.
type Documents struct{}

func (Documents) Name() string { return "documents" }

func (Documents) Tables() []string { return []string{"documents"} }

func (Documents) Reset(ctx context.Context, q *readmodel.Queries) error {
	return q.TruncateDocuments(ctx)
}

func (Documents) Apply(ctx context.Context, q *readmodel.Queries, e domain.Envelope) error {
	id, err := uuid.Parse(e.AggregateID)
	if err != nil {
		return nil // not a document this read model can hold
	}
	at := timestamptz(e.OccurredAt)
	seq := int64(e.Sequence)
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
		if err := q.InsertDocument(ctx, readmodel.InsertDocumentParams{
			Tenant: e.Tenant, ID: id, Status: statusAfter(e.Type), Source: p.Source, Filename: p.Filename, ContentType: p.ContentType,
			SizeBytes: p.Size, Sha256: p.SHA256, BlobKey: p.BlobKey, UserName: user.User.Name,
			UserEmail: user.User.Email, UserID: user.ID, Attempt: int32(max(p.Attempt, 1)),
			CreatedAt: timestamptz(uploadTime(p, e)), LastSequence: seq,
		}); err != nil {
			return err
		}
		if p.Email == nil && p.Job == nil {
			return nil
		}
		var email, job []byte
		if p.Email != nil {
			email, _ = json.Marshal(p.Email)
		}
		if p.Job != nil {
			job, _ = json.Marshal(p.Job)
		}
		return q.SetDocumentEmail(ctx, readmodel.SetDocumentEmailParams{Tenant: e.Tenant, ID: id, Email: email, Job: job})
	case domain.TypeDuplicateDetected:
		var p domain.DuplicateDetected
		if err := e.Decode(&p); err != nil {
			return err
		}
		of, err := uuid.Parse(p.Of)
		if err != nil {
			return fmt.Errorf("decode %s %s: duplicate of %q: %w", e.Type, e.ID, p.Of, err)
		}
		return q.MarkDocumentDuplicate(ctx, readmodel.MarkDocumentDuplicateParams{Tenant: e.Tenant, ID: id,
			DuplicateOf: uuid.NullUUID{UUID: of, Valid: true}, DuplicateReason: text(p.Reason), UpdatedAt: at, LastSequence: seq})
	case domain.TypeUserErased:
		return blankErased(e, func(ids []string) error {
			_, err := q.BlankDocumentUsers(ctx, readmodel.BlankDocumentUsersParams{Tenant: e.Tenant, UserIds: ids})
			return err
		})
	case domain.TypeExtractionRequested:
		var p domain.ExtractionRequested
		if err := e.Decode(&p); err != nil {
			return err
		}
		return q.MarkDocumentRequested(ctx, readmodel.MarkDocumentRequestedParams{
			Tenant: e.Tenant, ID: id, Status: statusAfter(e.Type), Attempt: int32(p.Attempt), UpdatedAt: at, LastSequence: seq})
	case domain.TypeExtractionStarted:
		var p domain.ExtractionStarted
		if err := e.Decode(&p); err != nil {
			return err
		}
		return q.MarkDocumentStarted(ctx, readmodel.MarkDocumentStartedParams{
			Tenant: e.Tenant, ID: id, Status: statusAfter(e.Type), Attempt: int32(p.Attempt), UpdatedAt: at, LastSequence: seq})
	case domain.TypeReceiptExtracted, domain.TypeExtractionRevised:
		var p domain.ReceiptExtracted // a revision has the same attempt and fields
		if err := e.Decode(&p); err != nil {
			return err
		}
		values, err := q.GetDocumentValues(ctx, readmodel.GetDocumentValuesParams{Tenant: e.Tenant, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		eff := domain.Merge(p.Fields, decodeFields(values.Corrections))
		machine, _ := json.Marshal(p.Fields)
		fields, _ := json.Marshal(eff)
		return q.MarkDocumentExtracted(ctx, readmodel.MarkDocumentExtractedParams{
			Tenant: e.Tenant, ID: id, Status: statusAfter(e.Type), Attempt: int32(p.Attempt), Fields: fields, MachineFields: machine,
			Vendor: text(eff.Vendor), DocumentDate: date(eff.Date),
			Currency: text(eff.Currency), Total: amount(eff.Total),
			UpdatedAt: at, LastSequence: seq,
		})
	case domain.TypeExtractionFailed:
		var p domain.ExtractionFailed
		if err := e.Decode(&p); err != nil {
			return err
		}
		return q.MarkDocumentFailed(ctx, readmodel.MarkDocumentFailedParams{
			Tenant: e.Tenant, ID: id, Status: statusAfter(e.Type), Attempt: int32(p.Attempt), Reason: pgtype.Text{String: p.Reason, Valid: true},
			UpdatedAt: at, LastSequence: seq})
	case domain.TypeDocumentCorrected:
		var p domain.DocumentCorrected
		if err := e.Decode(&p); err != nil {
			return err
		}
		values, err := q.GetDocumentValues(ctx, readmodel.GetDocumentValuesParams{Tenant: e.Tenant, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		eff := domain.Merge(decodeFields(values.MachineFields), p.Corrections)
		corrections, _ := json.Marshal(p.Corrections)
		fields, _ := json.Marshal(eff)
		return q.CorrectDocument(ctx, readmodel.CorrectDocumentParams{
			Tenant: e.Tenant, ID: id, Fields: fields, Corrections: corrections,
			Vendor: text(eff.Vendor), DocumentDate: date(eff.Date), Currency: text(eff.Currency), Total: amount(eff.Total),
			UpdatedAt: at, LastSequence: seq})
	case domain.TypeDocumentDeleted:
		var p domain.DocumentDeleted
		if err := e.Decode(&p); err != nil {
			return err
		}
		return q.MarkDocumentDeleted(ctx, readmodel.MarkDocumentDeletedParams{Tenant: e.Tenant, ID: id,
			DeletedAt: at, PurgeAfter: timestamptz(p.PurgeAfter), LastSequence: seq})
	case domain.TypeDocumentRestored:
		return q.MarkDocumentRestored(ctx, readmodel.MarkDocumentRestoredParams{Tenant: e.Tenant, ID: id, UpdatedAt: at, LastSequence: seq})
	case domain.TypeDocumentPurged:
		return q.MarkDocumentPurged(ctx, readmodel.MarkDocumentPurgedParams{Tenant: e.Tenant, ID: id, PurgedAt: at, LastSequence: seq})
	}
	return nil
}

// blankErased applies a UserErased: the user's name and e-mail leave the
// read model. Erasing blanks the live tables itself; the event reaches a
// read model rebuilt meanwhile, and one replayed later, where opening
// fails anyway once the key is gone.
func blankErased(e domain.Envelope, blank func(ids []string) error) error {
	var p domain.UserErased
	if err := e.Decode(&p); err != nil {
		return err
	}
	if p.UserID == "" {
		return nil
	}
	return blank([]string{p.UserID})
}

// openOwner opens an upload (its user and Private) inside the projector's
// transaction (personal.OpenUpload). A damaged sealed user is shown like
// an erased one rather than stopping the read model at that event for
// good.
func openOwner(ctx context.Context, q *readmodel.Queries, tenant string, p domain.DocumentUploaded) (domain.DocumentUploaded, personal.Opened, error) {
	return personal.OpenUpload(ctx, personal.Tx{Q: q}, tenant, p)
}

// decodeFields reads a stored JSON object of fields; absent is empty.
func decodeFields(raw []byte) domain.Fields {
	var f domain.Fields
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &f)
	}
	return f
}

// StatusCounts projects the number of documents per tenant and status.
type StatusCounts struct{}

func (StatusCounts) Name() string { return "status_counts" }

func (StatusCounts) Tables() []string { return []string{"status_counts", "document_statuses"} }

func (StatusCounts) Reset(ctx context.Context, q *readmodel.Queries) error {
	return q.TruncateStatusCounts(ctx)
}

func (StatusCounts) Apply(ctx context.Context, q *readmodel.Queries, e domain.Envelope) error {
	id, err := uuid.Parse(e.AggregateID)
	if err != nil {
		return nil
	}
	next, moves := domain.StatusAfter(e.Type)
	deletes := e.Type == domain.TypeDocumentDeleted || e.Type == domain.TypeDocumentRestored
	if !moves && !deletes {
		return nil
	}
	// One statement that reads nothing back: a document never seen
	// begin is left alone, a deleted document leaves the counts and comes
	// back on restore, and a transition moves exactly one count.
	arg := readmodel.MoveDocumentStatusParams{Tenant: e.Tenant, ID: id, IsUpload: e.Type == domain.TypeDocumentUploaded}
	if moves {
		arg.Next = pgtype.Text{String: string(next), Valid: true}
	} else {
		arg.Deleted = pgtype.Bool{Bool: e.Type == domain.TypeDocumentDeleted, Valid: true}
	}
	return q.MoveDocumentStatus(ctx, arg)
}

// MonthlyTotals projects spending per tenant, user, month and currency.
// A document counts in the month of its own date, or of its upload when
// extraction found no date; a newer extraction result replaces the older
// one's contribution.
type MonthlyTotals struct{}

func (MonthlyTotals) Name() string { return "monthly_totals" }

func (MonthlyTotals) Tables() []string { return []string{"monthly_totals", "monthly_documents"} }

func (MonthlyTotals) Reset(ctx context.Context, q *readmodel.Queries) error {
	return q.TruncateMonthlyTotals(ctx)
}

func (MonthlyTotals) Apply(ctx context.Context, q *readmodel.Queries, e domain.Envelope) error {
	id, err := uuid.Parse(e.AggregateID)
	if err != nil {
		return nil
	}
	switch e.Type {
	case domain.TypeDocumentUploaded:
		var p domain.DocumentUploaded
		if err := e.Decode(&p); err != nil {
			return err
		}
		_, user, err := openOwner(ctx, q, e.Tenant, p)
		if err != nil {
			return err
		}
		return q.InsertMonthlyDocument(ctx, readmodel.InsertMonthlyDocumentParams{
			Tenant: e.Tenant, ID: id, UserID: user.ID, UserEmail: user.User.Email, UploadedAt: timestamptz(uploadTime(p, e)),
			Attempt: int32(max(p.Attempt, 1))})
	case domain.TypeUserErased:
		return blankErased(e, func(ids []string) error {
			if _, err := q.BlankMonthlyDocumentUsers(ctx, readmodel.BlankMonthlyDocumentUsersParams{Tenant: e.Tenant, UserIds: ids}); err != nil {
				return err
			}
			_, err := q.BlankMonthlyTotalUsers(ctx, readmodel.BlankMonthlyTotalUsersParams{Tenant: e.Tenant, UserIds: ids})
			return err
		})
	case domain.TypeExtractionRequested:
		var p domain.ExtractionRequested
		if err := e.Decode(&p); err != nil {
			return err
		}
		return q.SetMonthlyAttempt(ctx, readmodel.SetMonthlyAttemptParams{Tenant: e.Tenant, ID: id, Attempt: int32(p.Attempt)})
	case domain.TypeReceiptExtracted, domain.TypeExtractionRevised, domain.TypeDocumentCorrected, domain.TypeDocumentDeleted,
		domain.TypeDocumentRestored, domain.TypeDuplicateDetected:
		doc, err := q.GetMonthlyDocument(ctx, readmodel.GetMonthlyDocumentParams{Tenant: e.Tenant, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		machine, corrections, deleted := decodeFields(doc.Machine), decodeFields(doc.Corrections), doc.Deleted
		switch e.Type {
		case domain.TypeReceiptExtracted, domain.TypeExtractionRevised:
			var p domain.ReceiptExtracted
			if err := e.Decode(&p); err != nil {
				return err
			}
			if int(doc.Attempt) != p.Attempt {
				return nil
			}
			machine = p.Fields
		case domain.TypeDocumentCorrected:
			var p domain.DocumentCorrected
			if err := e.Decode(&p); err != nil {
				return err
			}
			corrections = p.Corrections
		case domain.TypeDocumentDeleted:
			deleted = true
		case domain.TypeDocumentRestored:
			deleted = false
		case domain.TypeDuplicateDetected:
			// A duplicate keeps its values but counts no more: the
			// original already does.
			if err := q.SetMonthlyDuplicate(ctx, readmodel.SetMonthlyDuplicateParams{Tenant: e.Tenant, ID: id}); err != nil {
				return err
			}
			doc.Duplicate = true
		}
		rawMachine, _ := json.Marshal(machine)
		rawCorrections, _ := json.Marshal(corrections)
		if err := q.SetMonthlyValues(ctx, readmodel.SetMonthlyValuesParams{Tenant: e.Tenant, ID: id,
			Machine: rawMachine, Corrections: rawCorrections, Deleted: deleted}); err != nil {
			return err
		}
		return recontribute(ctx, q, e.Tenant, id, doc, domain.Merge(machine, corrections), deleted || doc.Duplicate)
	}
	return nil
}

// recontribute replaces a document's contribution to the monthly totals
// with the one its current values call for: none when deleted or without
// a decimal total.
func recontribute(ctx context.Context, q *readmodel.Queries, tenant string, id uuid.UUID, doc readmodel.GetMonthlyDocumentRow,
	eff domain.Fields, deleted bool) error {
	if doc.Counted {
		if err := q.AddMonthlyTotal(ctx, readmodel.AddMonthlyTotalParams{
			Tenant: tenant, UserID: doc.UserID, UserEmail: doc.UserEmail, Month: doc.Month.String, Currency: doc.Currency.String,
			Amount: negate(doc.Amount), DeltaDocuments: -1}); err != nil {
			return err
		}
		if err := q.DeleteEmptyMonthlyTotal(ctx, readmodel.DeleteEmptyMonthlyTotalParams{
			Tenant: tenant, UserID: doc.UserID, Month: doc.Month.String, Currency: doc.Currency.String}); err != nil {
			return err
		}
	}
	if deleted || !domain.IsDecimalAmount(eff.Total) {
		return q.SetMonthlyContribution(ctx, readmodel.SetMonthlyContributionParams{Tenant: tenant, ID: id})
	}
	month, currency := monthOf(eff, doc.UploadedAt.Time), eff.Currency
	if currency == "" {
		currency = NoCurrency
	}
	if err := q.AddMonthlyTotal(ctx, readmodel.AddMonthlyTotalParams{
		Tenant: tenant, UserID: doc.UserID, UserEmail: doc.UserEmail, Month: month, Currency: currency,
		Amount: eff.Total, DeltaDocuments: 1}); err != nil {
		return err
	}
	return q.SetMonthlyContribution(ctx, readmodel.SetMonthlyContributionParams{
		Tenant: tenant, ID: id, Month: text(month), Currency: text(currency), Amount: text(eff.Total)})
}

// monthOf is the YYYY-MM a document's spending belongs to.
func monthOf(f domain.Fields, uploadedAt time.Time) string {
	if isoDate.MatchString(f.Date) {
		return f.Date[:7]
	}
	return uploadedAt.UTC().Format("2006-01")
}

func negate(amount string) string {
	if rest, ok := strings.CutPrefix(amount, "-"); ok {
		return rest
	}
	return "-" + amount
}

// uploadTime falls back to the event's own time for an upload event that
// lacks one, so a read model never refuses an event it must hold.
func uploadTime(p domain.DocumentUploaded, e domain.Envelope) time.Time {
	if p.UploadedAt.IsZero() {
		return e.OccurredAt
	}
	return p.UploadedAt
}

func timestamptz(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
}

func text(s string) pgtype.Text { return pgtype.Text{String: s, Valid: s != ""} }

func amount(s string) pgtype.Text {
	return pgtype.Text{String: s, Valid: domain.IsDecimalAmount(s)}
}

func date(s string) pgtype.Date {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return pgtype.Date{}
	}
	return pgtype.Date{Time: t, Valid: true}
}
