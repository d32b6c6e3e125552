package commands

import (
	"context"
	"errors"
	"fmt"

	"tally/domain"
	"tally/eventstore"
)

// Job finds an e-receipt job by its number, the stream sequence of the
// DocumentUploaded that created it, and returns its document. Reading the
// stream at that position cannot lag behind the way a read model can, so a
// job is found the moment create_job answers. Another tenant's job, or a
// position that holds something else, is ErrNotFound.
func (r *Documents) Job(ctx context.Context, tenant string, jobID uint64) (*domain.Document, error) {
	if jobID == 0 {
		return nil, fmt.Errorf("job %d: %w", jobID, domain.ErrNotFound)
	}
	e, err := r.events.At(ctx, jobID)
	if errors.Is(err, eventstore.ErrNotFound) {
		return nil, fmt.Errorf("job %d: %w", jobID, domain.ErrNotFound)
	}
	if err != nil {
		return nil, ErrEventStore.Wrap(err)
	}
	if e.Tenant != tenant || e.Type != domain.TypeDocumentUploaded || e.AggregateType != domain.AggregateDocument {
		return nil, fmt.Errorf("job %d: %w", jobID, domain.ErrNotFound)
	}
	var p domain.DocumentUploaded
	if err := e.Decode(&p); err != nil {
		return nil, err
	}
	if p.Source != domain.SourceEReceipt {
		return nil, fmt.Errorf("job %d: %w", jobID, domain.ErrNotFound)
	}
	return r.Load(ctx, tenant, e.AggregateID)
}
