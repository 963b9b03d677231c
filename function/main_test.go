package main

// End-to-end tests: the real function binary, run by internal/scflocal the
// way SCF's Go1 runtime runs it (scf-go-lib's net/rpc Function.Invoke), against
// the DBbrain emulator on loopback.

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/scf-dbbrain/addusercontact/internal/emulator"
	"github.com/scf-dbbrain/addusercontact/internal/scflocal"
	"github.com/scf-dbbrain/addusercontact/internal/testsupport"
)

// binary is the function built once by TestMain, as `make build` builds it.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "function-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "main")
	if _, err := testsupport.Build(".", binary, []string{"-trimpath"}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		_ = os.RemoveAll(dir)
		os.Exit(code)
	}))
}

var role = emulator.Key{SecretID: "AKIDe2eROLE000000000000000000000000", SecretKey: "e2eROLEsecretKEY00000000000000", Token: "e2eROLEsessionTOKEN000000000000000000000"}

// upstream is a fresh emulator on 127.0.0.1 with deterministic RequestIds.
func upstream(t *testing.T, cfg emulator.Config) (*emulator.Server, string) {
	t.Helper()
	if cfg.Keys == nil {
		cfg.Keys = []emulator.Key{role}
	}
	var n atomic.Int64
	cfg.NewRequestID = func() string { return fmt.Sprintf("emu-%04d", n.Add(1)) }
	emu, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(func() {
		srv.Close()
		_ = emu.Close()
	})
	return emu, srv.URL
}

// start runs the binary with the role's keys in every invocation's
// Environment and the function's settings (env) in its process environment
// too, as SCF sets a function's variables when it starts an instance.
func start(t *testing.T, timeout time.Duration, env map[string]string) (*scflocal.Runtime, *testsupport.Buffer) {
	t.Helper()
	logs := &testsupport.Buffer{}
	base := map[string]string{
		"TENCENTCLOUD_SECRETID":     role.SecretID,
		"TENCENTCLOUD_SECRETKEY":    role.SecretKey,
		"TENCENTCLOUD_SESSIONTOKEN": role.Token,
	}
	cfg := scflocal.Config{Binary: binary, Timeout: timeout, Env: base, Stderr: logs}
	cfg.ProcessEnv = scflocal.BaseProcessEnv(cfg)
	for k, v := range env {
		base[k] = v
		cfg.ProcessEnv = append(cfg.ProcessEnv, k+"="+v)
	}
	rt, err := scflocal.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rt.Close(); err != nil {
			t.Errorf("closing the runtime: %v", err)
		}
	})
	return rt, logs
}

func invoke(t *testing.T, rt *scflocal.Runtime, payload []byte, opts ...scflocal.InvokeOption) *scflocal.Result {
	t.Helper()
	res, err := rt.Invoke(context.Background(), payload, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// render matches the in-process golden files of internal/handler.
func render(res *scflocal.Result) string {
	if res.FunctionError != nil {
		return fmt.Sprintf("function error (%s): %s\n", res.FunctionError.Type, res.FunctionError.Message)
	}
	return string(res.Payload) + "\n"
}

// TestEventsThroughTheRuntime sends every sample event to an instance of the
// real binary, each against a fresh emulator, and expects exactly the answers
// the handler's golden files record for the in-process path: the RPC layer,
// the process environment and the build change nothing.
func TestEventsThroughTheRuntime(t *testing.T) {
	files := testsupport.SampleEvents(t, "..")
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			payload, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			_, url := upstream(t, emulator.Config{})
			rt, _ := start(t, 10*time.Second, map[string]string{"DBBRAIN_CONCURRENCY": "1", "DBBRAIN_ENDPOINT": url})
			res := invoke(t, rt, payload, scflocal.WithRequestID("inv-0001"))
			want, err := os.ReadFile(filepath.Join("..", "internal", "handler", "testdata", "golden", name+".golden"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), render(res)); diff != "" {
				t.Errorf("the binary answered differently from the handler (-golden +binary):\n%s", diff)
			}
			if res.TimedOut {
				t.Error("timed out")
			}
		})
	}
}

// SCF's asynchronous retry runs only on a function error: a timer event that
// hits a retryable failure must come back as one, with the code inside; the
// same failure over HTTP is an integration response with status 500.
func TestRetryableFailureIsAFunctionError(t *testing.T) {
	emu, url := upstream(t, emulator.Config{RPS: -1, Faults: emulator.Faults{InternalError: 1}})
	rt, _ := start(t, 3*time.Second, map[string]string{"DBBRAIN_ENDPOINT": url, "DBBRAIN_DEADLINE_MARGIN": "2s"})
	timer, _ := os.ReadFile("../events/timer.json")
	res := invoke(t, rt, timer)
	if res.FunctionError == nil || res.FunctionError.Type != "RetryableError" || !strings.Contains(res.FunctionError.Message, `"Code":"InternalError"`) {
		t.Fatalf("timer: %s", render(res))
	}
	if res.FunctionError.ShouldExit {
		t.Error("a retryable failure must not discard the instance")
	}
	httpEvent, _ := os.ReadFile("../events/function-url-post.json")
	res = invoke(t, rt, httpEvent)
	var ir struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if res.FunctionError != nil || json.Unmarshal(res.Payload, &ir) != nil || ir.StatusCode != 500 || !strings.Contains(ir.Body, `"Code":"InternalError"`) {
		t.Fatalf("http: %s", render(res))
	}
	if len(emu.Contacts()) != 0 {
		t.Error("contacts were created")
	}
}

// The role's keys arrive in each invocation's Environment; a warm instance
// must sign with the keys of the invocation at hand.
func TestRotatedRoleKeysReachAWarmInstance(t *testing.T) {
	next := emulator.Key{SecretID: "AKIDe2eNEXT000000000000000000000000", SecretKey: "e2eNEXTsecretKEY00000000000000", Token: "e2eNEXTsessionTOKEN000000000000000000000"}
	emu, url := upstream(t, emulator.Config{Keys: []emulator.Key{next}})
	rt, logs := start(t, 3*time.Second, map[string]string{"DBBRAIN_ENDPOINT": url})
	direct, _ := os.ReadFile("../events/direct.json")
	res := invoke(t, rt, direct)
	// A key DBbrain does not know is the function's setup: a function error
	// of its own type, which a workflow's Catch can tell from a retryable one.
	if fe := res.FunctionError; fe == nil || fe.Type != "SetupError" || !strings.Contains(fe.Message, "AuthFailure.SecretIdNotFound") {
		t.Fatalf("old key: %s", render(res))
	}
	res = invoke(t, rt, direct, scflocal.WithEnv(map[string]string{
		"TENCENTCLOUD_SECRETID": next.SecretID, "TENCENTCLOUD_SECRETKEY": next.SecretKey, "TENCENTCLOUD_SESSIONTOKEN": next.Token,
	}))
	if res.ColdStart || !strings.Contains(string(res.Payload), `"Id":1`) {
		t.Fatalf("rotated key (cold start %v): %s", res.ColdStart, render(res))
	}
	if len(emu.Contacts()) != 1 {
		t.Errorf("contacts: %+v", emu.Contacts())
	}
	for _, secret := range []string{role.SecretKey, role.Token, next.SecretKey, next.Token} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the function logged a secret")
		}
	}
}

// An upstream slower than the function's time limit: the function answers
// ClientError.DeadlineExceeded before SCF would kill it, keeping its margin.
func TestDeadlineIsKept(t *testing.T) {
	emu, url := upstream(t, emulator.Config{Faults: emulator.Faults{Latency: 10 * time.Second}})
	rt, _ := start(t, 2*time.Second, map[string]string{"DBBRAIN_ENDPOINT": url})
	httpEvent, _ := os.ReadFile("../events/apigw-post-json.json")
	res := invoke(t, rt, httpEvent)
	if res.TimedOut {
		t.Fatal("the function was killed at its time limit instead of answering")
	}
	if !strings.Contains(string(res.Payload), `"statusCode":504`) || !strings.Contains(string(res.Payload), "ClientError.DeadlineExceeded") {
		t.Fatalf("got %s", render(res))
	}
	_ = emu
}

// Run by the local tools, the function process holds the credentials of its
// last invocation, and listens nowhere: not on loopback, not on any other
// interface. It serves the connection scf-local handed it.
func TestFunctionProcessListensNowhere(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	_, url := upstream(t, emulator.Config{})
	rt, _ := start(t, 3*time.Second, map[string]string{"DBBRAIN_ENDPOINT": url})
	direct, _ := os.ReadFile("../events/direct.json")
	if res := invoke(t, rt, direct); !strings.Contains(string(res.Payload), `"Id":1`) {
		t.Fatalf("got %s", render(res))
	}
	if got := listeners(t, rt.PID()); len(got) != 0 {
		t.Errorf("the function process listens on %v", got)
	}
}

// listeners returns the addresses of pid's listening TCP sockets, from
// /proc: its socket inodes, matched in its network namespace's tables.
func listeners(t *testing.T, pid int) []netip.AddrPort {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if inode, ok := strings.CutPrefix(link, "socket:["); ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	if len(inodes) == 0 {
		t.Fatal("the process has no socket at all: the test reads the wrong process")
	}
	var found []netip.AddrPort
	for _, table := range []string{"tcp", "tcp6"} {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" || !inodes[f[9]] {
				continue
			}
			found = append(found, procAddr(t, f[1]))
		}
	}
	return found
}

// procAddr decodes /proc/net/tcp's HEXIP:HEXPORT, the address in host
// (little-endian) 32-bit words.
func procAddr(t *testing.T, s string) netip.AddrPort {
	t.Helper()
	ipHex, portHex, _ := strings.Cut(s, ":")
	raw, err := hex.DecodeString(ipHex)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+4 <= len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		t.Fatal(err)
	}
	ip, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(ip.Unmap(), uint16(port))
}

func TestProcAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:2329":                         "127.0.0.1:9001",
		"00000000:0050":                         "0.0.0.0:80",
		"00000000000000000000000001000000:1F90": "[::1]:8080",
	} {
		if got := procAddr(t, in).String(); got != want {
			t.Errorf("procAddr(%s) = %s, want %s", in, got, want)
		}
	}
}

// Given a descriptor that is no Unix-domain connection, the function
// refuses to start rather than serve anywhere else.
func TestFunctionRefusesWhatCannotConfine(t *testing.T) {
	for _, fd := range []string{"3", "not-a-number"} {
		cmd := exec.CommandContext(t.Context(), binary)
		// fd 3 is /dev/null here: a file, not a socket.
		devNull, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		cmd.ExtraFiles = []*os.File{devNull}
		cmd.Env = []string{"SCF_LOCAL_RPC_FD=" + fd, "_LAMBDA_SERVER_PORT=none:refused"}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err = cmd.Run()
		devNull.Close()
		if err == nil || !strings.Contains(stderr.String(), "refusing to start when it cannot be confined") {
			t.Errorf("SCF_LOCAL_RPC_FD=%s: %v\n%s", fd, err, stderr.String())
		}
	}
}
