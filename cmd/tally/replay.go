package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"tally/projections"
)

// runReplay is `tally replay --projection NAME|all`: rebuild read models
// from sequence 0 into new tables and swap them in.
func runReplay(ctx context.Context, rt *runtime, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	name := fs.String("projection", "", "projection to rebuild: documents, status_counts, monthly_totals, learning, search or all")
	maxFold := fs.Uint64("max-fold-events", projections.MaxFoldEvents(),
		"longest history folded in memory (about 3 KB an event); a longer one is replayed event by event; 0: no bound")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var selected []projections.Projector
	var names []string
	for _, p := range projections.All() {
		names = append(names, p.Name())
		if *name == "all" || *name == p.Name() {
			selected = append(selected, p)
		}
	}
	if len(selected) == 0 {
		return fmt.Errorf("--projection must be one of %s or all", strings.Join(names, ", "))
	}
	rt.useRunningServer("replay")
	if err := rt.openDatabase(ctx); err != nil {
		return err
	}
	if err := rt.openEvents(ctx); err != nil {
		return err
	}
	started := time.Now()
	rb := &projections.Rebuild{Pool: rt.pool, Store: rt.events, Projectors: selected, Log: rt.log, MaxFoldEvents: *maxFold,
		OnProgress: func(p projections.Progress) {
			fmt.Fprintf(stdout, "%-15s %d/%d events  %.0f events/s  ETA %s\n", p.Projector, p.Position, p.Target,
				p.PerSecond, p.ETA.Round(time.Second))
		}}
	n, err := rb.Run(ctx)
	if err != nil {
		return err
	}
	secs := time.Since(started).Seconds()
	fmt.Fprintf(stdout, "rebuilt %s from %d events in %.1fs (%.0f events/s) and swapped them in\n",
		*name, n, secs, float64(n)/secs)
	return nil
}
