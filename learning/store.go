package learning

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"tally/domain"
	"tally/readmodel"
)

// Learnt is a lesson with the correction it came from.
type Learnt struct {
	Key    string // the fingerprint key it was found by
	Lesson Lesson
	From   domain.LearnedFrom
}

// Lookup returns the strongest lesson the tenant's corrections left for
// any of keys; ok=false when there is none.
func Lookup(ctx context.Context, q *readmodel.Queries, tenant string, keys []string) (Learnt, bool, error) {
	if len(keys) == 0 {
		return Learnt{}, false, nil
	}
	row, err := q.LookupLearnedIssuer(ctx, readmodel.LookupLearnedIssuerParams{Tenant: tenant, Keys: keys})
	if errors.Is(err, pgx.ErrNoRows) {
		return Learnt{}, false, nil
	}
	if err != nil {
		return Learnt{}, false, fmt.Errorf("learning: look up issuer: %w", err)
	}
	var l Lesson
	if err := json.Unmarshal(row.Lesson, &l); err != nil {
		return Learnt{}, false, fmt.Errorf("learning: lesson of %s: %w", row.Key, err)
	}
	return Learnt{Key: row.Key, Lesson: l, From: domain.LearnedFrom{DocumentID: row.DocumentID.String(), EventID: row.EventID}}, true, nil
}

// Record applies one event to the learned_issuers read model: a
// correction teaches its lesson under every fingerprint key of the
// corrected document; a purge forgets what the document taught.
func Record(ctx context.Context, q *readmodel.Queries, e domain.Envelope) error {
	switch e.Type {
	case domain.TypeDocumentCorrected, domain.TypeDocumentPurged:
	default:
		return nil
	}
	id, err := uuid.Parse(e.AggregateID)
	if err != nil {
		return nil
	}
	if e.Type == domain.TypeDocumentPurged {
		return q.DeleteLearnedFromDocument(ctx, readmodel.DeleteLearnedFromDocumentParams{Tenant: e.Tenant, DocumentID: id})
	}
	var p domain.DocumentCorrected
	if err := e.Decode(&p); err != nil {
		return err
	}
	l, ok := Learn(p.Previous, p.Corrections)
	if !ok {
		return nil
	}
	raw, err := json.Marshal(l)
	if err != nil {
		return err
	}
	for _, k := range p.Previous.Issuer.Keys {
		if err := q.UpsertLearnedIssuer(ctx, readmodel.UpsertLearnedIssuerParams{Tenant: e.Tenant, Key: k,
			Priority: int32(Priority(k)), Lesson: raw, DocumentID: id, EventID: e.ID, Seq: int64(e.Sequence)}); err != nil {
			return err
		}
	}
	return nil
}
