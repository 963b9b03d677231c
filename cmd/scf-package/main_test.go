package main

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/scf-dbbrain/addusercontact/internal/testsupport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func pack(ctx context.Context, env map[string]string, stdin string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	err := run(ctx, append([]string{"scf-package"}, args...), func(k string) string { return env[k] }, strings.NewReader(stdin), &stdout, &stderr)
	return stdout.String() + stderr.String(), err
}

func readZip(t *testing.T, path string) *zip.File {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { zr.Close() })
	if len(zr.File) != 1 || zr.File[0].Name != "main" {
		t.Fatalf("zip holds %d entries (first %q), want only main", len(zr.File), zr.File[0].Name)
	}
	f := zr.File[0]
	if f.Mode() != 0o755 {
		t.Errorf("main has mode %v, want -rwxr-xr-x: SCF cannot execute it otherwise", f.Mode())
	}
	return f
}

// A package of a binary built as `make build` builds (linux, amd64, static,
// stripped) holds a Linux x86-64 static executable named main at its root.
// The binary is the smallest Go program: the build flags and the packaging,
// not the function's code, are what this checks, and zipping a big binary
// under the race detector takes tens of seconds.
func TestPackageHoldsMainAtRoot(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin, err := testsupport.Build(src, filepath.Join(dir, "main"), []string{"-trimpath", "-ldflags=-s -w"}, "GOOS=linux", "GOARCH=amd64")
	if err != nil {
		t.Fatal(err)
	}
	zipPath := filepath.Join(dir, "function.zip")
	out, err := pack(t.Context(), nil, "", "--bin", bin, "--out", zipPath)
	if err != nil || !strings.Contains(out, "main at the root") {
		t.Fatalf("%v: %s", err, out)
	}
	rc, err := readZip(t, zipPath).Open()
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

// The same binary gives the same bytes whatever its file's time, from a
// file or stdin; SOURCE_DATE_EPOCH sets the entry's time.
func TestReproducible(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "main")
	content := strings.Repeat("binary ", 1000)
	if err := os.WriteFile(bin, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	a, b, c, d := filepath.Join(dir, "a.zip"), filepath.Join(dir, "b.zip"), filepath.Join(dir, "c.zip"), filepath.Join(dir, "d.zip")
	if _, err := pack(t.Context(), nil, "", "--bin", bin, "--out", a); err != nil {
		t.Fatal(err)
	}
	later := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(bin, later, later); err != nil {
		t.Fatal(err)
	}
	if _, err := pack(t.Context(), nil, "", "--bin", bin, "--out", b); err != nil {
		t.Fatal(err)
	}
	if _, err := pack(t.Context(), nil, content, "--bin", "-", "--out", c); err != nil {
		t.Fatal(err)
	}
	za, _ := os.ReadFile(a)
	zb, _ := os.ReadFile(b)
	zc, _ := os.ReadFile(c)
	if !bytes.Equal(za, zb) || !bytes.Equal(za, zc) {
		t.Error("the same binary gave different zips")
	}
	if _, err := pack(t.Context(), map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}, "", "--bin", bin, "--out", d); err != nil {
		t.Fatal(err)
	}
	if got := readZip(t, d).Modified; !got.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("entry time %v, want SOURCE_DATE_EPOCH's", got)
	}
}

// A failed or interrupted run leaves neither the package nor a temporary file.
func TestFailuresLeaveNothing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "function.zip")
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	for name, tc := range map[string]struct {
		ctx  context.Context
		env  map[string]string
		args []string
		want string
	}{
		"missing binary": {t.Context(), nil, []string{"--bin", filepath.Join(dir, "absent")}, "make build"},
		"interrupted":    {cancelled, nil, []string{"--bin", "-"}, "context canceled"},
		"bad epoch":      {t.Context(), map[string]string{"SOURCE_DATE_EPOCH": "yesterday"}, []string{"--bin", "-"}, "SOURCE_DATE_EPOCH"},
		"extra argument": {t.Context(), nil, []string{"--bin", "-", "extra"}, "unexpected argument"},
	} {
		_, err := pack(tc.ctx, tc.env, "binary", append(tc.args, "--out", out)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", name, err, tc.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}
