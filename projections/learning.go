package projections

import (
	"context"

	"tally/domain"
	"tally/learning"
	"tally/readmodel"
)

// Learning projects learned_issuers: what each tenant's corrections
// taught about the issuers of its documents (package learning).
type Learning struct{}

func (Learning) Name() string { return "learning" }

func (Learning) Tables() []string { return []string{"learned_issuers"} }

func (Learning) Reset(ctx context.Context, q *readmodel.Queries) error {
	return q.TruncateLearnedIssuers(ctx)
}

func (Learning) Apply(ctx context.Context, q *readmodel.Queries, e domain.Envelope) error {
	return learning.Record(ctx, q, e)
}
