package main

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"tally/commands"
	"tally/readmodel"
)

// purgeEvery is how often the scheduler looks for deleted documents whose
// grace period is over.
const purgeEvery = 10 * time.Minute

// startPurger deletes the files of deleted documents once their grace
// period is over, recording DocumentPurged, until ctx ends.
func startPurger(ctx context.Context, wg *sync.WaitGroup, rt *runtime) {
	cmds := commands.New(rt.events, rt.blobs, rt.log)
	q := readmodel.New(rt.pool)
	wg.Go(func() {
		rt.locker().Every(ctx, "purge-deleted-documents", purgeEvery, func(ctx context.Context) error {
			return purgeDue(ctx, rt, cmds, q)
		}, func(err error) { rt.log.Warn("purge of deleted documents failed; trying again later", "err", err) })
	})
}

func purgeDue(ctx context.Context, rt *runtime, cmds *commands.Handler, q *readmodel.Queries) error {
	due, err := q.DocumentsToPurge(ctx, timestamptzNow())
	if err != nil {
		return err
	}
	for _, d := range due {
		if _, err := cmds.PurgeDocument(ctx, commands.Meta{Tenant: d.Tenant}, d.ID.String()); err != nil {
			return err
		}
		rt.log.Info("deleted document's file purged", "doc_id", d.ID.String())
	}
	return nil
}

func timestamptzNow() pgtype.Timestamptz { return pgtype.Timestamptz{Time: time.Now(), Valid: true} }
