// Package keywatchtest runs a key watch for a test.
package keywatchtest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"tally/keywatch"
)

// Start runs a Watch on pool's database until the test ends and returns it
// once it listens.
func Start(t testing.TB, pool *pgxpool.Pool) *keywatch.Watch {
	t.Helper()
	w := keywatch.New(nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.RunOn(ctx, pool) }()
	t.Cleanup(func() { cancel(); <-done })
	Eventually(t, "the key watch listening", w.Listening)
	return w
}

// Eventually fails the test unless cond holds within 10 s (polled): a
// change reaches a watch when its notification arrives.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
