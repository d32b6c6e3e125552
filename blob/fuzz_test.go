package blob

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzValidateKey(f *testing.F) {
	for _, k := range invalidKeys {
		f.Add(k)
	}
	for _, k := range []string{"tenant/2026/11/a.pdf", "a", "tenant/.x", ".../x", "a/.../b", "a/b/"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		err := validateKey(key)
		if err != nil {
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("validateKey(%q) = %v, does not wrap ErrInvalidKey", key, err)
			}
			return
		}
		if strings.Contains(key, "..") {
			t.Fatalf("accepted key %q contains \"..\"", key)
		}
		if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, `\`) {
			t.Fatalf("accepted malformed key %q", key)
		}
		// The property the local backend relies on: the key maps to a path
		// that stays under the root and is not the root itself.
		p := filepath.FromSlash(key)
		if !filepath.IsLocal(p) || filepath.Clean(p) != p {
			t.Fatalf("accepted key %q maps to non-local or non-canonical path %q", key, p)
		}
	})
}
