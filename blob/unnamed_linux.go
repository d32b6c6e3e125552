package blob

import (
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// createUnnamed opens a new file in dir that has no name yet (O_TMPFILE):
// nothing can see it until linkUnnamed gives it one, and if the process
// dies first it is gone with its last descriptor. Compared with a named
// temp file renamed into place, it saves creating and removing the temp
// name, two of the five directory changes of a write. ok is false where
// the filesystem or kernel cannot (the caller then uses a named temp file).
func createUnnamed(dir string) (f *os.File, ok bool, err error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o640)
	switch {
	case err == nil:
		return os.NewFile(uintptr(fd), dir), true, nil
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EISDIR), errors.Is(err, unix.EINVAL):
		return nil, false, nil
	}
	return nil, false, &os.PathError{Op: "open O_TMPFILE", Path: dir, Err: err}
}

// linkUnnamed gives a file from createUnnamed the name path. It fails with
// an error matching fs.ErrExist when path exists: link never replaces.
func linkUnnamed(f *os.File, path string) error {
	// The documented way to name an O_TMPFILE file without
	// CAP_DAC_READ_SEARCH: link its /proc/self/fd entry, following it.
	proc := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	if err := unix.Linkat(unix.AT_FDCWD, proc, unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW); err != nil {
		return &os.LinkError{Op: "link", Old: proc, New: path, Err: err}
	}
	return nil
}
