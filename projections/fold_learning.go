package projections

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"tally/domain"
	"tally/learning"
	"tally/personal"
)

// issuerKey is a learned_issuers row's key.
type issuerKey struct {
	tenant, key string
}

// learnedRow is a learned_issuers row being folded.
type learnedRow struct {
	priority int32
	lesson   []byte
	document docKey
	eventID  string
	seq      int64
}

// learningFold is learning.Record in memory. Learning reads only
// corrections and purges, but replaying it with statements meant a second
// reader of the whole stream beside the pass, which cost as much as the
// pass's own reading.
type learningFold struct {
	rows map[issuerKey]*learnedRow
	// byDocument holds the keys a document taught, some of them since
	// taken over by a later correction of another document.
	byDocument map[docKey][]string
}

func (Learning) NewFold(*personal.Snapshot) Fold {
	return &learningFold{rows: map[issuerKey]*learnedRow{}, byDocument: map[docKey][]string{}}
}

func (f *learningFold) Apply(_ context.Context, e decoded) error {
	switch e.Type {
	case domain.TypeDocumentCorrected, domain.TypeDocumentPurged:
	default:
		return nil
	}
	id, err := uuid.Parse(e.AggregateID)
	if err != nil {
		return nil
	}
	doc := docKey{e.Tenant, id}
	if e.Type == domain.TypeDocumentPurged {
		// DeleteLearnedFromDocument.
		for _, k := range f.byDocument[doc] {
			if r := f.rows[issuerKey{e.Tenant, k}]; r != nil && r.document == doc {
				delete(f.rows, issuerKey{e.Tenant, k})
			}
		}
		delete(f.byDocument, doc)
		return nil
	}
	if e.err != nil {
		return e.err
	}
	p := e.payload.(*domain.DocumentCorrected)
	l, ok := learning.Learn(p.Previous, p.Corrections)
	if !ok {
		return nil
	}
	raw, err := json.Marshal(l)
	if err != nil {
		return err
	}
	// UpsertLearnedIssuer for each key.
	for _, k := range p.Previous.Issuer.Keys {
		f.rows[issuerKey{e.Tenant, k}] = &learnedRow{priority: int32(learning.Priority(k)), lesson: raw, document: doc,
			eventID: e.ID, seq: int64(e.Sequence)}
		f.byDocument[doc] = append(f.byDocument[doc], k)
	}
	return nil
}

func (f *learningFold) Copy(ctx context.Context, tx pgx.Tx, part, _ int) error {
	if part != 0 {
		return nil // the rows are few: part 0 has them all
	}
	rows := make([][]any, 0, len(f.rows))
	for k, r := range f.rows {
		rows = append(rows, []any{k.tenant, k.key, r.priority, r.lesson, r.document.uuid(), r.eventID, r.seq})
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"learned_issuers"},
		[]string{"tenant", "key", "priority", "lesson", "document_id", "event_id", "seq"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("copy learned_issuers: %w", err)
	}
	return nil
}
