// Package purge deletes the files of deleted documents once their grace
// period (DELETION_GRACE_DAYS) is over, recording DocumentPurged for each.
//
// Invariants: a document's file goes only after its DocumentDeleted is in
// the read model and its grace period is over; a purge is a command, so
// running it twice (two replicas, a restart) purges once.
package purge

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"tally/commands"
	"tally/readmodel"
	"tally/supervise"
)

// Every is how often the purger looks for documents whose grace period is
// over.
const Every = 10 * time.Minute

// Purger purges what is due.
type Purger struct {
	Commands *commands.Handler
	Queries  *readmodel.Queries
	Log      *slog.Logger
}

// Run purges what is due every Every until ctx ends. Replicas may all run
// it: an advisory lock lets one work at a time.
func (p *Purger) Run(ctx context.Context, l supervise.Locker) {
	l.Every(ctx, "purge-deleted-documents", Every, p.Due,
		func(err error) { p.Log.Warn("purge of deleted documents failed; trying again later", "err", err) })
}

// Due purges every deleted document whose grace period is over.
func (p *Purger) Due(ctx context.Context) error {
	due, err := p.Queries.DocumentsToPurge(ctx, pgtype.Timestamptz{Time: time.Now(), Valid: true})
	if err != nil {
		return err
	}
	for _, d := range due {
		if _, err := p.Commands.PurgeDocument(ctx, commands.Meta{Tenant: d.Tenant}, d.ID.String()); err != nil {
			return err
		}
		p.Log.Info("deleted document's file purged", "doc_id", d.ID.String())
	}
	return nil
}
