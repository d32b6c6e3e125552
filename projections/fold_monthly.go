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

// monthlyRow is a monthly_documents row being folded.
type monthlyRow struct {
	key                 docKey
	owner               owner
	uploadedAt          pgtype.Timestamptz
	attempt             int32
	month, currency     pgtype.Text
	amount              nullDecimal
	machine, correction []byte
	deleted, duplicate  bool
}

// totalKey is a monthly_totals row's key.
type totalKey struct {
	tenant, userID, month, currency string
}

// totalRow is a monthly_totals row being folded; its user_email is its
// owner's as the document that made the row showed it then.
type totalRow struct {
	owner     owner
	total     decimal
	documents int64
}

type monthlyFold struct {
	users  *personal.Snapshot
	docs   map[docKey]*monthlyRow
	order  []*monthlyRow
	byUser map[userKey][]*monthlyRow
	totals map[totalKey]*totalRow
}

func (MonthlyTotals) NewFold(users *personal.Snapshot) Fold {
	return &monthlyFold{users: users, docs: map[docKey]*monthlyRow{}, byUser: map[userKey][]*monthlyRow{},
		totals: map[totalKey]*totalRow{}}
}

func (f *monthlyFold) Apply(ctx context.Context, e decoded) error {
	id, err := uuid.Parse(e.AggregateID)
	if err != nil {
		return nil
	}
	key := docKey{e.Tenant, id}
	doc := f.docs[key]
	switch e.Type {
	case domain.TypeDocumentUploaded:
		if e.err != nil {
			return e.err
		}
		p := e.payload.(*domain.DocumentUploaded)
		userID, err := f.users.ID(ctx, p.Owner())
		if err != nil {
			return err
		}
		if doc == nil {
			doc = &monthlyRow{key: key, owner: owner{tenant: e.Tenant, sealed: p.Owner(), id: userID},
				uploadedAt: timestamptz(uploadTime(*p, e.Envelope)), attempt: int32(max(p.Attempt, 1))}
			f.docs[key] = doc
			f.order = append(f.order, doc)
			u := userKey{e.Tenant, userID}
			f.byUser[u] = append(f.byUser[u], doc)
		}
	case domain.TypeUserErased:
		if e.err != nil {
			return e.err
		}
		p := e.payload.(*domain.UserErased)
		if p.UserID == "" {
			return nil
		}
		for _, d := range f.byUser[userKey{e.Tenant, p.UserID}] {
			d.owner.blanked = true
		}
		for k, t := range f.totals {
			if k.tenant == e.Tenant && k.userID == p.UserID {
				t.owner.blanked = true
			}
		}
	case domain.TypeExtractionRequested:
		if e.err != nil {
			return e.err
		}
		p := e.payload.(*domain.ExtractionRequested)
		if doc != nil && doc.attempt < int32(p.Attempt) {
			doc.attempt = int32(p.Attempt)
		}
	case domain.TypeReceiptExtracted, domain.TypeExtractionRevised, domain.TypeDocumentCorrected, domain.TypeDocumentDeleted,
		domain.TypeDocumentRestored, domain.TypeDuplicateDetected:
		if doc == nil {
			return nil
		}
		machine, corrections, deleted := decodeFields(doc.machine), decodeFields(doc.correction), doc.deleted
		var machineJSON, correctionsJSON []byte // nil: marshal them
		switch e.Type {
		case domain.TypeReceiptExtracted, domain.TypeExtractionRevised:
			if e.err != nil {
				return e.err
			}
			p := e.payload.(*domain.ReceiptExtracted)
			if int(doc.attempt) != p.Attempt {
				return nil
			}
			machine, machineJSON = p.Fields, e.fieldsJSON
		case domain.TypeDocumentCorrected:
			if e.err != nil {
				return e.err
			}
			corrections, correctionsJSON = e.payload.(*domain.DocumentCorrected).Corrections, e.fieldsJSON
		case domain.TypeDocumentDeleted:
			deleted = true
		case domain.TypeDocumentRestored:
			deleted = false
		case domain.TypeDuplicateDetected:
			doc.duplicate = true
		}
		if doc.machine = machineJSON; doc.machine == nil {
			doc.machine, _ = json.Marshal(machine)
		}
		if doc.correction = correctionsJSON; doc.correction == nil {
			doc.correction, _ = json.Marshal(corrections)
		}
		doc.deleted = deleted
		f.recontribute(doc, domain.Merge(machine, corrections), deleted || doc.duplicate)
	}
	return nil
}

// recontribute is recontribute in memory.
func (f *monthlyFold) recontribute(doc *monthlyRow, eff domain.Fields, deleted bool) {
	if doc.amount.valid {
		k := totalKey{doc.key.tenant, doc.owner.id, doc.month.String, doc.currency.String}
		t := f.addTotal(k, doc.owner, doc.amount.neg(), -1)
		if t.documents == 0 {
			delete(f.totals, k)
		}
	}
	if deleted || !domain.IsDecimalAmount(eff.Total) {
		doc.month, doc.currency, doc.amount = pgtype.Text{}, pgtype.Text{}, nullDecimal{}
		return
	}
	month, currency := monthOf(eff, doc.uploadedAt.Time), eff.Currency
	if currency == "" {
		currency = NoCurrency
	}
	amount := parseDecimal(eff.Total)
	f.addTotal(totalKey{doc.key.tenant, doc.owner.id, month, currency}, doc.owner, amount, 1)
	doc.month, doc.currency, doc.amount = text(month), text(currency), nullDecimal{decimal: amount, valid: true}
}

// addTotal is AddMonthlyTotal's upsert: a new row takes the document's
// user as shown now.
func (f *monthlyFold) addTotal(k totalKey, o owner, amount decimal, documents int64) *totalRow {
	t := f.totals[k]
	if t == nil {
		t = &totalRow{owner: o, total: amount, documents: documents}
		f.totals[k] = t
		return t
	}
	t.total = t.total.add(amount)
	t.documents += documents
	return t
}

func (f *monthlyFold) Copy(ctx context.Context, tx pgx.Tx, part, parts int) error {
	i, end := share(len(f.order), part, parts)
	var failed error
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"monthly_documents"},
		[]string{"tenant", "id", "user_email", "uploaded_at", "attempt", "month", "currency", "amount", "machine",
			"corrections", "deleted", "user_id", "duplicate"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i >= end {
				return nil, nil
			}
			d := f.order[i]
			i++
			u, err := d.owner.opened(ctx, f.users)
			if err != nil {
				failed = err
				return nil, err
			}
			return []any{d.key.tenant, d.key.uuid(), u.Email, d.uploadedAt, d.attempt, d.month, d.currency, d.amount.numeric(),
				jsonb(d.machine), jsonb(d.correction), d.deleted, d.owner.id, d.duplicate}, nil
		})); err != nil {
		return fmt.Errorf("copy monthly_documents: %w", errors.Join(failed, err))
	}
	if part != 0 {
		return nil // part 0 has the totals
	}
	rows := make([][]any, 0, len(f.totals))
	for k, t := range f.totals {
		u, err := t.owner.opened(ctx, f.users)
		if err != nil {
			return err
		}
		rows = append(rows, []any{k.tenant, k.userID, u.Email, k.month, k.currency, t.total.numeric(), t.documents})
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"monthly_totals"},
		[]string{"tenant", "user_id", "user_email", "month", "currency", "total", "documents"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("copy monthly_totals: %w", err)
	}
	return nil
}
