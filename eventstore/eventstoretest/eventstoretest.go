// Package eventstoretest starts a real, embedded JetStream server with
// Tally's stream for tests of any package.
package eventstoretest

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"

	"tally/eventstore"
)

// Start runs an embedded server in a temporary directory and opens the
// store on it; both are stopped when the test ends.
func Start(t testing.TB) (*eventstore.Store, *nats.Conn) {
	t.Helper()
	srv, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, err := srv.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	store, err := eventstore.Open(context.Background(), nc, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return store, nc
}
