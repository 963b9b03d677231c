package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/scf-dbbrain/addusercontact/internal/testsupport"
)

// The function binary is built on first use and removed by TestMain.
var (
	functionOnce sync.Once
	functionDir  string
	functionBin  string
	functionErr  error
)

// realFunction builds the project's function (../../function) once.
func realFunction(t *testing.T) string {
	t.Helper()
	functionOnce.Do(func() {
		dir, err := os.MkdirTemp("", "scf-local-function-")
		if err != nil {
			functionErr = err
			return
		}
		functionDir = dir
		functionBin = filepath.Join(dir, "main")
		_, functionErr = testsupport.Build("../../function", functionBin, nil)
	})
	if functionErr != nil {
		t.Fatalf("building the function: %v", functionErr)
	}
	return functionBin
}

// `make invoke` is `scf-local invoke --emulator`: the real binary, the
// embedded emulator with a fresh temporary key and token, one sample event,
// the documented envelope on stdout.
func TestInvokeWithEmulator(t *testing.T) {
	bin := realFunction(t)
	state := filepath.Join(t.TempDir(), "contacts.json")
	for i, event := range []string{"../../events/apigw-post-json.json", "../../events/apigw-post-json.json", "../../events/direct.json"} {
		o := runCLI(t, nil, "", "invoke", "--emulator", "--emulator-state", state, "--bin", bin, "--event", event)
		if o.code != 0 {
			t.Fatalf("run %d: exit %d: %v\n%s", i, o.code, o.err, o.stderr)
		}
		var payload map[string]any
		if err := json.Unmarshal([]byte(o.stdout), &payload); err != nil {
			t.Fatalf("stdout is not JSON: %q", o.stdout)
		}
		body := o.stdout
		if s, ok := payload["body"].(string); ok {
			body = s
		}
		// The second run registers the same contact again: idempotent, same id.
		want := map[int]string{0: `"Id":1`, 1: `"Id":1`, 2: `"Id":2`}[i]
		if !strings.Contains(body, want) {
			t.Errorf("run %d: %s, want %s", i, body, want)
		}
		if !strings.Contains(o.stderr, "DBbrain emulator at http://127.0.0.1:") || !strings.Contains(o.stderr, "Report RequestId:") {
			t.Errorf("run %d: stderr lacks the emulator or report line:\n%s", i, o.stderr)
		}
	}
}

// `make serve` is `scf-local serve --emulator`: curl against it answers as
// the deployed Function URL would.
func TestServeWithEmulator(t *testing.T) {
	s := serve(t, "--emulator", "--bin", realFunction(t))
	post := s.do(t, "POST", "/", `{"Name":"John Smith","ContactInfo":"test@qq.com"}`, nil)
	if post.status != 200 || !strings.Contains(post.body, `"Id":1`) || !strings.HasPrefix(post.header.Get("Content-Type"), "application/json") {
		t.Errorf("POST: %d %v %s", post.status, post.header, post.body)
	}
	get := s.do(t, "GET", "/?Name=Li+Lei&ContactInfo=li%40example.com", "", nil)
	if get.status != 200 || !strings.Contains(get.body, `"Id":2`) {
		t.Errorf("GET: %d %s", get.status, get.body)
	}
	put := s.do(t, "PUT", "/", `{}`, nil)
	if put.status != 405 || put.header.Get("Allow") != "GET, POST" || !strings.Contains(put.body, "UnsupportedOperation") {
		t.Errorf("PUT: %d %v %s", put.status, put.header, put.body)
	}
}
