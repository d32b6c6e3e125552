package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"tally/domain"
	"tally/personal"
)

// searchRow is a search_documents row being folded; each field holds what
// the statements of Search.Apply would have left in its column. The file
// name, the indexed text and the body depend on the user's key, so they
// are made at Copy (see owner): words are the fields the last statement
// that wrote search_text indexed, and result the last result whose text
// the body shows (nil: none, or erasure blanked it since).
type searchRow struct {
	key                             docKey
	owner                           owner
	upload                          *domain.DocumentUploaded
	status, source                  string
	attempt                         int32
	machine, corrections            []byte
	vendor, invoiceNumber, currency pgtype.Text
	date                            pgtype.Date
	total                           nullDecimal
	deleted, needsReview            bool
	created, updated                pgtype.Timestamptz
	words                           searchWords
	result                          *domain.ResultText
}

// searchWords are the fields that searchText indexes, kept without the
// rest of the result (its maps above all) for a smaller heap.
type searchWords struct {
	vendor, invoiceNumber string
	items                 []domain.LineItem
}

func wordsOf(f domain.Fields) searchWords {
	return searchWords{vendor: f.Vendor, invoiceNumber: f.InvoiceNumber, items: f.LineItems}
}

func (w searchWords) fields() domain.Fields {
	return domain.Fields{Vendor: w.vendor, InvoiceNumber: w.invoiceNumber, LineItems: w.items}
}

type searchFold struct {
	users  *personal.Snapshot
	rows   map[docKey]*searchRow
	order  []*searchRow
	byUser map[userKey][]*searchRow
}

func (Search) NewFold(users *personal.Snapshot) Fold {
	return &searchFold{users: users, rows: map[docKey]*searchRow{}, byUser: map[userKey][]*searchRow{}}
}

func (f *searchFold) Apply(ctx context.Context, e decoded) error {
	id, err := uuid.Parse(e.AggregateID)
	if err != nil {
		return nil
	}
	if e.payload != nil && e.err != nil {
		return e.err
	}
	key := docKey{e.Tenant, id}
	at := timestamptz(e.OccurredAt)
	row := f.rows[key]
	switch e.Type {
	case domain.TypeDocumentUploaded:
		p := e.payload.(*domain.DocumentUploaded)
		userID, err := f.users.ID(ctx, p.Owner())
		if err != nil {
			return err
		}
		if row != nil {
			return nil // ON CONFLICT DO NOTHING
		}
		row = &searchRow{key: key, owner: owner{tenant: e.Tenant, sealed: p.Owner(), id: userID}, upload: p,
			status: string(domain.StatusPending), source: p.Source, attempt: int32(max(p.Attempt, 1)),
			created: timestamptz(uploadTime(*p, e.Envelope))}
		row.updated = row.created
		f.rows[key] = row
		f.order = append(f.order, row)
		u := userKey{e.Tenant, userID}
		f.byUser[u] = append(f.byUser[u], row)
	case domain.TypeExtractionRequested:
		p := e.payload.(*domain.ExtractionRequested)
		if row != nil && row.attempt < int32(p.Attempt) {
			row.status, row.needsReview, row.attempt, row.updated = string(domain.StatusPending), false, int32(p.Attempt), at
		}
	case domain.TypeExtractionStarted:
		p := e.payload.(*domain.ExtractionStarted)
		if row != nil && row.attempt == int32(p.Attempt) && row.status == string(domain.StatusPending) {
			row.status, row.updated = string(domain.StatusProcessing), at
		}
	case domain.TypeExtractionFailed:
		p := e.payload.(*domain.ExtractionFailed)
		if row != nil && row.attempt == int32(p.Attempt) {
			row.status, row.needsReview, row.updated = string(domain.StatusFailed), false, at
		}
	case domain.TypeUserErased:
		p := e.payload.(*domain.UserErased)
		if p.UserID == "" {
			return nil
		}
		for _, r := range f.byUser[userKey{e.Tenant, p.UserID}] {
			r.owner.blanked, r.result = true, nil
			r.words = wordsOf(domain.Merge(decodeFields(r.machine), decodeFields(r.corrections)))
			r.updated = at
		}
	case domain.TypeDocumentDeleted, domain.TypeDocumentRestored:
		if row != nil {
			row.deleted, row.updated = e.Type == domain.TypeDocumentDeleted, at
		}
	case domain.TypeReceiptExtracted, domain.TypeExtractionRevised:
		p := e.payload.(*domain.ReceiptExtracted)
		if row == nil || row.attempt != int32(p.Attempt) {
			return nil // a stale attempt's result
		}
		row.status = statusAfter(e.Type)
		// A copy: the result's other fields need not stay in memory.
		result := p.ResultText
		row.result = &result
		row.setValues(p.Fields, decodeFields(row.corrections), e.fieldsJSON, nil, at)
	case domain.TypeDocumentCorrected:
		p := e.payload.(*domain.DocumentCorrected)
		if row == nil {
			return nil
		}
		row.setValues(decodeFields(row.machine), p.Corrections, nil, e.fieldsJSON, at)
	}
	return nil
}

// setValues is SetSearchValues in memory; machineJSON and
// correctionsJSON are machine and corrections as JSON where the event
// had them so (nil: marshal them).
func (r *searchRow) setValues(machine, corrections domain.Fields, machineJSON, correctionsJSON []byte, at pgtype.Timestamptz) {
	eff := domain.Merge(machine, corrections)
	r.needsReview = r.status == string(domain.StatusCompleted) && domain.NeedsReview(machine, corrections)
	if r.machine = machineJSON; r.machine == nil {
		r.machine, _ = json.Marshal(machine)
	}
	if r.corrections = correctionsJSON; r.corrections == nil {
		r.corrections, _ = json.Marshal(corrections)
	}
	r.vendor, r.invoiceNumber, r.date = text(eff.Vendor), text(eff.InvoiceNumber), date(eff.Date)
	r.currency, r.total = text(eff.Currency), amountOf(eff.Total)
	r.words, r.updated = wordsOf(eff), at
}

// searchColumns leaves out tsv: PostgreSQL computes it during the COPY.
var searchColumns = []string{"tenant", "id", "user_id", "status", "source", "filename", "attempt", "machine",
	"corrections", "vendor", "invoice_number", "document_date", "currency", "total", "deleted", "created_at",
	"updated_at", "search_text", "needs_review", "body"}

func (f *searchFold) Copy(ctx context.Context, tx pgx.Tx, part, parts int) error {
	i, end := share(len(f.order), part, parts)
	var failed error
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i >= end {
			return nil, nil
		}
		r := f.order[i]
		i++
		up, err := r.owner.shown(ctx, f.users, r.upload)
		if err != nil {
			failed = err
			return nil, err
		}
		body := ""
		if r.result != nil {
			t, err := personal.OpenResultText(ctx, f.users, r.key.tenant, *r.result)
			if err != nil {
				failed = err
				return nil, err
			}
			body = bodyText(t)
		}
		return []any{r.key.tenant, r.key.uuid(), r.owner.id, r.status, r.source, up.Filename, r.attempt,
			jsonb(r.machine), jsonb(r.corrections), r.vendor, r.invoiceNumber, r.date, r.currency, r.total.numeric(),
			r.deleted, r.created, r.updated, searchText(up.Filename, r.words.fields()), r.needsReview, body}, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"search_documents"}, searchColumns, src); err != nil {
		return fmt.Errorf("copy search_documents: %w", errors.Join(failed, err))
	}
	return nil
}
