package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"

	"tally/commands"
	"tally/personal"
)

// runUsers is `tally users erase [--tenant T] EMAIL`.
func runUsers(ctx context.Context, rt *runtime, args []string, stdout io.Writer) error {
	const use = "usage: tally users erase [--tenant NAME] EMAIL"
	if len(args) == 0 || args[0] != "erase" {
		return errors.New(use)
	}
	fs := flag.NewFlagSet("users erase", flag.ContinueOnError)
	tenant := fs.String("tenant", rt.cfg.DefaultTenant, "tenant of the user")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New(use)
	}
	rt.useRunningServer("users erase")
	if err := rt.openDatabase(ctx); err != nil {
		return err
	}
	if err := rt.openEvents(ctx); err != nil {
		return err
	}
	// The blob store too: an erasure deletes the user's files.
	if err := rt.openBlobs(ctx); err != nil {
		return err
	}
	h := commands.New(rt.events, rt.blobs, rt.log, commands.WithPeople(personal.New(rt.pool)))
	ids, err := h.EraseUser(ctx, commands.EraseUser{Meta: commands.Meta{Tenant: *tenant}, Email: personal.Normalise(fs.Arg(0))})
	if err != nil {
		return err
	}
	// The ids only: the address is what was just erased.
	return json.NewEncoder(stdout).Encode(map[string]any{"tenant": *tenant, "erased_user_ids": ids})
}
