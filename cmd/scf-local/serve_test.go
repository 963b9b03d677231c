package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scf-dbbrain/addusercontact/internal/event"
	"github.com/scf-dbbrain/addusercontact/internal/testsupport"
)

// server is a running `scf-local serve`.
type server struct {
	url    string
	stderr *testsupport.Buffer
	stop   func() error // cancels, as SIGINT would, and returns run's error
}

// serve starts `scf-local serve --addr 127.0.0.1:0` with args and reads the
// base URL from the first line of its stdout; the test's cleanup stops it.
func serve(t *testing.T, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &server{stderr: &testsupport.Buffer{}}
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"scf-local", "serve", "--addr", "127.0.0.1:0"}, args...), func(string) string { return "" },
			strings.NewReader(""), pw, s.stderr)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	var once sync.Once
	var stopErr error
	s.stop = func() error {
		once.Do(func() {
			cancel()
			stopErr = <-done
		})
		return stopErr
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no base URL (%v); stderr:\n%s", err, s.stderr)
	}
	s.url = strings.TrimSpace(line)
	if !strings.HasPrefix(s.url, "http://127.0.0.1:") {
		t.Fatalf("base URL %q", s.url)
	}
	return s
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (s *server) do(t *testing.T, method, path, body string, header http.Header) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// The request becomes a Function URL event; the fixture answers with an
// integration response whose body is that event.
func TestServeFunctionURL(t *testing.T) {
	s := serve(t, "--bin", fixtureBin)
	body := `{"mode":"http","status":201}`
	r := s.do(t, "POST", "/contacts?a=1&b=x&b=y&flag&e=%E5%BC%A0", body, http.Header{"X-Custom": {"v1", "v2"}, "Content-Type": {"application/json"}})
	if r.status != 201 || r.header.Get("X-Fixture") != "http" || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("answer %d %v: %s", r.status, r.header, r.body)
	}
	var raw map[string]json.RawMessage
	var ev event.FunctionURLEvent
	if err := json.Unmarshal([]byte(r.body), &raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(r.body), &ev); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["requestContext"]; ok {
		t.Error("a Function URL event has no requestContext")
	}
	if ev.HTTPMethod != "POST" || ev.Path != "/contacts" || ev.Body != body {
		t.Errorf("event %s %s %q", ev.HTTPMethod, ev.Path, ev.Body)
	}
	var query map[string]any
	var h map[string]string
	if err := json.Unmarshal(ev.QueryString, &query); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"a": "1", "b": []any{"x", "y"}, "flag": true, "e": "张"}, query); diff != "" {
		t.Errorf("queryString (-want +got):\n%s", diff)
	}
	if err := json.Unmarshal(ev.Headers, &h); err != nil || h["x-custom"] != "v1, v2" || h["x-scf-remote-addr"] != "127.0.0.1" || !strings.HasPrefix(h["host"], "127.0.0.1:") {
		t.Errorf("headers %v (%v)", h, err)
	}
	if g := s.do(t, "GET", "/?Name=John+Smith", "", nil); g.status != 200 || !strings.Contains(g.body, `"queryString":{"Name":"John Smith"}`) {
		t.Errorf("GET: %d %s", g.status, g.body)
	}
}

func TestServeAPIGateway(t *testing.T) {
	s := serve(t, "--bin", fixtureBin, "--apigw")
	r := s.do(t, "POST", "/", "\xff\xfe", nil)
	var ev event.APIGatewayEvent
	if err := json.Unmarshal([]byte(r.body), &ev); err != nil || r.status != 200 {
		t.Fatalf("%d %v: %s", r.status, err, r.body)
	}
	if ev.RequestContext == nil || ev.RequestContext.HTTPMethod != "POST" || ev.RequestContext.SourceIP != "127.0.0.1" || ev.RequestContext.RequestID == "" {
		t.Errorf("requestContext %+v", ev.RequestContext)
	}
	if string(ev.IsBase64Encoded) != "true" || ev.Body != "//4=" {
		t.Errorf("a body that is not UTF-8 arrives as %q, isBase64Encoded %s", ev.Body, ev.IsBase64Encoded)
	}
}

// Failures answer as the platform does, and the next request is served.
func TestServeAnswers(t *testing.T) {
	s := serve(t, "--bin", fixtureBin, "--timeout", "300ms")
	for _, tc := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"base64 body", `{"mode":"base64","message":"plain text"}`, 200, "plain text"},
		{"not an integration response", `{"mode":"raw"}`, 200, `{"not":"an integration response"}`},
		{"function error", `{"mode":"error","message":"contact rejected"}`, 502, `"statusCode":430`},
		{"panic", `{"mode":"panic","message":"boom"}`, 502, `"errorType":"string"`},
		{"timeout", `{"mode":"sleep","sleep_ms":600000}`, 504, `"statusCode":433`},
		{"process dies", `{"mode":"exit","message":"gone"}`, 502, "fixture exiting: gone"},
		{"too large", strings.Repeat("x", event.MaxEvent+1), 413, "6 MB"},
		{"after all that", `{"mode":"http"}`, 200, `"httpMethod":"POST"`},
	} {
		r := s.do(t, "POST", "/", tc.body, nil)
		if r.status != tc.status || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: %d %.300s; want %d with %s", tc.name, r.status, r.body, tc.status, tc.want)
		}
	}
	if n := strings.Count(s.stderr.String(), "START RequestId:"); n != 7 {
		t.Errorf("%d invocations, want 7: the body over the limit must not reach the function", n)
	}
}

// Stopping the server (SIGINT, SIGTERM) abandons an invocation in flight,
// answers it, and returns cleanly.
func TestServeShutdown(t *testing.T) {
	s := serve(t, "--bin", fixtureBin, "--timeout", "10m")
	answered := make(chan reply, 1)
	go func() {
		req, _ := http.NewRequest("POST", s.url, strings.NewReader(`{"mode":"sleep","sleep_ms":600000}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- reply{body: err.Error()}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answered <- reply{status: resp.StatusCode, body: string(b)}
	}()
	for !strings.Contains(s.stderr.String(), "START RequestId:") {
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	if r := <-answered; r.status != 503 || !strings.Contains(r.body, "abandoned") {
		t.Errorf("the request in flight got %d %s", r.status, r.body)
	}
}

func TestServeUsage(t *testing.T) {
	if o := runCLI(t, nil, "", "serve", "--addr", "127.0.0.1:0", "--bin", "/nonexistent/main"); o.code != exitFailure || !strings.Contains(o.stderr, "make build-local") {
		t.Errorf("missing binary: exit %d\n%s", o.code, o.stderr)
	}
	if o := runCLI(t, nil, "", "serve", "--addr", "nonsense", "--bin", fixtureBin); o.code != exitFailure || !strings.Contains(o.stderr, "listen") {
		t.Errorf("bad address: exit %d\n%s", o.code, o.stderr)
	}
	if o := runCLI(t, nil, "", "serve", "extra"); o.code != exitUsage {
		t.Errorf("extra argument: exit %d", o.code)
	}
}

// A page on another site can make a browser send requests here: a
// cross-site form or image (Origin, Sec-Fetch-Site), or a page of its own
// name rebound to 127.0.0.1 (Host). Each is refused before the function is
// invoked; curl, the browser's own tab and --allow-host names are served.
func TestServeRefusesOtherSitesAndHosts(t *testing.T) {
	s := serve(t, "--bin", fixtureBin, "--allow-host", "dev.test")
	hostPort := strings.TrimPrefix(s.url, "http://")
	_, port, _ := strings.Cut(hostPort, ":")
	const body = `{"mode":"http"}`
	served := 0
	for _, tc := range []struct {
		name   string
		method string
		host   string
		header http.Header
		status int
	}{
		{"curl", "POST", "", nil, 200},
		{"cross-site form", "POST", "", http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}, 403},
		{"cross-site, Origin only", "POST", "", http.Header{"Origin": {"https://evil.example"}}, 403},
		{"another port of this host", "POST", "", http.Header{"Origin": {"http://127.0.0.1:1"}}, 403},
		{"sandboxed page", "POST", "", http.Header{"Origin": {"null"}}, 403},
		{"cross-site image", "GET", "", http.Header{"Sec-Fetch-Site": {"cross-site"}}, 403},
		{"same-site page", "GET", "", http.Header{"Sec-Fetch-Site": {"same-site"}}, 403},
		{"rebound name", "POST", "evil.example:" + port, http.Header{"Origin": {"http://evil.example:" + port}}, 421},
		{"rebound name, no port", "POST", "evil.example", nil, 421},
		{"this address, another port", "POST", "127.0.0.1:1", nil, 421},
		{"same-origin page", "POST", "", http.Header{"Origin": {s.url}, "Sec-Fetch-Site": {"same-origin"}}, 200},
		{"typed in the address bar", "GET", "", http.Header{"Sec-Fetch-Site": {"none"}}, 200},
		{"localhost", "POST", "localhost:" + port, http.Header{"Origin": {"http://localhost:" + port}}, 200},
		{"--allow-host", "POST", "DEV.test:8443", http.Header{"Origin": {"http://dev.test:8443"}}, 200},
	} {
		req, err := http.NewRequestWithContext(t.Context(), tc.method, s.url+"/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = tc.header
		if tc.host != "" {
			req.Host = tc.host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, b, tc.status)
		}
		if tc.status == 200 {
			served++
		}
	}
	if n := strings.Count(s.stderr.String(), "START RequestId:"); n != served {
		t.Errorf("%d invocations, want %d: a refused request reached the function", n, served)
	}
	if !strings.Contains(s.stderr.String(), `scf-local: refused POST /: Host "evil.example:`+port+`" is not this server's address`) {
		t.Errorf("the refusal is not logged:\n%s", s.stderr)
	}
}

func TestServeOwnHost(t *testing.T) {
	for _, tc := range []struct {
		served string
		host   string
		want   bool
	}{
		{"127.0.0.1:9001", "127.0.0.1:9001", true},
		{"127.0.0.1:9001", "localhost:9001", true},
		{"127.0.0.1:9001", "LOCALHOST:9001", true},
		{"127.0.0.1:9001", "127.0.0.1:9002", false},
		{"127.0.0.1:9001", "127.0.0.2:9001", false},
		{"127.0.0.1:9001", "evil.example:9001", false},
		{"127.0.0.1:9001", "", false},
		{"127.0.0.1:80", "127.0.0.1", true},
		{"[::1]:9001", "[::1]:9001", true},
		{"[::1]:9001", "localhost:9001", true},
		{"0.0.0.0:9001", "192.0.2.7:9001", true},
		{"0.0.0.0:9001", "localhost:9001", true},
		{"0.0.0.0:9001", "rebound.example:9001", false},
		{"192.0.2.7:9001", "localhost:9001", false},
	} {
		g := &gateway{served: netip.MustParseAddrPort(tc.served)}
		if got := g.ownHost(tc.host); got != tc.want {
			t.Errorf("serving %s, Host %q: %v, want %v", tc.served, tc.host, got, tc.want)
		}
	}
}

// Asked to listen beyond loopback, serve says what that exposes.
func TestServeExposureWarning(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:9001", "[::1]:9001", "[::ffff:127.0.0.1]:9001"} {
		if w := exposure(netip.MustParseAddrPort(addr)); w != "" {
			t.Errorf("%s: %q", addr, w)
		}
	}
	for _, addr := range []string{"0.0.0.0:9001", "[::]:9001", "192.0.2.7:9001"} {
		w := exposure(netip.MustParseAddrPort(addr))
		for _, want := range []string{"beyond loopback", "anyone on the network", "register DBbrain contacts with the credentials it holds"} {
			if !strings.Contains(w, want) {
				t.Errorf("%s: %q lacks %q", addr, w, want)
			}
		}
	}
}

// A taken port names the flag and the make variable that pick another.
func TestServeBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	o := runCLI(t, nil, "", "serve", "--bin", fixtureBin, "--addr", ln.Addr().String())
	if o.code != exitFailure || !strings.Contains(o.stderr, "address already in use") ||
		!strings.Contains(o.stderr, "--addr") || !strings.Contains(o.stderr, "make serve ADDR=") {
		t.Errorf("exit %d:\n%s", o.code, o.stderr)
	}
	if strings.Contains(o.stderr, "fixture init") {
		t.Error("the function was started although the port was taken")
	}
}
