package projections

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"tally/domain"
	"tally/personal"
)

// statusRow is a document_statuses row being folded.
type statusRow struct {
	key     docKey
	status  string
	deleted bool
}

// countKey is a status_counts row's key.
type countKey struct {
	tenant, status string
}

type statusFold struct {
	docs   map[docKey]*statusRow
	order  []*statusRow
	counts map[countKey]int64
	// countOrder keeps the rows in the order they were first counted.
	countOrder []countKey
}

func (StatusCounts) NewFold(*personal.Snapshot) Fold {
	return &statusFold{docs: map[docKey]*statusRow{}, counts: map[countKey]int64{}}
}

// Apply is MoveDocumentStatus in memory: a row that any delta touched
// stays, even at zero, as the upsert leaves it.
func (f *statusFold) Apply(_ context.Context, e decoded) error {
	id, err := uuid.Parse(e.AggregateID)
	if err != nil {
		return nil
	}
	next, moves := domain.StatusAfter(e.Type)
	deletes := e.Type == domain.TypeDocumentDeleted || e.Type == domain.TypeDocumentRestored
	if !moves && !deletes {
		return nil
	}
	key := docKey{e.Tenant, id}
	row := f.docs[key]
	if row == nil {
		if e.Type != domain.TypeDocumentUploaded {
			return nil
		}
		row = &statusRow{key: key} // status "" until it moves below
	}
	if moves && row.status != string(next) {
		if !row.deleted {
			if row.status != "" {
				f.add(e.Tenant, row.status, -1)
			}
			f.add(e.Tenant, string(next), 1)
		}
		if row.status == "" {
			f.docs[key] = row
			f.order = append(f.order, row)
		}
		row.status = string(next)
	}
	if deletes {
		if deleted := e.Type == domain.TypeDocumentDeleted; row.deleted != deleted {
			if deleted {
				f.add(e.Tenant, row.status, -1)
			} else {
				f.add(e.Tenant, row.status, 1)
			}
			row.deleted = deleted
		}
	}
	return nil
}

func (f *statusFold) add(tenant, status string, delta int64) {
	k := countKey{tenant, status}
	if _, ok := f.counts[k]; !ok {
		f.countOrder = append(f.countOrder, k)
	}
	f.counts[k] += delta
}

func (f *statusFold) Copy(ctx context.Context, tx pgx.Tx, part, parts int) error {
	i, end := share(len(f.order), part, parts)
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"document_statuses"}, []string{"tenant", "id", "status", "deleted"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i >= end {
				return nil, nil
			}
			r := f.order[i]
			i++
			return []any{r.key.tenant, r.key.uuid(), r.status, r.deleted}, nil
		})); err != nil {
		return fmt.Errorf("copy document_statuses: %w", err)
	}
	if part != 0 {
		return nil // the counts are few: part 0 has them all
	}
	rows := make([][]any, 0, len(f.countOrder))
	for _, k := range f.countOrder {
		rows = append(rows, []any{k.tenant, k.status, f.counts[k]})
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"status_counts"}, []string{"tenant", "status", "count"},
		pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("copy status_counts: %w", err)
	}
	return nil
}
