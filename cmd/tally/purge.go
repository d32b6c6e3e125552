package main

import (
	"context"
	"sync"

	"tally/commands"
	"tally/purge"
	"tally/readmodel"
)

// startPurger deletes the files of deleted documents once their grace
// period is over, until ctx ends.
func startPurger(ctx context.Context, wg *sync.WaitGroup, rt *runtime) {
	p := rt.purger()
	wg.Go(func() { p.Run(ctx, rt.locker()) })
}

func (r *runtime) purger() *purge.Purger {
	return &purge.Purger{Commands: commands.New(r.events, r.blobs, r.log), Queries: readmodel.New(r.pool), Log: r.log}
}
