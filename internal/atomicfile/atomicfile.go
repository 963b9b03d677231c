// Package atomicfile replaces a file's contents so that a reader, or the
// file system after a crash, sees the old contents or the new ones, never a
// partial write.
//
// It is hand-written because the standard library has no atomic replace
// (os.WriteFile truncates the file in place) and none of the modules this
// repository allows offers one.
package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Write replaces the file at path with what write writes, with permissions
// perm applied as given (the umask does not narrow them).
//
// The contents go to a temporary file in path's own directory, since a
// rename is atomic only within one file system; it is synced, closed and
// renamed over path. If write or any step fails, or write panics, path is
// left as it was and the temporary file is removed. Write returns write's
// error as it is, so that callers can match it with errors.Is.
func Write(path string, perm fs.FileMode, write func(io.Writer) error) error {
	// Hidden, so that a glob for the real file's name never matches a
	// half-written one.
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	renamed := false
	defer func() {
		if !renamed {
			_ = tmp.Close() // an error here changes nothing: the file goes
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	// Without the sync a crash soon after the rename can leave path empty:
	// file systems may persist the rename before the data.
	err = errors.Join(tmp.Chmod(perm), tmp.Sync())
	if err = errors.Join(err, tmp.Close()); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	renamed = true
	return nil
}
