package main

import (
	"encoding/json"
	"net/http"
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
	// A cross-site form and a rebound name register nothing: the next
	// contact, from the page served here, gets the next Id.
	evil := `{"Name":"Eve","ContactInfo":"eve@example.com"}`
	if r := s.do(t, "POST", "/", evil, http.Header{"Origin": {"https://evil.example"}, "Content-Type": {"application/x-www-form-urlencoded"}}); r.status != 403 {
		t.Errorf("cross-site POST: %d %s", r.status, r.body)
	}
	if r := s.do(t, "GET", "/?Name=Eve&ContactInfo=eve%40example.com", "", http.Header{"Sec-Fetch-Site": {"cross-site"}}); r.status != 403 {
		t.Errorf("cross-site GET: %d %s", r.status, r.body)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "POST", s.url, strings.NewReader(evil))
	req.Host = "rebound.example:" + s.url[strings.LastIndexByte(s.url, ':')+1:]
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 421 {
		t.Errorf("foreign Host: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	get := s.do(t, "GET", "/?Name=Li+Lei&ContactInfo=li%40example.com", "", http.Header{"Origin": {s.url}, "Sec-Fetch-Site": {"same-origin"}})
	if get.status != 200 || !strings.Contains(get.body, `"Id":2`) {
		t.Errorf("same-origin GET: %d %s", get.status, get.body)
	}
	put := s.do(t, "PUT", "/", `{}`, nil)
	if put.status != 405 || put.header.Get("Allow") != "GET, POST" || !strings.Contains(put.body, "UnsupportedOperation") {
		t.Errorf("PUT: %d %v %s", put.status, put.header, put.body)
	}
}
