package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"tally/blob"
	"tally/migrations/pgtest"
)

// TestBackupAndRestoreCommands: `tally backup` next to a running
// `tally all`, then `tally restore` into a new database and DATA_DIR
// shows the same document (backup's own tests compare
// histories, totals and every table).
func TestBackupAndRestoreCommands(t *testing.T) {
	in := startAll(t, nil)
	example, err := os.ReadFile("../../examples/invoice.pdf")
	if err != nil {
		t.Fatal(err)
	}
	id := in.upload("invoice.pdf", example, "ann@example.com")
	in.waitStatus(id, 60*time.Second)

	dir := filepath.Join(t.TempDir(), "backup")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"backup", dir}, &out, io.Discard); err != nil {
		t.Fatalf("tally backup: %v", err)
	}
	if !strings.Contains(out.String(), "backed up") {
		t.Fatalf("tally backup said %q", out.String())
	}

	oldDataDir := os.Getenv("DATA_DIR")
	dsn, fresh := pgtest.New(t)
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("DATA_DIR", t.TempDir())
	// Without the master key the restored keys would not open.
	err = run(context.Background(), []string{"restore", dir}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "master key") {
		t.Fatalf("restore without the master key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("DATA_DIR"), "master.key")); err == nil {
		t.Fatal("a refused restore made a master key")
	}
	key, err := os.ReadFile(filepath.Join(oldDataDir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(os.Getenv("DATA_DIR"), "master.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"restore", dir}, &out, io.Discard); err != nil {
		t.Fatalf("tally restore: %v", err)
	}
	if !strings.Contains(out.String(), "rebuilt the read models") {
		t.Fatalf("tally restore said %q", out.String())
	}
	original, err := pgxpool.New(context.Background(), in.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer original.Close()
	const q = "SELECT row_to_json(d)::text FROM (SELECT id, status, fields, total::text, currency, user_email FROM documents WHERE id = $1) d"
	var a, b string
	if err := original.QueryRow(context.Background(), q, id).Scan(&a); err != nil {
		t.Fatal(err)
	}
	if err := fresh.QueryRow(context.Background(), q, id).Scan(&b); err != nil {
		t.Fatalf("the document after restore: %v", err)
	}
	if a != b {
		t.Fatalf("document after restore:\n%s\nbefore:\n%s", b, a)
	}
	// Its file is in the new DATA_DIR, byte for byte the upload.
	var blobKey string
	if err := fresh.QueryRow(context.Background(), "SELECT blob_key FROM documents WHERE id = $1", id).Scan(&blobKey); err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.NewLocal(filepath.Join(os.Getenv("DATA_DIR"), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := blobs.Get(context.Background(), blobKey)
	if err != nil {
		t.Fatalf("the document's file after restore: %v", err)
	}
	defer r.Close()
	if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, example) {
		t.Fatalf("the document's file after restore: %d bytes (%v), want the %d uploaded", len(got), err, len(example))
	}
}
