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

// docKey is a document's key in the read models.
type docKey struct {
	tenant string
	id     uuid.UUID
}

// uuid is the id as COPY sends it without a detour through text.
func (k docKey) uuid() pgtype.UUID { return pgtype.UUID{Bytes: k.id, Valid: true} }

// userKey is a user's key in the read models.
type userKey struct {
	tenant, id string
}

// owner is an upload's user, opened only when the rows are written (see
// Rebuild: the keys are read after the stream). blanked is set once a
// UserErased reached the row.
type owner struct {
	tenant  string
	sealed  domain.SealedUser
	id      string
	blanked bool
}

// opened is the owner's name and e-mail as the row shows them.
func (o owner) opened(ctx context.Context, users *personal.Snapshot) (domain.User, error) {
	if o.blanked {
		return domain.User{}, nil
	}
	u, err := users.Open(ctx, o.tenant, o.sealed)
	if errors.Is(err, personal.ErrUnreadable) {
		return domain.User{}, nil // as openOwner: shown like an erased user
	}
	return u.User, err
}

// shown is an upload of the owner's as the row shows it (openOwner):
// its Private opened, or blank once a UserErased reached the row.
func (o owner) shown(ctx context.Context, users *personal.Snapshot, p *domain.DocumentUploaded) (domain.DocumentUploaded, error) {
	if o.blanked {
		return p.WithPrivate(domain.Private{}), nil
	}
	up, _, err := personal.OpenUpload(ctx, users, o.tenant, *p)
	return up, err
}

// documentRow is a documents row being folded; each field holds what the
// statements of Documents.Apply would have left in its column.
type documentRow struct {
	key                                               docKey
	status                                            string
	source, contentType, sha256, blobKey              string
	size                                              int64
	owner                                             owner
	attempt                                           int32
	fields, machine, corrections                      []byte
	vendor, currency, failure, duplicateReason        pgtype.Text
	date                                              pgtype.Date
	total                                             nullDecimal
	created, updated, deletedAt, purgeAfter, purgedAt pgtype.Timestamptz
	lastSequence                                      int64
	duplicateOf                                       pgtype.UUID
	// upload is the DocumentUploaded that made the row (its file name)
	// and detail the last one with an e-mail or a job (those columns),
	// as stored: their Private opens at Copy, with the users.
	upload, detail *domain.DocumentUploaded
}

type documentsFold struct {
	users  *personal.Snapshot
	rows   map[docKey]*documentRow
	order  []*documentRow
	byUser map[userKey][]*documentRow
}

func (Documents) NewFold(users *personal.Snapshot) Fold {
	return &documentsFold{users: users, rows: map[docKey]*documentRow{}, byUser: map[userKey][]*documentRow{}}
}

func (f *documentsFold) Apply(ctx context.Context, e decoded) error {
	id, err := uuid.Parse(e.AggregateID)
	if err != nil {
		return nil // not a document this read model can hold
	}
	if e.payload != nil && e.err != nil {
		return e.err
	}
	key := docKey{e.Tenant, id}
	at := timestamptz(e.OccurredAt)
	seq := int64(e.Sequence)
	row := f.rows[key]
	switch e.Type {
	case domain.TypeDocumentUploaded:
		p := e.payload.(*domain.DocumentUploaded)
		userID, err := f.users.ID(ctx, p.Owner())
		if err != nil {
			return err
		}
		if row == nil {
			row = &documentRow{key: key, status: statusAfter(e.Type), source: p.Source, upload: p,
				contentType: p.ContentType, size: p.Size, sha256: p.SHA256, blobKey: p.BlobKey,
				owner:   owner{tenant: e.Tenant, sealed: p.Owner(), id: userID},
				attempt: int32(max(p.Attempt, 1)), created: timestamptz(uploadTime(*p, e.Envelope)),
				lastSequence: seq}
			row.updated = row.created
			f.rows[key] = row
			f.order = append(f.order, row)
			u := userKey{e.Tenant, userID}
			f.byUser[u] = append(f.byUser[u], row)
		}
		if p.Email != nil || p.Job != nil {
			row.detail = p
		}
	case domain.TypeDuplicateDetected:
		p := e.payload.(*domain.DuplicateDetected)
		of, err := uuid.Parse(p.Of)
		if err != nil {
			return fmt.Errorf("decode %s %s: duplicate of %q: %w", e.Type, e.ID, p.Of, err)
		}
		if row != nil {
			row.duplicateOf = pgtype.UUID{Bytes: of, Valid: true}
			row.duplicateReason = text(p.Reason)
			row.updated, row.lastSequence = at, seq
		}
	case domain.TypeUserErased:
		p := e.payload.(*domain.UserErased)
		if p.UserID == "" {
			return nil
		}
		for _, r := range f.byUser[userKey{e.Tenant, p.UserID}] {
			r.owner.blanked = true
		}
	case domain.TypeExtractionRequested:
		p := e.payload.(*domain.ExtractionRequested)
		if row != nil && row.attempt < int32(p.Attempt) {
			row.status, row.attempt, row.failure = statusAfter(e.Type), int32(p.Attempt), pgtype.Text{}
			row.updated, row.lastSequence = at, seq
		}
	case domain.TypeExtractionStarted:
		p := e.payload.(*domain.ExtractionStarted)
		if row != nil && row.attempt == int32(p.Attempt) && row.status == string(domain.StatusPending) {
			row.status = statusAfter(e.Type)
			row.updated, row.lastSequence = at, seq
		}
	case domain.TypeReceiptExtracted, domain.TypeExtractionRevised:
		p := e.payload.(*domain.ReceiptExtracted)
		if row == nil || row.attempt != int32(p.Attempt) {
			return nil
		}
		eff := domain.Merge(p.Fields, decodeFields(row.corrections))
		row.machine = e.fieldsJSON
		row.fields, _ = json.Marshal(eff)
		row.status = statusAfter(e.Type)
		row.setValues(eff)
		row.failure = pgtype.Text{}
		row.updated, row.lastSequence = at, seq
	case domain.TypeExtractionFailed:
		p := e.payload.(*domain.ExtractionFailed)
		if row != nil && row.attempt == int32(p.Attempt) {
			row.status, row.failure = statusAfter(e.Type), pgtype.Text{String: p.Reason, Valid: true}
			row.updated, row.lastSequence = at, seq
		}
	case domain.TypeDocumentCorrected:
		p := e.payload.(*domain.DocumentCorrected)
		if row == nil {
			return nil
		}
		eff := domain.Merge(decodeFields(row.machine), p.Corrections)
		row.corrections = e.fieldsJSON
		row.fields, _ = json.Marshal(eff)
		row.setValues(eff)
		row.updated, row.lastSequence = at, seq
	case domain.TypeDocumentDeleted:
		p := e.payload.(*domain.DocumentDeleted)
		if row != nil {
			row.deletedAt, row.purgeAfter = at, timestamptz(p.PurgeAfter)
			row.updated, row.lastSequence = at, seq
		}
	case domain.TypeDocumentRestored:
		if row != nil {
			row.deletedAt, row.purgeAfter = pgtype.Timestamptz{}, pgtype.Timestamptz{}
			row.updated, row.lastSequence = at, seq
		}
	case domain.TypeDocumentPurged:
		if row != nil {
			row.purgedAt, row.lastSequence = at, seq
		}
	}
	return nil
}

// setValues sets the columns taken from the effective fields.
func (r *documentRow) setValues(eff domain.Fields) {
	r.vendor, r.date, r.currency, r.total = text(eff.Vendor), date(eff.Date), text(eff.Currency), amountOf(eff.Total)
}

var documentColumns = []string{"tenant", "id", "status", "source", "filename", "content_type", "size_bytes", "sha256",
	"blob_key", "user_name", "user_email", "attempt", "fields", "vendor", "document_date", "currency", "total",
	"failure_reason", "created_at", "updated_at", "last_sequence", "machine_fields", "corrections", "deleted_at",
	"purge_after", "purged_at", "user_id", "duplicate_of", "duplicate_reason", "email", "job"}

func (f *documentsFold) Copy(ctx context.Context, tx pgx.Tx, part, parts int) error {
	i, end := share(len(f.order), part, parts)
	var failed error
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i >= end {
			return nil, nil
		}
		r := f.order[i]
		i++
		u, err := r.owner.opened(ctx, f.users)
		if err != nil {
			failed = err
			return nil, err
		}
		up, err := r.owner.shown(ctx, f.users, r.upload)
		if err != nil {
			failed = err
			return nil, err
		}
		var email, job []byte
		if r.detail != nil {
			// A later upload of the same document (a retry) names the
			// same user: its e-mail and job show as the owner's do.
			detail, err := r.owner.shown(ctx, f.users, r.detail)
			if err != nil {
				failed = err
				return nil, err
			}
			if detail.Email != nil {
				email, _ = json.Marshal(detail.Email)
			}
			if detail.Job != nil {
				job, _ = json.Marshal(detail.Job)
			}
		}
		return []any{r.key.tenant, r.key.uuid(), r.status, r.source, up.Filename, r.contentType, r.size, r.sha256,
			r.blobKey, u.Name, u.Email, r.attempt, jsonb(r.fields), r.vendor, r.date, r.currency, r.total.numeric(),
			r.failure, r.created, r.updated, r.lastSequence, jsonb(r.machine), jsonb(r.corrections), r.deletedAt,
			r.purgeAfter, r.purgedAt, r.owner.id, r.duplicateOf, r.duplicateReason, jsonb(email), jsonb(job)}, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"documents"}, documentColumns, src); err != nil {
		return fmt.Errorf("copy documents: %w", errors.Join(failed, err))
	}
	return nil
}

// jsonb is a JSON column's value: NULL for nil.
func jsonb(raw []byte) any {
	if raw == nil {
		return nil
	}
	return raw
}

// statusAfter is domain.StatusAfter as a column value.
func statusAfter(eventType string) string {
	s, _ := domain.StatusAfter(eventType)
	return string(s)
}
