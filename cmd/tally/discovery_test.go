package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminCommandsFindRunningInstance: with NATS_URL unset, an admin
// command on the same DATA_DIR uses the stream of the running `tally all`
// through the address and token it wrote there; with no instance running
// it says how to point it at one instead of starting a server of its own.
func TestAdminCommandsFindRunningInstance(t *testing.T) {
	in := startAll(t, map[string]string{"RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:1/"})
	dataDir := os.Getenv("DATA_DIR")
	info, err := os.Stat(filepath.Join(dataDir, "nats.token"))
	if err != nil {
		t.Fatalf("the running instance wrote no token: %v", err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v, want 0600", info.Mode().Perm())
	}
	example, err := os.ReadFile("../../examples/invoice.pdf")
	if err != nil {
		t.Fatal(err)
	}
	id := in.upload("invoice.pdf", example, "ann@example.com")

	var show bytes.Buffer
	if err := run(context.Background(), []string{"events", "show", "--tenant", "e2e", id}, &show, io.Discard); err != nil {
		t.Fatalf("events show without NATS_URL: %v", err)
	}
	if !strings.Contains(show.String(), `"type": "DocumentUploaded"`) {
		t.Fatalf("events show:\n%s", show.String())
	}

	t.Setenv("DATA_DIR", t.TempDir())
	err = run(context.Background(), []string{"events", "show", "--tenant", "e2e", id}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "NATS_URL") {
		t.Fatalf("events show on a data directory without a running tally: %v", err)
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("DATA_DIR"), "jetstream")); err == nil {
		t.Fatal("the admin command started a server of its own")
	}
}
