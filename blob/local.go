package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// Local is a Store on the local filesystem, one file per key under a root
// directory. It exists for development and single-node deployments; it makes
// no attempt at cross-host sharing.
type Local struct {
	dir   string
	syncs dirSyncs
	// unnamed: files are written unnamed and linked into place (Linux's
	// O_TMPFILE), which NewLocal found to work in dir; else through a
	// named temp file renamed into place.
	unnamed bool
}

// Temp files start with ".." so that no valid key can ever name one: Get can
// never hand out a half-written upload, and Delete can never remove another
// writer's in-flight file.
const (
	tempPattern = "..tmp-*"
	pingPattern = "..ping-*"
)

// NewLocal returns a Local rooted at dir, creating it (0o750) if missing.
func NewLocal(dir string) (*Local, error) {
	if dir == "" {
		return nil, errors.New("new local blob store: empty directory")
	}
	// Absolute so a later os.Chdir elsewhere in the process cannot silently
	// move the store.
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("new local blob store %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("new local blob store %s: %w", abs, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("new local blob store %s: %w", abs, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("new local blob store %s: not a directory", abs)
	}
	return &Local{dir: abs, unnamed: unnamedWorks(abs)}, nil
}

// randomName is a path in dir named by pattern, its "*" a random word, as
// os.CreateTemp names files; for links, which CreateTemp cannot make.
func randomName(dir, pattern string) string {
	return filepath.Join(dir, strings.Replace(pattern, "*", strconv.FormatUint(rand.Uint64(), 36), 1))
}

// unnamedWorks tries what a write does with an unnamed file in dir:
// create it, name it, remove the name.
func unnamedWorks(dir string) bool {
	f, ok, err := createUnnamed(dir)
	if !ok || err != nil {
		return false
	}
	defer f.Close()
	name := randomName(dir, pingPattern)
	if linkUnnamed(f, name) != nil {
		return false
	}
	return os.Remove(name) == nil
}

// path is only safe to call with a validated key: validation is what keeps
// the result inside l.dir.
func (l *Local) path(key string) string {
	return filepath.Join(l.dir, filepath.FromSlash(key))
}

// Put writes the file unnamed (or under a temp name) beside the final
// path, syncs it, then gives it its name, so a crash or error leaves
// either the old content or the new, never a mix.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := validateKey(key); err != nil {
		return fmt.Errorf("put blob: %w", err)
	}
	if err := l.put(ctx, key, r, size); err != nil {
		return fmt.Errorf("put blob %s: %w", key, err)
	}
	return nil
}

func (l *Local) put(ctx context.Context, key string, r io.Reader, size int64) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("negative size %d", size)
	}
	final := l.path(key)
	parent := filepath.Dir(final)
	if err := os.MkdirAll(parent, 0o750); err != nil {
		return err
	}
	var f *os.File
	unnamed := l.unnamed
	if unnamed {
		if f, unnamed, err = createUnnamed(parent); err != nil {
			return err
		}
	}
	if !unnamed {
		if f, err = os.CreateTemp(parent, tempPattern); err != nil {
			return err
		}
	}
	committed := false
	defer func() {
		if !committed {
			_ = f.Close()
			if !unnamed {
				_ = os.Remove(f.Name())
			}
		}
	}()

	// Read one byte past size so an over-long body is detected instead of
	// silently truncated.
	limit := size
	if limit < math.MaxInt64 {
		limit++
	}
	n, err := io.Copy(f, io.LimitReader(ctxReader{ctx: ctx, r: r}, limit))
	if err != nil {
		return err
	}
	if n != size {
		return errSizeMismatch(size, n)
	}
	// Without fsync before the file gets its name, a crash can leave the
	// name pointing at a zero-length or partial file on some filesystems.
	if err := f.Sync(); err != nil {
		return err
	}
	// Last point at which cancellation can still be honoured without leaving
	// the caller unsure whether the write happened.
	if err := ctx.Err(); err != nil {
		return err
	}
	if unnamed {
		err = linkUnnamed(f, final)
		if errors.Is(err, fs.ErrExist) {
			// A link never replaces: name the file beside the old one,
			// then rename it over it.
			err = replaceWithUnnamed(f, parent, final)
		}
		if err != nil {
			return err
		}
		committed = true
		_ = f.Close() // written and synced: nothing left to fail
	} else {
		if err := f.Close(); err != nil {
			return err
		}
		if err := os.Rename(f.Name(), final); err != nil {
			return err
		}
		committed = true
	}
	// The new name itself is only durable once the directory entry is
	// flushed.
	return l.syncs.sync(parent, syncDir)
}

// replaceWithUnnamed names the unnamed file f with a temp name in dir,
// then renames it to final, replacing the file there.
func replaceWithUnnamed(f *os.File, dir, final string) error {
	for try := 0; ; try++ {
		tmp := randomName(dir, tempPattern)
		err := linkUnnamed(f, tmp)
		if errors.Is(err, fs.ErrExist) && try < 100 {
			continue
		}
		if err != nil {
			return err
		}
		if err := os.Rename(tmp, final); err != nil {
			_ = os.Remove(tmp)
			return err
		}
		return nil
	}
}

// Get opens the blob for reading.
func (l *Local) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := validateKey(key); err != nil {
		return nil, fmt.Errorf("get blob: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get blob %s: %w", key, err)
	}
	f, err := os.Open(l.path(key))
	if err != nil {
		if isNotExist(err) {
			return nil, fmt.Errorf("get blob %s: %w", key, ErrNotFound)
		}
		return nil, fmt.Errorf("get blob %s: %w", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("get blob %s: %w", key, err)
	}
	// A key prefix such as "tenant/2026" is a directory here but not an
	// object in S3; report it the way S3 would.
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, fmt.Errorf("get blob %s: %w", key, ErrNotFound)
	}
	return f, nil
}

// Delete removes the blob. Empty parent directories are left behind: removing
// them would race with a concurrent Put into the same prefix.
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := validateKey(key); err != nil {
		return fmt.Errorf("delete blob: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	p := l.path(key)
	fi, err := os.Lstat(p)
	if err != nil {
		if isNotExist(err) {
			return nil
		}
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	// Same reasoning as Get: a prefix directory is not a blob, so there is
	// nothing to delete, and removing it could destroy other blobs' parent.
	if fi.IsDir() {
		return nil
	}
	if err := os.Remove(p); err != nil && !isNotExist(err) {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	// Deleted documents must stay deleted after a crash.
	if err := l.syncs.sync(filepath.Dir(p), syncDir); err != nil {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}

// Ping proves writability by creating and removing a probe file, because a
// directory that exists but is read-only (full disk, remounted ro) would
// otherwise pass a health check and then fail every upload.
func (l *Local) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ping local blob store %s: %w", l.dir, err)
	}
	fi, err := os.Stat(l.dir)
	if err != nil {
		return fmt.Errorf("ping local blob store %s: %w", l.dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("ping local blob store %s: not a directory", l.dir)
	}
	f, err := os.CreateTemp(l.dir, pingPattern)
	if err != nil {
		return fmt.Errorf("ping local blob store %s: %w", l.dir, err)
	}
	name := f.Name()
	cerr := f.Close()
	rerr := os.Remove(name)
	if err := errors.Join(cerr, rerr); err != nil {
		return fmt.Errorf("ping local blob store %s: %w", l.dir, err)
	}
	return nil
}

// isNotExist also treats ENOTDIR as missing: for key "a.pdf/b" where "a.pdf"
// is a file, S3 would simply say the key does not exist.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

func syncDir(dir string) error {
	// Windows cannot open directories for fsync and does not need it for
	// rename durability in the same way.
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := d.Sync()
	cerr := d.Close()
	return errors.Join(serr, cerr)
}

// ctxReader makes a long copy from a slow client stop promptly on
// cancellation instead of running to completion.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
