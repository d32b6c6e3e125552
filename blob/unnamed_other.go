//go:build !linux

package blob

import (
	"errors"
	"os"
)

// createUnnamed: only Linux has unnamed files; elsewhere a write goes
// through a named temp file.
func createUnnamed(string) (*os.File, bool, error) { return nil, false, nil }

func linkUnnamed(*os.File, string) error { return errors.ErrUnsupported }
