package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tally/migrations/pgtest"
	"tally/readmodel"
	"tally/seal"
)

// TestKeysRotateCommand: a first start makes DATA_DIR/master.key (0600)
// and wraps the data keys under it; `tally keys rotate` moves them to a new
// master key while the old one is still readable, and refuses to run
// without it.
func TestKeysRotateCommand(t *testing.T) {
	dsn, pool := pgtest.New(t)
	dataDir := t.TempDir()
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("DATA_DIR", dataDir)
	t.Setenv("TALLY_MASTER_KEY", "")
	t.Setenv("TALLY_MASTER_KEY_PREVIOUS", "")
	t.Setenv("LOG_LEVEL", "warn")
	old := seal.Swap(nil)
	t.Cleanup(func() { seal.Swap(old) })
	ctx := context.Background()

	var out bytes.Buffer
	if err := run(ctx, []string{"keys", "rotate"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dataDir, "master.key")
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("master.key after the first start: %v %v", info, err)
	}
	firstKey, err := seal.ReadMasterKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := seal.NewRing(firstKey)
	q := readmodel.New(pool)
	shared, err := seal.SharedKey(ctx, q, "rotate-test")
	if err != nil {
		t.Fatal(err)
	}

	out.Reset()
	if err := run(ctx, []string{"keys", "generate"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	newKey := strings.TrimSpace(out.String())
	if _, err := seal.ParseMasterKey(newKey); err != nil {
		t.Fatalf("keys generate printed %q: %v", newKey, err)
	}
	t.Setenv("TALLY_MASTER_KEY", newKey)
	seal.Swap(nil)
	if err := run(ctx, []string{"keys", "rotate"}, io.Discard, io.Discard); err == nil {
		t.Fatal("rotate without the old master key succeeded")
	}
	t.Setenv("TALLY_MASTER_KEY_PREVIOUS", seal.EncodeMasterKey(firstKey))
	seal.Swap(nil)
	out.Reset()
	if err := run(ctx, []string{"keys", "rotate"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "re-wrapped") {
		t.Fatalf("rotate printed %q", out.String())
	}
	nk, _ := seal.ParseMasterKey(newKey)
	second, _ := seal.NewRing(nk)
	values, err := q.ListSecretValues(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if id, ok := seal.WrappedBy(v.Value); !ok || id != second.CurrentID() {
			t.Errorf("secret %s is not wrapped by the new master key after the rotation", v.Name)
		}
	}
	seal.Swap(second)
	if got, err := seal.SharedKey(ctx, q, "rotate-test"); err != nil || !bytes.Equal(got, shared) {
		t.Fatalf("after the rotation the new key alone opens %x, %v", got, err)
	}
	seal.Swap(first)
	if _, err := seal.SharedKey(ctx, q, "rotate-test"); err == nil {
		t.Fatal("the old master key still opens a rotated key")
	}
}
