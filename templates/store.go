package templates

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"tally/domain"
	"tally/eventstore"
	"tally/readmodel"
)

var (
	// ErrAlreadyStored: a bundle of that version, with the same checksum,
	// is stored already (active or not); nothing was changed.
	ErrAlreadyStored = errors.New("template bundle already stored")
	// ErrVersionTaken: a different bundle was stored under that version.
	ErrVersionTaken = errors.New("template bundle version already stored with other content")
	// ErrNothingToRollBack: no bundle to go back to.
	ErrNothingToRollBack = errors.New("no template bundle to roll back to")
)

// RefusedError is a bundle that failed its checks; the active bundle did
// not change. Err joins every problem found.
type RefusedError struct {
	Version string
	Err     error
}

func (e *RefusedError) Error() string {
	if e.Version == "" {
		return fmt.Sprintf("template bundle refused, the active bundle stays:\n%v", e.Err)
	}
	return fmt.Sprintf("template bundle %s refused, the active bundle stays:\n%v", e.Version, e.Err)
}

func (e *RefusedError) Unwrap() error { return e.Err }

// Activation describes a bundle that became active.
type Activation struct {
	TemplatesActivated
	// Sequence is the TemplatesActivated event's stream sequence.
	Sequence uint64
}

// Store keeps template bundles in PostgreSQL and records activations in the
// event stream.
type Store struct {
	pool   *pgxpool.Pool
	events *eventstore.Store
	now    func() time.Time
}

// NewStore returns a store on the read-model database and the event store.
func NewStore(pool *pgxpool.Pool, events *eventstore.Store) *Store {
	return &Store{pool: pool, events: events, now: time.Now}
}

// Install checks raw and, if it passes, stores and activates it in one
// transaction, recording TemplatesActivated. A refused bundle is a
// *RefusedError; a version stored before is ErrAlreadyStored (same
// content) or ErrVersionTaken (other content). source says where raw came
// from, for the record.
func (s *Store) Install(ctx context.Context, raw []byte, source string) (Activation, error) {
	b, err := Parse(raw)
	if err != nil {
		return Activation{}, &RefusedError{Err: err}
	}
	checksum := Checksum(raw)
	q := readmodel.New(s.pool)
	if err := stored(ctx, q, b.Version, checksum); err != nil {
		return Activation{}, err
	}
	set, err := b.Check()
	if err != nil {
		return Activation{}, &RefusedError{Version: b.Version, Err: err}
	}
	var act Activation
	err = s.inTx(ctx, func(tx pgx.Tx, q *readmodel.Queries) error {
		// Again under the lock: another updater may have been quicker.
		if err := stored(ctx, q, b.Version, checksum); err != nil {
			return err
		}
		if err := q.InsertTemplateBundle(ctx, readmodel.InsertTemplateBundleParams{
			Version: b.Version, Bundle: raw, Checksum: checksum, Templates: int32(set.Templates()), Source: source,
		}); err != nil {
			return fmt.Errorf("store template bundle %s: %w", b.Version, err)
		}
		act, err = s.activate(ctx, tx, q, TemplatesActivated{
			Version: b.Version, Checksum: checksum, Templates: set.Templates(), Reason: ReasonUpdate, Source: source,
		})
		return err
	})
	return act, err
}

// stored says whether version is already in the table.
func stored(ctx context.Context, q *readmodel.Queries, version, checksum string) error {
	row, err := q.GetTemplateBundle(ctx, version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up template bundle %s: %w", version, err)
	}
	if row.Checksum != checksum {
		return fmt.Errorf("version %s is stored with checksum %s, this file has %s; publish changes under a new version: %w",
			version, row.Checksum, checksum, ErrVersionTaken)
	}
	return fmt.Errorf("version %s (active: %t): %w", version, row.Active, ErrAlreadyStored)
}

// Rollback activates the stored bundle named by to or, when to is empty,
// the one that was active before the current one (so a second rollback
// returns to where the first started). The bundle is checked again with
// the running code first.
func (s *Store) Rollback(ctx context.Context, to string) (Activation, error) {
	var act Activation
	err := s.inTx(ctx, func(tx pgx.Tx, q *readmodel.Queries) error {
		if to == "" {
			prev, err := q.PreviousTemplateBundle(ctx)
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("%w: no other bundle was ever active; name one with --to", ErrNothingToRollBack)
			}
			if err != nil {
				return fmt.Errorf("find previous template bundle: %w", err)
			}
			to = prev
		}
		row, err := q.GetTemplateBundle(ctx, to)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: version %q is not stored (see tally templates list)", ErrNothingToRollBack, to)
		}
		if err != nil {
			return fmt.Errorf("look up template bundle %s: %w", to, err)
		}
		if row.Active {
			return fmt.Errorf("%w: version %s is already the active one", ErrNothingToRollBack, to)
		}
		set, err := load(row.Bundle)
		if err != nil {
			return &RefusedError{Version: to, Err: fmt.Errorf("the stored bundle no longer passes the checks: %w", err)}
		}
		act, err = s.activate(ctx, tx, q, TemplatesActivated{
			Version: to, Checksum: row.Checksum, Templates: set.Templates(), Reason: ReasonRollback, Source: row.Source,
		})
		return err
	})
	return act, err
}

// activate makes a stored bundle the active one and appends its event; the
// caller's transaction commits after that.
func (s *Store) activate(ctx context.Context, tx pgx.Tx, q *readmodel.Queries, p TemplatesActivated) (Activation, error) {
	cur, err := q.ActiveTemplateVersion(ctx)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return Activation{}, fmt.Errorf("read active template bundle: %w", err)
	default:
		p.PreviousVersion = cur.Version
	}
	now := s.now().UTC()
	if err := q.DeactivateTemplateBundles(ctx); err != nil {
		return Activation{}, fmt.Errorf("deactivate template bundle %s: %w", p.PreviousVersion, err)
	}
	n, err := q.ActivateTemplateBundle(ctx, readmodel.ActivateTemplateBundleParams{
		ActivatedAt: pgtype.Timestamptz{Time: now, Valid: true}, Version: p.Version,
	})
	if err != nil {
		return Activation{}, fmt.Errorf("activate template bundle %s: %w", p.Version, err)
	}
	if n != 1 {
		return Activation{}, fmt.Errorf("activate template bundle %s: not stored", p.Version)
	}

	// The event goes last, just before the commit: a failure up to here
	// leaves neither a change nor an event.
	history, err := s.events.LoadAggregate(ctx, SystemTenant, AggregateTemplates, AggregateID)
	if err != nil {
		return Activation{}, fmt.Errorf("read template history: %w", err)
	}
	var expected uint64
	if len(history) > 0 {
		expected = history[len(history)-1].Sequence
	}
	e, err := domain.NewEnvelope(uuid.NewString(), SystemTenant, AggregateID, TypeTemplatesActivated, now, p)
	if err != nil {
		return Activation{}, err
	}
	e.AggregateType = AggregateTemplates
	seq, err := s.events.Append(ctx, e, expected)
	if err != nil {
		return Activation{}, fmt.Errorf("record activation of template bundle %s: %w", p.Version, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return Activation{}, fmt.Errorf("commit activation of template bundle %s (its %s event, sequence %d, was already recorded): %w",
			p.Version, TypeTemplatesActivated, seq, err)
	}
	return Activation{TemplatesActivated: p, Sequence: seq}, nil
}

// inTx runs fn in a transaction holding the activation lock; fn commits
// (activate does) or the transaction is rolled back.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx, *readmodel.Queries) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("template bundles: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	q := readmodel.New(tx)
	if err := q.LockTemplateBundles(ctx); err != nil {
		return fmt.Errorf("template bundles: lock: %w", err)
	}
	return fn(tx, q)
}

// Active returns the active bundle compiled, or nil when there is none.
func (s *Store) Active(ctx context.Context) (*Set, error) {
	return activeSet(ctx, readmodel.New(s.pool))
}

func activeSet(ctx context.Context, q *readmodel.Queries) (*Set, error) {
	row, err := q.ActiveTemplateBundle(ctx)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read active template bundle: %w", err)
	}
	set, err := load(row.Bundle)
	if err != nil {
		return nil, fmt.Errorf("active template bundle %s does not load: %w", row.Version, err)
	}
	return set, nil
}

// List returns the stored bundles, oldest first.
func (s *Store) List(ctx context.Context) ([]readmodel.ListTemplateBundlesRow, error) {
	return readmodel.New(s.pool).ListTemplateBundles(ctx)
}

// History returns the activations recorded in the event stream, oldest
// first.
func (s *Store) History(ctx context.Context) ([]Activation, error) {
	events, err := s.events.LoadAggregate(ctx, SystemTenant, AggregateTemplates, AggregateID)
	if err != nil {
		return nil, err
	}
	var out []Activation
	for _, e := range events {
		if e.Type != TypeTemplatesActivated {
			continue
		}
		var p TemplatesActivated
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		out = append(out, Activation{TemplatesActivated: p, Sequence: e.Sequence})
	}
	return out, nil
}

// load compiles a bundle read back from the database. JSONB re-spaces the
// document, so the file-size limit (checked when it was installed) is not
// applied again.
func load(doc []byte) (*Set, error) {
	b, err := parse(doc, 2*MaxBundleBytes)
	if err != nil {
		return nil, err
	}
	return b.Check()
}
