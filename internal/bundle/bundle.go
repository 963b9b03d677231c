// Package bundle writes the deployment package SCF takes for the Go1
// runtime: a zip with the executable at its root.
//
// It is written with archive/zip rather than left to a zip command because
// the build must work on a machine that has only Go and make, and because
// the executable bit must survive: SCF runs the handler file as is, and a
// zip made on some systems (or by some tools) drops the mode.
package bundle

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// File is one file to put in the package.
type File struct {
	// Path is the file on disk.
	Path string
	// Name is its name inside the zip; "main" for the handler.
	Name string
	// Executable sets mode 0755 instead of 0644.
	Executable bool
}

// epoch is the fixed modification time of every entry, so that the same
// binary always gives the same package (and the same code hash in SCF).
var epoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// Write writes a zip of files to w.
func Write(w io.Writer, files []File) error {
	zw := zip.NewWriter(w)
	for _, f := range files {
		if err := add(zw, f); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("finishing the zip: %w", err)
	}
	return nil
}

func add(zw *zip.Writer, f File) error {
	src, err := os.Open(f.Path)
	if err != nil {
		return fmt.Errorf("opening %s: %w", f.Path, err)
	}
	defer src.Close()
	h := &zip.FileHeader{Name: filepath.ToSlash(f.Name), Method: zip.Deflate, Modified: epoch}
	mode := os.FileMode(0o644)
	if f.Executable {
		mode = 0o755
	}
	h.SetMode(mode)
	dst, err := zw.CreateHeader(h)
	if err != nil {
		return fmt.Errorf("adding %s: %w", f.Name, err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		return fmt.Errorf("writing %s: %w", f.Name, err)
	}
	return nil
}

// WriteFile writes the package to path atomically: a half-written zip is
// never left where a deploy would pick it up.
func WriteFile(path string, files []File) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".bundle-*.zip")
	if err != nil {
		return fmt.Errorf("creating the package: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := Write(tmp, files); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("closing the package: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("moving the package into place: %w", err)
	}
	return nil
}
