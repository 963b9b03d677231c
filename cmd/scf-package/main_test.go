package main

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scf-dbbrain/addusercontact/internal/testsupport"
)

// The package `make package` writes: built as `make build` builds (linux,
// amd64, static, stripped), zipped by this command, it must hold a Linux
// x86-64 executable named main at its root, with its executable bit.
func TestPackageHoldsMainAtRoot(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "main")
	if _, err := testsupport.Build("../../function", bin, []string{"-trimpath", "-ldflags=-s -w"}, "GOOS=linux", "GOARCH=amd64"); err != nil {
		t.Fatal(err)
	}
	zipPath := filepath.Join(dir, "function.zip")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"scf-package", "--bin", bin, "--out", zipPath}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "main at the root") {
		t.Errorf("stdout %q", stdout.String())
	}
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "main" {
		names := []string{}
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		t.Fatalf("zip holds %v, want only main", names)
	}
	f := zr.File[0]
	if f.Mode().Perm()&0o111 == 0 || !f.Mode().IsRegular() {
		t.Errorf("main has mode %v: SCF cannot execute it", f.Mode())
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("main is not an ELF executable: %v", err)
	}
	if exe.Machine != elf.EM_X86_64 || exe.Type != elf.ET_EXEC {
		t.Errorf("main is %v %v, want an x86-64 executable", exe.Machine, exe.Type)
	}
	if exe.Section(".interp") != nil {
		t.Error("main is dynamically linked; SCF's Go1 runtime needs a static binary (CGO_ENABLED=0)")
	}
}

func TestMissingBinary(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"scf-package", "--bin", "/nonexistent/main", "--out", filepath.Join(t.TempDir(), "f.zip")}, &stdout, &stderr)
	if err == nil {
		t.Fatal("no error")
	}
}
