package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"tally/commands"
	"tally/domain"
	"tally/personal"
)

// printedEvent is an event as `tally events` prints it: the envelope with
// its stream sequence.
type printedEvent struct {
	Sequence uint64 `json:"sequence"`
	domain.Envelope
}

// runEvents is `tally events show DOC_ID [--tenant T]` and
// `tally events tail [--type T] [--from SEQ|TIME]`.
func runEvents(ctx context.Context, rt *runtime, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: tally events show [--tenant NAME] DOC_ID | tally events tail [--type TYPE] [--from SEQ|TIME]")
	}
	rt.useRunningServer("events")
	// Events written before users were sealed name them in the clear;
	// those of erased addresses are printed blank (the pool connects
	// only when such an event comes).
	if err := rt.openDatabase(ctx); err != nil {
		return err
	}
	keys := personal.New(rt.pool)
	out := json.NewEncoder(stdout)
	switch args[0] {
	case "show":
		fs := flag.NewFlagSet("events show", flag.ContinueOnError)
		tenant := fs.String("tenant", rt.cfg.DefaultTenant, "tenant of the document")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return errors.New("usage: tally events show [--tenant NAME] DOC_ID")
		}
		if err := rt.openEvents(ctx); err != nil {
			return err
		}
		history, err := commands.NewDocuments(rt.events, rt.log).History(ctx, *tenant, fs.Arg(0))
		if err != nil {
			return err
		}
		out.SetIndent("", "  ")
		for _, e := range history {
			if e, err = keys.Redact(ctx, e); err != nil {
				return err
			}
			if err := out.Encode(printedEvent{Sequence: e.Sequence, Envelope: e}); err != nil {
				return err
			}
		}
		return nil
	case "tail":
		fs := flag.NewFlagSet("events tail", flag.ContinueOnError)
		eventType := fs.String("type", "", "only events of this type")
		from := fs.String("from", "", "start at this stream sequence or RFC 3339 time (default: new events only)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if err := rt.openEvents(ctx); err != nil {
			return err
		}
		reader, err := func() (interface {
			Next(context.Context, int, time.Duration) ([]domain.Envelope, error)
			Close()
		}, error) {
			if *from == "" {
				last, err := rt.events.LastSequence(ctx)
				if err != nil {
					return nil, err
				}
				return rt.events.Subscribe(ctx, last+1)
			}
			if seq, err := strconv.ParseUint(*from, 10, 64); err == nil {
				return rt.events.Subscribe(ctx, seq)
			}
			t, err := time.Parse(time.RFC3339Nano, *from)
			if err != nil {
				return nil, fmt.Errorf("--from %q is neither a sequence nor an RFC 3339 time", *from)
			}
			return rt.events.SubscribeSince(ctx, t)
		}()
		if err != nil {
			return err
		}
		defer reader.Close()
		for {
			batch, err := reader.Next(ctx, 100, 10*time.Millisecond)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			for _, e := range batch {
				if *eventType != "" && e.Type != *eventType {
					continue
				}
				if e, err = keys.Redact(ctx, e); err != nil {
					return err
				}
				if err := out.Encode(printedEvent{Sequence: e.Sequence, Envelope: e}); err != nil {
					return err
				}
			}
		}
	}
	return fmt.Errorf("unknown events command %q", args[0])
}
