package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Store keeps raw documents by key. Keys look like "tenant/2026/11/<uuid>.pdf"
// (slash-separated, no leading slash, no "..").
type Store interface {
	// Put stores the whole content of r under key. size is the exact byte
	// length (callers have buffered it). contentType e.g. "application/pdf".
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Get opens the content; the caller closes it. Missing key -> error
	// wrapping ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes the key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Ping checks that the store is reachable and writable enough to serve
	// (used by health checks).
	Ping(ctx context.Context) error
}

var (
	// ErrNotFound is wrapped by Get when the key holds no blob.
	ErrNotFound = errors.New("blob not found")
	// ErrInvalidKey is wrapped by every operation given a key that fails
	// validation.
	ErrInvalidKey = errors.New("invalid blob key")
)

// Compile-time checks that both backends satisfy Store.
var (
	_ Store = (*Local)(nil)
	_ Store = (*S3)(nil)
)

// maxKeyLen matches S3's object key limit, so a key the local backend accepts
// can always be moved to S3 later.
const maxKeyLen = 1024

// validateKey enforces one key grammar for all backends. It is stricter than
// S3 needs because the local backend maps keys onto paths: anything that a
// filesystem would normalise ("a//b", "a/./b", "a/") would let two distinct
// keys alias one file, and anything that could climb out of the root must
// never get near os.Open.
func validateKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	case len(key) > maxKeyLen:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidKey, maxKeyLen)
	case !utf8.ValidString(key):
		// S3 keys are UTF-8 by definition; rejecting here keeps backends in step.
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidKey)
	case strings.HasPrefix(key, "/"):
		return fmt.Errorf("%w: %q is absolute", ErrInvalidKey, key)
	case strings.Contains(key, `\`):
		// Windows treats it as a separator, which would bypass segment checks.
		return fmt.Errorf("%w: %q contains a backslash", ErrInvalidKey, key)
	case strings.Contains(key, ".."):
		// Rejecting the substring, not just the segment, is simpler to reason
		// about and also reserves ".." for the local backend's temp files.
		return fmt.Errorf("%w: %q contains \"..\"", ErrInvalidKey, key)
	}
	for _, c := range key {
		// Control characters cannot round-trip through S3's XML responses and
		// make log lines ambiguous.
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("%w: %q contains a control character", ErrInvalidKey, key)
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." {
			return fmt.Errorf("%w: %q has an empty or \".\" segment", ErrInvalidKey, key)
		}
	}
	return nil
}

// errSizeMismatch lets both backends refuse a body that disagrees with the
// declared size, so a truncated upload is never stored as if it were whole.
func errSizeMismatch(want, got int64) error {
	return fmt.Errorf("body length %d does not match declared size %d", got, want)
}
