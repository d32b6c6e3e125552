package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

// TestEmbeddedNATSBeyondLoopbackNeedsAToken: `tally all` refuses to let
// its embedded server listen beyond loopback without a token; with
// NATS_EMBEDDED_AUTH=token clients must present the token kept in
// DATA_DIR, and the admin commands still find the running instance.
func TestEmbeddedNATSBeyondLoopbackNeedsAToken(t *testing.T) {
	port := freePort(t)
	listen := fmt.Sprintf("0.0.0.0:%d", port)
	t.Setenv("NATS_EMBEDDED_LISTEN", listen)
	t.Setenv("NATS_EMBEDDED_AUTH", "")
	t.Setenv("DATA_DIR", t.TempDir())
	err := run(context.Background(), []string{"all"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "NATS_EMBEDDED_AUTH") {
		t.Fatalf("tally all on %s without a token: %v", listen, err)
	}

	in := startAll(t, map[string]string{"RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:1/",
		"NATS_EMBEDDED_LISTEN": listen, "NATS_EMBEDDED_AUTH": "token"})
	dataDir := os.Getenv("DATA_DIR")
	tokenPath := filepath.Join(dataDir, "nats-listen.token")
	info, err := os.Stat(tokenPath)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", info, err)
	}
	b, _ := os.ReadFile(tokenPath)
	token := strings.TrimSpace(string(b))
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

	example, err := os.ReadFile("../../examples/invoice.pdf")
	if err != nil {
		t.Fatal(err)
	}
	id := in.upload("invoice.pdf", example, "ann@example.com")
	var show bytes.Buffer
	if err := run(context.Background(), []string{"events", "show", "--tenant", "e2e", id}, &show, io.Discard); err != nil {
		t.Fatalf("events show through DATA_DIR: %v", err)
	}
	if !strings.Contains(show.String(), `"type": "DocumentUploaded"`) {
		t.Fatalf("events show:\n%s", show.String())
	}
}
