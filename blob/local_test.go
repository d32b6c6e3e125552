package blob

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newLocalStore(t *testing.T) *Local {
	t.Helper()
	s, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatalf("NewLocal: %v", err)
	}
	return s
}

func TestLocal(t *testing.T) {
	runStoreSuite(t, func(t *testing.T) Store { return newLocalStore(t) })
}

func TestNewLocalCreatesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "blobs")
	if _, err := NewLocal(dir); err != nil {
		t.Fatalf("NewLocal: %v", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	if !fi.IsDir() {
		t.Fatal("NewLocal did not create a directory")
	}
	// umask may remove bits but must never add any beyond 0o750.
	if perm := fi.Mode().Perm(); perm&^0o750 != 0 {
		t.Fatalf("dir perm = %o, want within 0750", perm)
	}
}

func TestNewLocalRejectsFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewLocal(f); err == nil {
		t.Fatal("NewLocal on a regular file succeeded")
	}
}

func TestLocalPingRemovedDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs")
	s, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Fatal("Ping on removed dir succeeded")
	}
}

func TestLocalPingReadOnlyDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	s := newLocalStore(t)
	if err := os.Chmod(s.dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(s.dir, 0o750) })
	if err := s.Ping(t.Context()); err == nil {
		t.Fatal("Ping on read-only dir succeeded")
	}
}

// A failed or successful Put must not leave temp files behind, or the disk
// slowly fills with debris from aborted uploads.
func TestLocalLeavesNoTempFiles(t *testing.T) {
	s := newLocalStore(t)
	mustPut(t, s, "tenant/ok.pdf", []byte("ok"))
	if err := s.Put(t.Context(), "tenant/short.pdf", strings.NewReader("abc"), 10, "application/pdf"); err == nil {
		t.Fatal("short Put succeeded")
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(s.dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), "..") {
			t.Errorf("leftover temp file %s", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLocalStoresUnderDir(t *testing.T) {
	s := newLocalStore(t)
	mustPut(t, s, "tenant/2026/11/doc.pdf", []byte("pdf"))
	got, err := os.ReadFile(filepath.Join(s.dir, "tenant", "2026", "11", "doc.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte("pdf")) {
		t.Fatalf("file content = %q", got)
	}
}

// A key whose parent segment is an existing blob cannot be a directory on
// disk; it must look missing rather than surface ENOTDIR.
func TestLocalParentIsFile(t *testing.T) {
	s := newLocalStore(t)
	mustPut(t, s, "tenant/a.pdf", []byte("a"))
	if _, err := s.Get(t.Context(), "tenant/a.pdf/b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get under file: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(t.Context(), "tenant/a.pdf/b"); err != nil {
		t.Fatalf("Delete under file: %v", err)
	}
}
