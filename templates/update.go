package templates

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// Outcomes of an update run.
const (
	OutcomeActivated = "activated" // a new bundle is active
	OutcomeUnchanged = "unchanged" // the newest bundle is stored already
	OutcomeNone      = "none"      // the source holds no bundle
)

// Result says what an update run did.
type Result struct {
	Outcome string
	// Source names the file used, when there was one.
	Source     string
	Activation Activation
}

// Updater installs the newest bundle of a source: the OTA update cron.
type Updater struct {
	Store  *Store
	Source Source
	Log    *slog.Logger
	// Signatures decides which bundles may be installed; its zero value
	// refuses every one.
	Signatures Verifier
}

// RunOnce fetches the newest bundle and, unless its version is stored
// already, checks, stores and activates it. A refused bundle is a
// *RefusedError and leaves the active bundle as it was.
func (u *Updater) RunOnce(ctx context.Context) (Result, error) {
	log := u.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f, err := u.Source.Newest(ctx)
	if err != nil {
		return Result{}, err
	}
	if f == nil {
		log.Info("no template bundle published", "source", u.Source.String())
		return Result{Outcome: OutcomeNone}, nil
	}
	if err := u.Signatures.Verify(f); err != nil {
		return Result{Source: f.Name}, &RefusedError{Err: fmt.Errorf("%s: %w", f.Name, err)}
	}
	act, err := u.Store.Install(ctx, f.Data, f.Name)
	switch {
	case errors.Is(err, ErrAlreadyStored):
		log.Info("newest template bundle already stored", "source", f.Name, "detail", err.Error())
		return Result{Outcome: OutcomeUnchanged, Source: f.Name}, nil
	case err != nil:
		return Result{Source: f.Name}, err
	}
	log.Info("template bundle activated", "version", act.Version, "previous", act.PreviousVersion,
		"templates", act.Templates, "checksum", act.Checksum, "source", f.Name, "sequence", act.Sequence)
	return Result{Outcome: OutcomeActivated, Source: f.Name, Activation: act}, nil
}
