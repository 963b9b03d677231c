// Package testsupport holds what several packages' tests share: building a
// Go program for an end-to-end test, gofmt-style golden files, a buffer
// that a test reads while something else writes it, and an in-memory
// transport.
package testsupport

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Build compiles the Go package at pkgDir into out with cgo off, as the
// function is built for SCF, and returns out. extraEnv adds variables such as
// GOOS=linux. It is called from TestMain, so it returns errors rather than
// taking a *testing.T.
func Build(pkgDir, out string, flags []string, extraEnv ...string) (string, error) {
	args := append([]string{"build", "-o", out}, flags...)
	cmd := exec.Command("go", append(args, pkgDir)...)
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), extraEnv...)
	if output, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkgDir, err, output)
	}
	return out, nil
}

// SampleEvents lists the sample events every end-to-end path must answer
// alike: events/ and internal/handler/testdata/events/, found from root, the
// repository's top directory relative to the test.
func SampleEvents(t testing.TB, root string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(root, "events", "*.json"))
	more, _ := filepath.Glob(filepath.Join(root, "internal", "handler", "testdata", "events", "*.json"))
	files = append(files, more...)
	if len(files) < 12 {
		t.Fatalf("only %d sample events under %s", len(files), root)
	}
	return files
}

// Golden compares got with the file at path, or rewrites the file when
// update is set (each package declares its own -update flag).
func Golden(t testing.TB, path, got string, update bool) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("output differs from %s (-want +got):\n%s", path, clip(diff))
	}
}

// clip keeps a huge diff readable.
func clip(s string) string {
	const limit = 8 << 10
	if len(s) <= limit {
		return s
	}
	return s[:limit] + fmt.Sprintf("… (%d bytes)", len(s))
}

// Buffer collects what a function, a command or a logger writes from other
// goroutines while the test reads it. The zero value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write appends p.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Reset forgets what was written.
func (l *Buffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

// InMemory is an http.RoundTripper that carries requests to Handler inside
// the process, so that an emulator runs on the test's (possibly fake)
// clock. It reports the request as written, as net/http's transport does,
// and turns a handler that aborts (the emulator's dropped connection) into
// the error a client would see.
type InMemory struct{ Handler http.Handler }

// RoundTrip serves req with Handler.
func (m InMemory) RoundTrip(req *http.Request) (*http.Response, error) {
	if trace := httptrace.ContextClientTrace(req.Context()); trace != nil && trace.WroteRequest != nil {
		trace.WroteRequest(httptrace.WroteRequestInfo{})
	}
	rec := httptest.NewRecorder()
	done := make(chan bool, 1)
	go func() {
		defer func() { done <- recover() != nil }()
		m.Handler.ServeHTTP(rec, req)
	}()
	select {
	case dropped := <-done:
		if dropped {
			return nil, errors.New("connection reset by peer")
		}
		return rec.Result(), nil
	case <-req.Context().Done():
		<-done
		return nil, req.Context().Err()
	}
}
