package blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
)

// runStoreSuite is the contract every Store must meet; each backend's test
// runs it so the backends cannot drift apart.
func runStoreSuite(t *testing.T, newStore func(t *testing.T) Store) {
	t.Run("RoundTripBinary", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		want := randomBytes(t, 1<<20)
		const key = "tenant/2026/11/3f1c2a9e-roundtrip.pdf"
		if err := s.Put(ctx, key, bytes.NewReader(want), int64(len(want)), "application/pdf"); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if got := mustGet(t, s, key); !bytes.Equal(got, want) {
			t.Fatalf("Get returned %d bytes, want the %d bytes put (content differs)", len(got), len(want))
		}
	})

	t.Run("EmptyContent", func(t *testing.T) {
		s := newStore(t)
		const key = "tenant/empty.txt"
		if err := s.Put(t.Context(), key, bytes.NewReader(nil), 0, "text/plain"); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if got := mustGet(t, s, key); len(got) != 0 {
			t.Fatalf("Get = %q, want empty", got)
		}
	})

	t.Run("Overwrite", func(t *testing.T) {
		s := newStore(t)
		const key = "tenant/2026/11/overwrite.pdf"
		mustPut(t, s, key, []byte("first version, which is longer"))
		mustPut(t, s, key, []byte("second"))
		if got := mustGet(t, s, key); string(got) != "second" {
			t.Fatalf("Get after overwrite = %q, want %q", got, "second")
		}
	})

	t.Run("GetMissing", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Get(t.Context(), "tenant/2026/11/missing.pdf")
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get missing: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("DeleteThenGet", func(t *testing.T) {
		s := newStore(t)
		const key = "tenant/2026/11/delete-me.pdf"
		mustPut(t, s, key, []byte("doomed"))
		if err := s.Delete(t.Context(), key); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := s.Get(t.Context(), key); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get after Delete: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("DeleteMissing", func(t *testing.T) {
		s := newStore(t)
		if err := s.Delete(t.Context(), "tenant/never/existed.pdf"); err != nil {
			t.Fatalf("Delete missing: %v", err)
		}
		// Twice, because retried deletes are the reason this must succeed.
		mustPut(t, s, "tenant/x.pdf", []byte("x"))
		for i := range 2 {
			if err := s.Delete(t.Context(), "tenant/x.pdf"); err != nil {
				t.Fatalf("Delete #%d: %v", i+1, err)
			}
		}
	})

	t.Run("PrefixIsNotABlob", func(t *testing.T) {
		s := newStore(t)
		const key = "tenant/2026/11/child.pdf"
		mustPut(t, s, key, []byte("child"))
		if _, err := s.Get(t.Context(), "tenant/2026"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get prefix: err = %v, want ErrNotFound", err)
		}
		if err := s.Delete(t.Context(), "tenant/2026"); err != nil {
			t.Fatalf("Delete prefix: %v", err)
		}
		if got := mustGet(t, s, key); string(got) != "child" {
			t.Fatalf("child after deleting prefix = %q, want %q", got, "child")
		}
	})

	t.Run("InvalidKeys", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		for _, key := range invalidKeys {
			if err := s.Put(ctx, key, strings.NewReader("x"), 1, "text/plain"); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Put(%q): err = %v, want ErrInvalidKey", key, err)
			}
			if _, err := s.Get(ctx, key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Get(%q): err = %v, want ErrInvalidKey", key, err)
			}
			if err := s.Delete(ctx, key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Delete(%q): err = %v, want ErrInvalidKey", key, err)
			}
		}
	})

	t.Run("NonSeekableReader", func(t *testing.T) {
		s := newStore(t)
		parts := [][]byte{randomBytes(t, 1000), randomBytes(t, 70_000), []byte("tail")}
		var readers []io.Reader
		for _, p := range parts {
			readers = append(readers, bytes.NewReader(p))
		}
		want := bytes.Join(parts, nil)
		r := io.MultiReader(readers...)
		if _, ok := r.(io.Seeker); ok {
			t.Fatal("test precondition: reader must not be seekable")
		}
		const key = "tenant/2026/11/stream.bin"
		if err := s.Put(t.Context(), key, r, int64(len(want)), "application/octet-stream"); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if got := mustGet(t, s, key); !bytes.Equal(got, want) {
			t.Fatal("content put from non-seekable reader differs on Get")
		}
	})

	t.Run("SizeMismatchRejected", func(t *testing.T) {
		s := newStore(t)
		cases := []struct {
			name string
			r    io.Reader
			size int64
		}{
			{"ShortSeekable", strings.NewReader("abc"), 4},
			{"LongSeekable", strings.NewReader("abcde"), 4},
			{"ShortStream", io.MultiReader(strings.NewReader("abc")), 4},
			{"LongStream", io.MultiReader(strings.NewReader("abcde")), 4},
			{"Negative", strings.NewReader(""), -1},
		}
		for _, c := range cases {
			key := "tenant/mismatch/" + c.name
			if err := s.Put(t.Context(), key, c.r, c.size, "text/plain"); err == nil {
				t.Errorf("%s: Put succeeded, want size error", c.name)
			}
			if _, err := s.Get(t.Context(), key); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: Get after rejected Put: err = %v, want ErrNotFound", c.name, err)
			}
		}
	})

	t.Run("ContextCancelled", func(t *testing.T) {
		s := newStore(t)
		const key = "tenant/2026/11/cancelled.pdf"
		mustPut(t, s, "tenant/2026/11/existing.pdf", []byte("present"))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := s.Put(ctx, key, strings.NewReader("data"), 4, "text/plain"); !errors.Is(err, context.Canceled) {
			t.Errorf("Put with cancelled ctx: err = %v, want context.Canceled", err)
		}
		if _, err := s.Get(ctx, "tenant/2026/11/existing.pdf"); !errors.Is(err, context.Canceled) {
			t.Errorf("Get with cancelled ctx: err = %v, want context.Canceled", err)
		}
		if err := s.Delete(ctx, "tenant/2026/11/existing.pdf"); !errors.Is(err, context.Canceled) {
			t.Errorf("Delete with cancelled ctx: err = %v, want context.Canceled", err)
		}
		if err := s.Ping(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Ping with cancelled ctx: err = %v, want context.Canceled", err)
		}
		if _, err := s.Get(t.Context(), key); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get after cancelled Put: err = %v, want ErrNotFound", err)
		}
		if got := mustGet(t, s, "tenant/2026/11/existing.pdf"); string(got) != "present" {
			t.Errorf("blob after cancelled Delete = %q, want %q", got, "present")
		}
	})

	t.Run("CancelledMidStream", func(t *testing.T) {
		s := newStore(t)
		const key = "tenant/2026/11/midstream.bin"
		ctx, cancel := context.WithCancel(t.Context())
		// The reader cancels after handing out the first chunk, as if the
		// client went away halfway through an upload.
		r := &cancellingReader{r: bytes.NewReader(randomBytes(t, 256<<10)), after: 64 << 10, cancel: cancel}
		if err := s.Put(ctx, key, r, 256<<10, "application/octet-stream"); err == nil {
			t.Fatal("Put cancelled mid-stream succeeded")
		}
		if _, err := s.Get(t.Context(), key); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get after mid-stream cancel: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("ConcurrentPutsSameKey", func(t *testing.T) {
		s := newStore(t)
		const key = "tenant/2026/11/contended.bin"
		const writers = 8
		versions := make([][]byte, writers)
		for i := range versions {
			versions[i] = bytes.Repeat([]byte{byte('a' + i)}, 32<<10)
		}
		var wg sync.WaitGroup
		for _, v := range versions {
			wg.Go(func() {
				if err := s.Put(t.Context(), key, bytes.NewReader(v), int64(len(v)), "application/octet-stream"); err != nil {
					t.Errorf("concurrent Put: %v", err)
				}
			})
		}
		wg.Wait()
		got := mustGet(t, s, key)
		for _, v := range versions {
			if bytes.Equal(got, v) {
				return
			}
		}
		t.Fatalf("Get after concurrent Puts returned %d bytes matching no single writer (torn write)", len(got))
	})

	t.Run("Ping", func(t *testing.T) {
		s := newStore(t)
		if err := s.Ping(t.Context()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
}

// invalidKeys is shared by the suite and the validator unit test.
var invalidKeys = []string{
	"",
	"/tenant/a.pdf",
	"../a.pdf",
	"tenant/../a.pdf",
	"tenant/..",
	"..",
	"tenant/a..pdf",
	`tenant\a.pdf`,
	`C:\a.pdf`,
	"tenant//a.pdf",
	"tenant/./a.pdf",
	".",
	"tenant/",
	"tenant/a\x00.pdf",
	"tenant/a\n.pdf",
	"tenant/\xff.pdf",
	strings.Repeat("a", maxKeyLen+1),
}

func TestValidateKey(t *testing.T) {
	valid := []string{
		"tenant/2026/11/3f1c2a9e-8a2b-4c1d-9e3f-0a1b2c3d4e5f.pdf",
		"a",
		"tenant/.hidden",
		"tenant/a.b.c",
		"tenant/ünïcødé file.pdf",
		strings.Repeat("a", maxKeyLen),
	}
	for _, k := range valid {
		if err := validateKey(k); err != nil {
			t.Errorf("validateKey(%q) = %v, want nil", k, err)
		}
	}
	for _, k := range invalidKeys {
		if err := validateKey(k); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("validateKey(%q) = %v, want ErrInvalidKey", k, err)
		}
	}
}

func mustPut(t *testing.T, s Store, key string, data []byte) {
	t.Helper()
	if err := s.Put(t.Context(), key, bytes.NewReader(data), int64(len(data)), "application/octet-stream"); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func mustGet(t *testing.T, s Store, key string) []byte {
	t.Helper()
	rc, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return data
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// cancellingReader is non-seekable on purpose, so the S3 backend has to
// stream it through its buffering path where cancellation is observed.
type cancellingReader struct {
	r      io.Reader
	after  int
	read   int
	cancel context.CancelFunc
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	if c.read >= c.after {
		c.cancel()
	}
	if len(p) > c.after {
		p = p[:c.after]
	}
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}
