package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	}
}

// checkDir fails the test unless dir holds exactly the file name with the
// contents want: no temporary file is left behind.
func checkDir(t *testing.T, dir, name, want string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != name {
		t.Errorf("directory holds %v, want only %s", entries, name)
	}
	got, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s holds %q, want %q", name, got, want)
	}
}

func TestWriteCreatesAndReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := Write(path, 0o600, writeString("old")); err != nil {
		t.Fatal(err)
	}
	checkDir(t, dir, "state.json", "old")
	if err := Write(path, 0o644, writeString("new")); err != nil {
		t.Fatal(err)
	}
	checkDir(t, dir, "state.json", "new")
	if runtime.GOOS == "windows" {
		return // only the read-only bit exists there
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want -rw-r--r--", fi.Mode())
	}
}

func TestFailureKeepsTheOldFile(t *testing.T) {
	errWrite := errors.New("write failed")
	for name, write := range map[string]func(io.Writer) error{
		"write fails": func(w io.Writer) error {
			_, _ = io.WriteString(w, "partial")
			return errWrite
		},
		"write panics": func(w io.Writer) error {
			_, _ = io.WriteString(w, "partial")
			panic(errWrite)
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.json")
			if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			func() {
				defer func() {
					if r := recover(); r != nil && r != errWrite {
						panic(r)
					}
				}()
				if err := Write(path, 0o600, write); !errors.Is(err, errWrite) {
					t.Errorf("err = %v, want write's error", err)
				}
			}()
			checkDir(t, dir, "state.json", "old")
		})
	}
}

// A failure after write, at the rename, also leaves no temporary file.
func TestRenameFailureLeavesNoTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "keep"), []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, 0o644, writeString("new")); err == nil {
		t.Fatal("replacing a non-empty directory succeeded")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "report" || !entries[0].IsDir() {
		t.Errorf("directory holds %v, want only the directory report", entries)
	}
	checkDir(t, path, "keep", "kept")
}

func TestMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent", "state.json")
	if err := Write(path, 0o600, writeString("new")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want os.ErrNotExist", err)
	}
}
