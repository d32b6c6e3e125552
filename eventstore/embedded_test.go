package eventstore_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go"

	"tally/eventstore"
)

func TestEmbeddedAnnouncesItselfWithAToken(t *testing.T) {
	dir := t.TempDir()
	if _, err := eventstore.ConnectAnnounced(dir); !errors.Is(err, eventstore.ErrNoRunningServer) {
		t.Fatalf("before any server: %v", err)
	}
	srv, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{Dir: filepath.Join(dir, "js"), AnnounceDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := eventstore.ConnectAnnounced(dir)
	if err != nil {
		t.Fatalf("connect to the announced server: %v", err)
	}
	nc.Close()
	if nc, err := nats.Connect(srv.ClientURL()); err == nil {
		nc.Close()
		t.Fatal("a client without the token was let in")
	}
	info, err := os.Stat(filepath.Join(dir, eventstore.TokenFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", info, err)
	}

	srv.Shutdown()
	if _, err := eventstore.ConnectAnnounced(dir); !errors.Is(err, eventstore.ErrNoRunningServer) {
		t.Fatalf("after shutdown the announcement stays: %v", err)
	}
}
