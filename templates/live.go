package templates

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"tally/domain"
	"tally/extract"
	"tally/readmodel"
)

var (
	_ extract.TemplateMatcher = (*Live)(nil)
	_ extract.TemplateMatcher = (*Set)(nil)
)

// DefaultRefresh is how often Live looks for a newly activated bundle.
const DefaultRefresh = 10 * time.Second

// Live is the active template bundle of a running process. It follows
// activations (and rollbacks) in the database by polling the active
// version, so workers switch bundles without a restart; a document being
// matched while it switches sees either the old or the new bundle whole.
// It implements extract.TemplateMatcher and is safe for concurrent use.
type Live struct {
	q   *readmodel.Queries
	log *slog.Logger
	cur atomic.Pointer[liveSet]
}

// liveSet is what Live holds: the compiled set (nil: no bundle active) and
// the row it came from, to notice a change.
type liveSet struct {
	set      *Set
	version  string
	checksum string
}

// NewLive returns a Live on the database; it matches nothing until Refresh
// (or Run) has loaded the active bundle.
func NewLive(db readmodel.DBTX, log *slog.Logger) *Live {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Live{q: readmodel.New(db), log: log}
	l.cur.Store(&liveSet{})
	return l
}

// Match applies the active bundle (see Set.Match).
func (l *Live) Match(text string) (fields domain.Fields, template string, version string, ok bool) {
	return l.cur.Load().set.Match(text)
}

// Version is the version of the bundle in use, "" when none.
func (l *Live) Version() string { return l.cur.Load().version }

// Refresh loads the active bundle if it is not the one in use. On an error
// the bundle in use stays.
func (l *Live) Refresh(ctx context.Context) error {
	cur := l.cur.Load()
	row, err := l.q.ActiveTemplateVersion(ctx)
	if errors.Is(err, pgx.ErrNoRows) {
		if cur.set != nil {
			l.cur.Store(&liveSet{})
			l.log.Warn("no template bundle is active any more; extracting without templates", "previous", cur.version)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("templates: poll active bundle: %w", err)
	}
	if row.Version == cur.version && row.Checksum == cur.checksum {
		return nil
	}
	full, err := l.q.ActiveTemplateBundle(ctx)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // switched again in between; the next poll sees it
	}
	if err != nil {
		return fmt.Errorf("templates: read active bundle: %w", err)
	}
	set, err := load(full.Bundle)
	if err != nil {
		return fmt.Errorf("templates: active bundle %s does not load, keeping %q: %w", full.Version, cur.version, err)
	}
	l.cur.Store(&liveSet{set: set, version: full.Version, checksum: full.Checksum})
	l.log.Info("template bundle loaded", "version", full.Version, "previous", cur.version, "templates", set.Templates())
	return nil
}

// Run refreshes every interval (DefaultRefresh when <= 0) until ctx ends,
// starting with one refresh at once. Errors are logged, and the bundle in
// use stays until a refresh succeeds.
func (l *Live) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultRefresh
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := l.Refresh(ctx); err != nil && ctx.Err() == nil {
			l.log.Error("template refresh failed", "err", err, "in_use", l.Version())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
