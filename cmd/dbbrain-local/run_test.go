package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/scf-dbbrain/addusercontact/internal/signature"
	"github.com/scf-dbbrain/addusercontact/internal/testsupport"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// started is a running command.
type started struct {
	url    string
	stderr *testsupport.Buffer
	cancel context.CancelFunc
	done   chan error
}

// start runs the command with args and waits for its base URL.
func start(t *testing.T, args []string, env map[string]string) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &started{stderr: &testsupport.Buffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := run(ctx, args, func(k string) string { return env[k] }, strings.NewReader(""), pw, s.stderr)
		pw.CloseWithError(errors.New("run returned"))
		s.done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("no base URL on stdout (%v); stderr:\n%s; run: %v", err, s.stderr.String(), <-s.done)
	}
	s.url = strings.TrimSuffix(line, "\n")
	go func() { _, _ = io.Copy(io.Discard, pr) }() // nothing else is expected on stdout
	return s
}

// stop cancels the command and returns run's error.
func (s *started) stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("run did not return after cancel")
		return nil
	}
}

func addContact(t *testing.T, baseURL string, cred common.CredentialIface, name string) (int64, error) {
	t.Helper()
	prof := profile.NewClientProfile()
	prof.HttpProfile.Endpoint = strings.TrimPrefix(baseURL, "http://")
	prof.HttpProfile.Scheme = "HTTP"
	client := common.NewCommonClient(cred, "ap-guangzhou", prof)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client.WithHttpTransport(tr)
	req := tchttp.NewCommonRequest("dbbrain", "2019-10-16", "AddUserContact")
	if err := req.SetActionParameters(map[string]any{"Name": name, "ContactInfo": "test@qq.com", "Product": "mysql"}); err != nil {
		t.Fatal(err)
	}
	var resp struct {
		*tchttp.BaseResponse
		Response struct{ Id int64 }
	}
	resp.BaseResponse = &tchttp.BaseResponse{}
	err := client.Send(req, &resp)
	return resp.Response.Id, err
}

func TestRunServesAndShutsDownCleanly(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	s := start(t, []string{"--addr", "127.0.0.1:0", "--state", state}, nil)
	if !strings.HasPrefix(s.url, "http://127.0.0.1:") || strings.HasSuffix(s.url, ":0") {
		t.Fatalf("base URL %q", s.url)
	}
	id, err := addContact(t, s.url, common.NewCredential(DefaultSecretID, DefaultSecretKey), "John Smith")
	if err != nil || id != 1 {
		t.Fatalf("AddUserContact: id %d, %v", id, err)
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("run: %v", err)
	}

	logs := s.stderr.String()
	var sawCall bool
	for line := range strings.SplitSeq(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("stderr line is not JSON: %q", line)
		}
		if rec["action"] == "AddUserContact" && rec["code"] == "OK" && rec["contact"] == "t***@qq.com" {
			sawCall = true
		}
	}
	if !sawCall {
		t.Errorf("no log line for the call:\n%s", logs)
	}
	for _, leak := range []string{DefaultSecretKey, "test@qq.com"} {
		if strings.Contains(logs, leak) {
			t.Errorf("stderr leaks %q", leak)
		}
	}
	raw, err := os.ReadFile(state)
	if err != nil || !strings.Contains(string(raw), "John Smith") {
		t.Fatalf("state file: %v %s", err, raw)
	}
}

func TestRunWithTemporaryKeyFromEnvironment(t *testing.T) {
	env := map[string]string{"DBBRAIN_LOCAL_SECRET_ID": "AKIDFROMENV", "DBBRAIN_LOCAL_SECRET_KEY": "env-key"}
	s := start(t, []string{"--addr", "127.0.0.1:0", "--token", "tok", "--rps", "-1"}, env)
	defer func() {
		if err := s.stop(t); err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	if _, err := addContact(t, s.url, common.NewTokenCredential("AKIDFROMENV", "env-key", "tok"), "With Token"); err != nil {
		t.Fatalf("with token: %v", err)
	}
	_, err := addContact(t, s.url, common.NewCredential("AKIDFROMENV", "env-key"), "Without Token")
	var sdkErr *tcerr.TencentCloudSDKError
	if !errors.As(err, &sdkErr) || sdkErr.GetCode() != "AuthFailure.TokenFailure" {
		t.Fatalf("without token: %v", err)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for name, args := range map[string][]string{
		"unknown flag":      {"--nope"},
		"stray argument":    {"serve"},
		"probability > 1":   {"--fault-drop", "1.5"},
		"probabilities sum": {"--fault-drop", "0.6", "--fault-unavailable", "0.6"},
		"zero rps":          {"--rps", "0"},
		"log level":         {"--log-level", "loud"},
		"bad address":       {"--addr", "127.0.0.1:notaport"},
		"bad state":         {"--state", os.TempDir()},
		"state dir missing": {"--state", filepath.Join(os.TempDir(), "no-such-dir-dbbrain-local", "s.json")},
		"unpaired keys":     {"--secret-id", "A", "--secret-id", "B", "--secret-key", "a"},
		"env file dir":      {"--addr", "127.0.0.1:0", "--env-file", filepath.Join(os.TempDir(), "no-such-dir-dbbrain-local", "x.env")},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if err := run(context.Background(), args, func(string) string { return "" }, nil, &stdout, &stderr); err == nil {
				t.Fatal("run succeeded")
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q: nothing may be printed before the server listens", stdout.String())
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, func(string) string { return "" }, nil, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "-fault-drop") {
		t.Errorf("usage lacks flags: %s", stderr.String())
	}
}

// TestRunEnvFileReachesTheEmulator checks that the --env-file lines are what
// a function needs: its credentials and endpoint, taken as SCF passes them.
func TestRunEnvFileReachesTheEmulator(t *testing.T) {
	envFile := filepath.Join(t.TempDir(), "fn.env")
	s := start(t, []string{"--addr", "127.0.0.1:0", "--rps", "-1", "--token", "tok", "--env-file", envFile,
		"--secret-id", "AKIDFIRST", "--secret-key", "first-key", "--secret-id", "AKIDSECOND", "--secret-key", "second-key"}, nil)
	defer func() {
		if err := s.stop(t); err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	raw, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(envFile); info.Mode().Perm()&0o077 != 0 {
		t.Errorf("env file mode %v: it holds a secret", info.Mode())
	}
	env := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(raw)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	want := map[string]string{"TENCENTCLOUD_SECRETID": "AKIDFIRST", "TENCENTCLOUD_SECRETKEY": "first-key",
		"TENCENTCLOUD_SESSIONTOKEN": "tok", "DBBRAIN_ENDPOINT": s.url}
	if len(env) != len(want) {
		t.Fatalf("env file %q", raw)
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s=%q, want %q", k, env[k], v)
		}
	}
	cred := common.NewTokenCredential(env["TENCENTCLOUD_SECRETID"], env["TENCENTCLOUD_SECRETKEY"], env["TENCENTCLOUD_SESSIONTOKEN"])
	if _, err := addContact(t, env["DBBRAIN_ENDPOINT"], cred, "From Env"); err != nil {
		t.Fatalf("with the env file's values: %v", err)
	}
	if _, err := addContact(t, s.url, common.NewTokenCredential("AKIDSECOND", "second-key", "tok"), "Second Key"); err != nil {
		t.Fatalf("with the second pair: %v", err)
	}
	for _, secret := range []string{"first-key", "second-key", "tok\""} {
		if strings.Contains(s.stderr.String(), secret) {
			t.Errorf("stderr leaks %q", secret)
		}
	}
}

// A taken port names the flag and the make variable that pick another.
func TestRunBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{"--addr", ln.Addr().String()}, func(string) string { return "" }, nil, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), `make emulator ARGS="--addr 127.0.0.1:`) {
		t.Errorf("run: %v", err)
	}
}

// SDKs other than Go and Python (Node.js, Java, PHP, .NET, C++) take the
// TC3 scope's service from the endpoint's first label. Against
// 127.0.0.1:PORT they sign "127" and are refused, as the cloud would
// refuse them; against dbbrain.localhost:PORT, connected to 127.0.0.1
// (the README's recipe), they sign "dbbrain" and are served. This signs as
// they do; the Node.js SDK itself was checked by hand (see the README).
func TestRunServesSDKsThatNameTheServiceByTheEndpoint(t *testing.T) {
	s := start(t, []string{"--addr", "127.0.0.1:0", "--rps", "-1"}, nil)
	defer func() {
		if err := s.stop(t); err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	if !strings.Contains(s.stderr.String(), `"sdk_endpoint":"dbbrain.localhost:`) {
		t.Errorf("the start-up line does not give the endpoint for such SDKs:\n%s", s.stderr)
	}
	port := s.url[strings.LastIndexByte(s.url, ':')+1:]
	loopback := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+port)
	}}
	defer loopback.CloseIdleConnections()
	client := &http.Client{Transport: loopback}
	for endpoint, want := range map[string]string{
		"127.0.0.1:" + port:         "AuthFailure.SignatureFailure",
		"dbbrain.localhost:" + port: `"Id":`,
	} {
		body := `{"Name":"Node SDK","ContactInfo":"node@qq.com","Product":"mysql"}`
		req, err := http.NewRequestWithContext(t.Context(), "POST", "http://"+endpoint+"/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]string{"Content-Type": "application/json", "X-TC-Action": "AddUserContact",
			"X-TC-Version": "2019-10-16", "X-TC-Region": "ap-guangzhou"} {
			req.Header.Set(k, v)
		}
		service, _, _ := strings.Cut(endpoint, ".")
		if err := signature.Sign(req, []byte(body), signature.SignOptions{SecretID: DefaultSecretID, SecretKey: DefaultSecretKey,
			Service: service, Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(answer), want) {
			t.Errorf("endpoint %s: %s, want %s", endpoint, answer, want)
		}
	}
}
