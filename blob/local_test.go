package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
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
	if runtime.GOOS == "linux" && !newLocalStore(t).unnamed {
		// ext4, xfs, btrfs and tmpfs all have them; without them every
		// write pays for a temp name.
		t.Error("writes go through named temp files on Linux")
	}
	runStoreSuite(t, func(t *testing.T) Store { return newLocalStore(t) })
	// The way writes go where the filesystem has no unnamed files.
	t.Run("NamedTempFiles", func(t *testing.T) {
		runStoreSuite(t, func(t *testing.T) Store {
			s := newLocalStore(t)
			s.unnamed = false
			return s
		})
	})
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
	for _, unnamed := range []bool{true, false} {
		s := newLocalStore(t)
		s.unnamed = s.unnamed && unnamed
		mustPut(t, s, "tenant/ok.pdf", []byte("ok"))
		// over an existing blob (a link cannot replace it: a temp name
		// and a rename do)
		mustPut(t, s, "tenant/ok.pdf", []byte("ok again"))
		if err := s.Put(t.Context(), "tenant/short.pdf", strings.NewReader("abc"), 10, "application/pdf"); err == nil {
			t.Fatal("short Put succeeded")
		}
		if err := s.Put(t.Context(), "tenant/ok.pdf", strings.NewReader("abc"), 10, "application/pdf"); err == nil {
			t.Fatal("short Put over a blob succeeded")
		}
		if got := mustGet(t, s, "tenant/ok.pdf"); string(got) != "ok again" {
			t.Fatalf("a failed Put changed the blob: %q", got)
		}
		if err := s.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
		err := filepath.WalkDir(s.dir, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), "..") {
				t.Errorf("unnamed %v: leftover temp file %s", s.unnamed, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
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

// BenchmarkLocalPut writes distinct 1 KB blobs into one month's directory
// from 16 goroutines, as concurrent uploads do: unnamed files linked into
// place where the system has them, and named temp files renamed into
// place.
func BenchmarkLocalPut(b *testing.B) {
	for _, unnamed := range []bool{true, false} {
		name := map[bool]string{true: "unnamed", false: "named"}[unnamed]
		b.Run(name, func(b *testing.B) {
			l, err := NewLocal(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			if unnamed && !l.unnamed {
				b.Skip("no unnamed files here")
			}
			l.unnamed = unnamed
			body := bytes.Repeat([]byte("x"), 1024)
			var n atomic.Int64
			b.SetParallelism(8) // 16 writers on two cores
			cpu0 := processCPU()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					key := fmt.Sprintf("tenant/2026/12/%08d.pdf", n.Add(1))
					if err := l.Put(context.Background(), key, bytes.NewReader(body), int64(len(body)), "application/pdf"); err != nil {
						b.Error(err)
						return
					}
				}
			})
			// The process's CPU (user and system) per write: the waits on
			// the disk do not count, what the write costs the machine does.
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
