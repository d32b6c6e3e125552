package blob

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitersOf reports how many callers are inside sync for dir.
func (g *dirSyncs) waitersOf(dir string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s := g.dirs[dir]; s != nil {
		return s.waiters
	}
	return 0
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Callers that arrive while an fsync runs share the next one: one fsync
// for the first caller, one for all who came during it.
func TestDirSyncsShareOneFsync(t *testing.T) {
	var g dirSyncs
	release := make(chan struct{})
	var calls atomic.Int32
	fsync := func(string) error {
		if calls.Add(1) == 1 {
			<-release
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, 11)
	wg.Add(1)
	go func() { defer wg.Done(); errs <- g.sync("d", fsync) }()
	waitFor(t, "the first fsync", func() bool { return calls.Load() == 1 })
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- g.sync("d", fsync) }()
	}
	waitFor(t, "ten callers waiting", func() bool { return g.waitersOf("d") == 11 })
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("fsyncs = %d, want 2 (the first caller's, then one for the ten that came during it)", n)
	}
	if len(g.dirs) != 0 {
		t.Fatalf("idle directories kept: %v", g.dirs)
	}
}

// A caller never returns on an fsync that started before it was called:
// that fsync may have missed its rename.
func TestDirSyncsWaitForALaterFsync(t *testing.T) {
	var g dirSyncs
	release := make(chan struct{})
	var started atomic.Int32
	fsync := func(string) error {
		started.Add(1)
		<-release
		return nil
	}
	first := make(chan error, 1)
	go func() { first <- g.sync("d", fsync) }()
	waitFor(t, "the first fsync", func() bool { return started.Load() == 1 })
	second := make(chan error, 1)
	go func() { second <- g.sync("d", fsync) }()
	waitFor(t, "the second caller", func() bool { return g.waitersOf("d") == 2 })
	release <- struct{}{} // the first fsync ends
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	select {
	case <-second:
		t.Fatal("the second caller returned on the fsync that started before it")
	case <-time.After(50 * time.Millisecond):
	}
	waitFor(t, "the second fsync", func() bool { return started.Load() == 2 })
	close(release)
	if err := <-second; err != nil {
		t.Fatal(err)
	}
}

// Each directory has its own group, and an fsync's error reaches every
// caller it answered for.
func TestDirSyncsErrorsAndDirectories(t *testing.T) {
	var g dirSyncs
	broken := errors.New("EIO")
	fsync := func(dir string) error {
		if dir == "bad" {
			return broken
		}
		return nil
	}
	if err := g.sync("bad", fsync); !errors.Is(err, broken) {
		t.Fatalf("bad directory: err = %v", err)
	}
	if err := g.sync("good", fsync); err != nil {
		t.Fatalf("good directory: err = %v", err)
	}
}

// A failed fsync reaches the callers that waited for it, even when a later
// fsync succeeds before they wake: Linux reports a failed writeback once.
func TestDirSyncsFailureIsNotHiddenByALaterSuccess(t *testing.T) {
	var g dirSyncs
	broken := errors.New("EIO")
	release := make(chan struct{})
	var calls atomic.Int32
	fsync := func(string) error {
		switch calls.Add(1) {
		case 1:
			<-release // the first caller's; the others arrive meanwhile
			return nil
		case 2:
			return broken // the one the others waited for
		}
		return nil
	}
	first := make(chan error, 1)
	go func() { first <- g.sync("d", fsync) }()
	waitFor(t, "the first fsync", func() bool { return calls.Load() == 1 })
	errs := make(chan error, 5)
	for range 5 {
		go func() { errs <- g.sync("d", fsync) }()
	}
	waitFor(t, "five callers waiting", func() bool { return g.waitersOf("d") == 6 })
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := <-errs; !errors.Is(err, broken) {
			t.Fatalf("a caller of the failed fsync got %v", err)
		}
	}
	// A later caller needs a later fsync, which succeeds.
	if err := g.sync("d", fsync); err != nil {
		t.Fatalf("after the failure: %v", err)
	}
}
