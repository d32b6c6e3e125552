package projections_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"tally/domain"
	"tally/eventstore/eventstoretest"
	"tally/migrations/pgtest"
	"tally/projections"
	"tally/readmodel"
)

// catchUpGroup runs g until each of its runners, in the group or alone,
// has applied the whole stream.
func catchUpGroup(t *testing.T, g *projections.Group, last uint64) {
	t.Helper()
	rs := g.Members()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.RunForever(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "projectors at the end of the stream", func() bool {
		for _, r := range rs {
			if r.Position() < last {
				return false
			}
		}
		return true
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 60s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// poisoned is a projector that fails on one event while poison is set.
type poisoned struct {
	projections.Projector
	at     uint64
	poison *atomic.Bool
}

func (p poisoned) Apply(ctx context.Context, q *readmodel.Queries, e domain.Envelope) error {
	if e.Sequence == p.at && p.poison.Load() {
		return errors.New("poisoned event")
	}
	return p.Projector.Apply(ctx, q, e)
}

// gated is a projector whose events wait until gate is closed.
type gated struct {
	projections.Projector
	gate chan struct{}
}

func (p gated) Apply(ctx context.Context, q *readmodel.Queries, e domain.Envelope) error {
	select {
	case <-p.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	return p.Projector.Apply(ctx, q, e)
}

func TestGroupMemberThatFailsRunsAloneAndTheOthersGoOn(t *testing.T) {
	store, _ := eventstoretest.Start(t)
	_, pool := pgtest.New(t)
	history(t, store, pool, 60)
	last, err := store.LastSequence(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var poison atomic.Bool
	poison.Store(true)
	at := last / 2
	var rs []*projections.Runner
	var sick *projections.Runner
	for _, p := range projections.All() {
		if p.Name() == "monthly_totals" {
			p = poisoned{Projector: p, at: at, poison: &poison}
		}
		r := projections.NewRunner(pool, store, p, quiet)
		if p.Name() == "monthly_totals" {
			sick = r
		}
		rs = append(rs, r)
	}
	g := projections.NewGroup(pool, store, rs, quiet)
	g.BatchSize = 7
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.RunForever(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor(t, "healthy projectors at the end of the stream", func() bool {
		for _, r := range rs {
			if r != sick && r.Position() < last {
				return false
			}
		}
		return true
	})
	if slices.Contains(g.Members(), sick) || len(g.Members()) != len(rs)-1 {
		t.Fatalf("the failing projector is still in the group: %d members", len(g.Members()))
	}
	if pos := sick.Position(); pos >= at {
		t.Fatalf("the failing projector is at %d, past its poisoned event %d", pos, at)
	}

	// Alone, it retries with backoff and catches up once the fault is gone.
	poison.Store(false)
	waitFor(t, "the projector that left at the end of the stream", func() bool { return sick.Position() >= last })

	_, rebuilt := pgtest.New(t)
	copyKeys(t, pool, rebuilt)
	catchUp(t, runners(rebuilt, store, 500), last)
	if a, b := dump(t, pool), dump(t, rebuilt); a != b {
		t.Fatalf("read models differ from a rebuild:\n--- group\n%s\n--- rebuilt\n%s", a, b)
	}
}

func TestGroupWaitsForEveryLock(t *testing.T) {
	store, _ := eventstoretest.Start(t)
	_, pool := pgtest.New(t)
	history(t, store, pool, 10)
	last, err := store.LastSequence(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Another instance's runner of one projector holds that projector's lock.
	alone := projections.NewRunner(pool, store, projections.Search{}, quiet)
	aloneCtx, stopAlone := context.WithCancel(context.Background())
	aloneDone := make(chan struct{})
	go func() { _ = alone.Run(aloneCtx); close(aloneDone) }()
	defer func() { stopAlone(); <-aloneDone }()
	waitFor(t, "the lone runner at the end of the stream", func() bool { return alone.Position() >= last })

	rs := runners(pool, store, 500)
	g := projections.NewGroup(pool, store, rs, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.RunForever(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	// The group takes all of its locks or none: while one is held, no
	// member starts, and the locks it got are given back while it waits.
	// It tries the documents' first: after its first tries, another
	// instance can take that one between them.
	time.Sleep(2500 * time.Millisecond)
	for _, r := range rs {
		if r.Started() {
			t.Fatalf("projector %s started while the group lacked a lock", r.Name())
		}
	}
	other, err := pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release()
	key := projections.LockKey(projections.Documents{}.Name())
	waitFor(t, "the documents' lock free while the group waits", func() bool {
		var got bool
		if err := other.QueryRow(context.Background(), "SELECT pg_try_advisory_lock($1)", key).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got {
			if _, err := other.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", key); err != nil {
				t.Fatal(err)
			}
		}
		return got
	})
	stopAlone()
	<-aloneDone
	waitFor(t, "the group at the end of the stream", func() bool {
		for _, r := range rs {
			if r.Position() < last {
				return false
			}
		}
		return true
	})
}

func allStarted(rs []*projections.Runner) bool {
	for _, r := range rs {
		if !r.Started() {
			return false
		}
	}
	return true
}

func positions(rs []*projections.Runner) []uint64 {
	var ps []uint64
	for _, r := range rs {
		ps = append(ps, r.Position())
	}
	return ps
}

func TestGroupMemberFarBehindRunsAloneAndTheOthersDoNotWait(t *testing.T) {
	store, _ := eventstoretest.Start(t)
	_, pool := pgtest.New(t)
	history(t, store, pool, 40)
	last, err := store.LastSequence(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Every projector but search is at the end; search is new.
	var rs []*projections.Runner
	for _, r := range runners(pool, store, 500) {
		if r.Name() != (projections.Search{}).Name() {
			rs = append(rs, r)
		}
	}
	catchUp(t, rs, last)
	// Search's events wait at a gate: a group that read from search's
	// checkpoint with it would leave the others behind the new events
	// below.
	gate := make(chan struct{})
	search := projections.NewRunner(pool, store, gated{Projector: projections.Search{}, gate: gate}, quiet)
	all := append(slices.Clone(rs), search)
	g := projections.NewGroup(pool, store, all, quiet)
	g.CatchUpAlone = 10
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.RunForever(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	history(t, store, pool, 10)
	last, err = store.LastSequence(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the others at the new end", func() bool { return slices.Min(positions(rs)) >= last })
	if pos := search.Position(); pos != 0 {
		t.Fatalf("search at %d with its gate closed", pos)
	}
	if slices.Contains(g.Members(), search) {
		t.Fatal("search far behind is still in the group")
	}

	// Alone, it catches up once the gate opens.
	close(gate)
	waitFor(t, "search at the end", func() bool { return search.Position() >= last })

	_, rebuilt := pgtest.New(t)
	copyKeys(t, pool, rebuilt)
	catchUp(t, runners(rebuilt, store, 500), last)
	if a, b := dump(t, pool), dump(t, rebuilt); a != b {
		t.Fatalf("read models differ from a rebuild:\n--- group\n%s\n--- rebuilt\n%s", a, b)
	}
}
