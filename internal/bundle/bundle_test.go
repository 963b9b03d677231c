package bundle

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestExecutableAtRoot(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "main")
	if err := os.WriteFile(bin, []byte("#!binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	zipPath := filepath.Join(dir, "function.zip")
	if err := WriteFile(zipPath, []File{{Path: bin, Name: "main", Executable: true}}); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "main" {
		t.Fatalf("entries: %v", zr.File)
	}
	if m := zr.File[0].Mode(); m.Perm() != 0o755 || !m.IsRegular() {
		t.Errorf("mode %v", m)
	}
	rc, _ := zr.File[0].Open()
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "#!binary" {
		t.Errorf("content %q", got)
	}
}

func TestReproducible(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "main")
	_ = os.WriteFile(bin, bytes.Repeat([]byte("x"), 1000), 0o755)
	var a, b bytes.Buffer
	if err := Write(&a, []File{{Path: bin, Name: "main", Executable: true}}); err != nil {
		t.Fatal(err)
	}
	_ = os.Chtimes(bin, epoch.AddDate(3, 0, 0), epoch.AddDate(3, 0, 0))
	if err := Write(&b, []File{{Path: bin, Name: "main", Executable: true}}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("same input gave different zips")
	}
}

func TestMissingFile(t *testing.T) {
	if err := WriteFile(filepath.Join(t.TempDir(), "f.zip"), []File{{Path: "/nonexistent/main", Name: "main"}}); err == nil {
		t.Error("no error for a missing file")
	}
}
