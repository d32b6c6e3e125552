package eventstore_test

import (
	"errors"
	"fmt"
	"net"
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

// A listen address other machines can reach needs a token; with one,
// clients without it are refused and the admin commands still find the
// server through the announcement.
func TestEmbeddedListenBeyondLoopbackNeedsAToken(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	listen := fmt.Sprintf("0.0.0.0:%d", port)
	if srv, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{Dir: filepath.Join(dir, "js"), Listen: listen}); err == nil {
		srv.Shutdown()
		t.Fatal("an embedded server listened on every interface without a token")
	}
	tokenPath := filepath.Join(dir, "nats-listen.token")
	token, err := eventstore.EnsureTokenFile(tokenPath)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := eventstore.EnsureTokenFile(tokenPath); err != nil || again != token {
		t.Fatalf("the token changed between starts: %v", err)
	}
	if info, err := os.Stat(tokenPath); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", info, err)
	}
	srv, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{Dir: filepath.Join(dir, "js"), Listen: listen,
		Token: token, AnnounceDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	if nc, err := nats.Connect(url); err == nil {
		nc.Close()
		t.Fatal("a client without the token was let in")
	}
	nc, err := nats.Connect(url, nats.Token(token))
	if err != nil {
		t.Fatalf("a client with the token: %v", err)
	}
	nc.Close()
	nc, err = eventstore.ConnectAnnounced(dir)
	if err != nil {
		t.Fatalf("admin commands find the server: %v", err)
	}
	nc.Close()
	// Loopback without a token stays as it was.
	if !eventstore.IsLoopback("127.0.0.1") || !eventstore.IsLoopback("localhost") || eventstore.IsLoopback("") || eventstore.IsLoopback("0.0.0.0") {
		t.Fatal("IsLoopback")
	}
}
