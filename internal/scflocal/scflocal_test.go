package scflocal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tencentyun/scf-go-lib/functioncontext"
	"go.uber.org/goleak"

	"github.com/scf-dbbrain/addusercontact/internal/scflocal"
	"github.com/scf-dbbrain/addusercontact/internal/testsupport"
)

// fixtureBin is the test function (testdata/fn) built once by TestMain.
var fixtureBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "scflocal-fixture-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtureBin = filepath.Join(dir, "main")
	if _, err := testsupport.Build("./testdata/fn", fixtureBin, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		_ = os.RemoveAll(dir)
		if code == 0 {
			if kids := childProcesses(); len(kids) > 0 {
				fmt.Fprintf(os.Stderr, "leaked child processes: %v\n", kids)
				code = 1
			}
		}
		os.Exit(code)
	}))
}

// childProcesses lists the live (not yet reaped is fine: zombies count)
// children of the test process, from /proc. Empty outside Linux.
func childProcesses() []int {
	if runtime.GOOS != "linux" {
		return nil
	}
	entries, _ := os.ReadDir("/proc")
	var kids []int
	me := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the parenthesised command: state, ppid, ...
		rest := stat[bytes.LastIndexByte(stat, ')')+1:]
		fields := strings.Fields(string(rest))
		if len(fields) > 1 && fields[1] == strconv.Itoa(me) {
			kids = append(kids, pid)
		}
	}
	return kids
}

// fixtureInfo mirrors what the test function's "info" mode returns.
type fixtureInfo struct {
	Context     *functioncontext.FunctionContext `json:"context"`
	Env         map[string]string                `json:"env"`
	EnvKeys     []string                         `json:"env_keys"`
	HasDeadline bool                             `json:"has_deadline"`
	DeadlineNS  int64                            `json:"deadline_unix_nano"`
	PID         int                              `json:"pid"`
	Cwd         string                           `json:"cwd"`
	TempDir     string                           `json:"temp_dir"`
}

func start(t *testing.T, cfg scflocal.Config) *scflocal.Runtime {
	t.Helper()
	if cfg.Binary == "" {
		cfg.Binary = fixtureBin
	}
	r, err := scflocal.Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

func invoke(t *testing.T, r *scflocal.Runtime, payload string, opts ...scflocal.InvokeOption) *scflocal.Result {
	t.Helper()
	res, err := r.Invoke(t.Context(), []byte(payload), opts...)
	if err != nil {
		t.Fatalf("Invoke(%s): %v", payload, err)
	}
	return res
}

func invokeInfo(t *testing.T, r *scflocal.Runtime, env []string, opts ...scflocal.InvokeOption) (*scflocal.Result, fixtureInfo) {
	t.Helper()
	payload, err := json.Marshal(map[string]any{"mode": "info", "env": env})
	if err != nil {
		t.Fatal(err)
	}
	res := invoke(t, r, string(payload), opts...)
	if res.FunctionError != nil {
		t.Fatalf("info: function error %+v", res.FunctionError)
	}
	var info fixtureInfo
	if err := json.Unmarshal(res.Payload, &info); err != nil {
		t.Fatalf("info payload %q: %v", res.Payload, err)
	}
	return res, info
}

// processGone reports whether pid no longer exists.
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// eventuallyGone reports whether pid, which is not our child, ends (or is a
// zombie waiting for init) within a generous bound: signals are delivered
// asynchronously.
func eventuallyGone(pid int) bool {
	for range 1000 {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.HasPrefix(string(stat[bytes.LastIndexByte(stat, ')')+1:]), " Z") {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// Close sends SIGTERM, then SIGKILL to a function that ignores it.
func TestCloseSendsSIGTERMThenSIGKILL(t *testing.T) {
	var logs bytes.Buffer
	r, err := scflocal.Start(t.Context(), scflocal.Config{Binary: fixtureBin, Stderr: &logs, StopGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	invoke(t, r, `{"mode":"trap-term"}`)
	_, info := invokeInfo(t, r, nil)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if !processGone(info.PID) {
		t.Errorf("process %d ignoring SIGTERM survived Close", info.PID)
	}
	if !strings.Contains(logs.String(), "fixture got SIGTERM") {
		t.Errorf("the function saw no SIGTERM before it was killed; logs:\n%s", logs.String())
	}
}

func TestNoGrandchildOutlivesTheInstance(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("process groups are used on Linux only")
	}
	for _, tc := range []struct{ name, then string }{
		{"close", ""},
		{"timeout", `{"mode":"sleep","sleep_ms":600000}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := scflocal.Start(t.Context(), scflocal.Config{Binary: fixtureBin, Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			pid, err := strconv.Atoi(string(invoke(t, r, `{"mode":"child"}`).Payload))
			if err != nil {
				t.Fatal(err)
			}
			if tc.then != "" {
				invoke(t, r, tc.then)
			} else if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if !eventuallyGone(pid) {
				t.Errorf("the function's child %d outlived its instance", pid)
			}
		})
	}
}

func TestStartPingsAndCloseIsIdempotent(t *testing.T) {
	r, err := scflocal.Start(t.Context(), scflocal.Config{Binary: fixtureBin})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	res, info := invokeInfo(t, r, nil)
	if !res.ColdStart || res.InitDuration <= 0 {
		t.Errorf("first invocation: ColdStart=%v InitDuration=%v, want cold with init time", res.ColdStart, res.InitDuration)
	}
	for range 2 {
		if err := r.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	if !processGone(info.PID) {
		t.Errorf("function process %d still exists after Close", info.PID)
	}
	if _, err := os.Stat(info.TempDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("instance temp dir %s left behind (stat: %v)", info.TempDir, err)
	}
	if _, err := r.Invoke(t.Context(), []byte(`{}`)); !errors.Is(err, scflocal.ErrClosed) {
		t.Errorf("Invoke after Close: err = %v, want ErrClosed", err)
	}
}

func TestInvokeReturnsPayloadByteForByte(t *testing.T) {
	r := start(t, scflocal.Config{})
	for _, payload := range []string{
		`{ "mode" : "echo",  "list": [1, 2 ,3], "s": "\u00e9" }`,
		"not json at all\n\t",
		`"just a string"`,
	} {
		res := invoke(t, r, payload)
		if res.FunctionError != nil {
			t.Fatalf("function error: %+v", res.FunctionError)
		}
		if !bytes.Equal(res.Payload, []byte(payload)) {
			t.Errorf("payload = %q, want %q", res.Payload, payload)
		}
	}
}

func TestColdThenWarm(t *testing.T) {
	r := start(t, scflocal.Config{})
	first, info1 := invokeInfo(t, r, nil)
	second, info2 := invokeInfo(t, r, nil)
	if !first.ColdStart || first.InitDuration <= 0 {
		t.Errorf("first invocation: ColdStart=%v InitDuration=%v, want cold with init time", first.ColdStart, first.InitDuration)
	}
	if second.ColdStart || second.InitDuration != 0 {
		t.Errorf("second invocation: ColdStart=%v InitDuration=%v, want warm", second.ColdStart, second.InitDuration)
	}
	if info1.PID != info2.PID {
		t.Errorf("warm invocation ran in a new process (%d, then %d)", info1.PID, info2.PID)
	}
	if first.RequestID == second.RequestID {
		t.Errorf("request ids repeat: %s", first.RequestID)
	}
}

func TestInvokeRequestReachesFunction(t *testing.T) {
	cfg := scflocal.Config{
		Binary:        fixtureBin,
		FunctionName:  "fn-under-test",
		Namespace:     "ns1",
		Version:       "7",
		MemoryLimitMB: 256,
		Timeout:       5 * time.Second,
		Region:        "ap-shanghai",
		AppID:         "1300000001",
		Uin:           "200000000002",
		Env: map[string]string{
			"TENCENTCLOUD_SECRETID":     "AKIDfake",
			"TENCENTCLOUD_SECRETKEY":    "fake-key",
			"TENCENTCLOUD_SESSIONTOKEN": "fake-token",
			"APP_SETTING":               "on",
		},
	}
	r := start(t, cfg)
	names := []string{
		"TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN", "APP_SETTING",
		"SCF_FUNCTIONNAME", "SCF_FUNCTIONVERSION", "SCF_NAMESPACE", "SCF_RUNTIME",
		"TENCENTCLOUD_RUNENV", "TENCENTCLOUD_REGION", "TENCENTCLOUD_APPID", "TENCENTCLOUD_UIN",
	}
	res, info := invokeInfo(t, r, names, scflocal.WithRequestID("req-fixed-1"))

	if res.RequestID != "req-fixed-1" {
		t.Errorf("Result.RequestID = %q", res.RequestID)
	}
	want := &functioncontext.FunctionContext{
		RequestID:             "req-fixed-1",
		InvokedFunctionUnique: "qcs::scf:ap-shanghai:uin/200000000002:namespace/ns1/function/fn-under-test",
		Namespace:             "ns1",
		FunctionName:          "fn-under-test",
		FunctionVersion:       "7",
		MemoryLimitInMb:       256,
		TimeLimitInMs:         5000,
		Environment:           cfg.Env,
		TencentcloudRegion:    "ap-shanghai",
		TencentcloudAppID:     "1300000001",
		TencentcloudUin:       "200000000002",
	}
	if diff := cmp.Diff(want, info.Context); diff != "" {
		t.Errorf("function context (-want +got):\n%s", diff)
	}
	wantEnv := map[string]string{
		"TENCENTCLOUD_SECRETID":     "AKIDfake",
		"TENCENTCLOUD_SECRETKEY":    "fake-key",
		"TENCENTCLOUD_SESSIONTOKEN": "fake-token",
		"APP_SETTING":               "on",
		"SCF_FUNCTIONNAME":          "fn-under-test",
		"SCF_FUNCTIONVERSION":       "7",
		"SCF_NAMESPACE":             "ns1",
		"SCF_RUNTIME":               "Go1",
		"TENCENTCLOUD_RUNENV":       "SCF",
		"TENCENTCLOUD_REGION":       "ap-shanghai",
		"TENCENTCLOUD_APPID":        "1300000001",
		"TENCENTCLOUD_UIN":          "200000000002",
	}
	if diff := cmp.Diff(wantEnv, info.Env); diff != "" {
		t.Errorf("os environment inside the function (-want +got):\n%s", diff)
	}
	if wantDir := filepath.Dir(fixtureBin); info.Cwd != wantDir {
		t.Errorf("working directory = %q, want the binary's directory %q", info.Cwd, wantDir)
	}
}

func TestShellEnvironmentDoesNotLeak(t *testing.T) {
	t.Setenv("TENCENTCLOUD_SECRETKEY", "from-the-shell")
	t.Setenv("SCFLOCAL_TEST_SHELL_ONLY", "x")
	r := start(t, scflocal.Config{})
	_, info := invokeInfo(t, r, []string{"TENCENTCLOUD_SECRETKEY", "SCFLOCAL_TEST_SHELL_ONLY"})
	if len(info.Env) != 0 {
		t.Errorf("shell variables reached the function: %v", info.Env)
	}
	allowed := []string{
		"PATH", "TZ", "HOME", "TMPDIR", "USER_CODE_ROOT", "_LAMBDA_SERVER_PORT", "SCF_LOCAL_RPC_FD",
		"SCF_RUNTIME", "SCF_FUNCTIONNAME", "SCF_FUNCTIONVERSION", "SCF_NAMESPACE",
		"TENCENTCLOUD_RUNENV", "TENCENTCLOUD_REGION", "TENCENTCLOUD_APPID", "TENCENTCLOUD_UIN",
	}
	for _, k := range info.EnvKeys {
		if !slices.Contains(allowed, k) {
			t.Errorf("unexpected variable %s in the function's environment", k)
		}
	}
}

func TestRotatedCredentialsReachWarmInstance(t *testing.T) {
	r := start(t, scflocal.Config{Env: map[string]string{
		"TENCENTCLOUD_SECRETID":     "id-1",
		"TENCENTCLOUD_SESSIONTOKEN": "token-1",
	}})
	names := []string{"TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SESSIONTOKEN"}
	_, first := invokeInfo(t, r, names)
	_, second := invokeInfo(t, r, names, scflocal.WithEnv(map[string]string{
		"TENCENTCLOUD_SECRETID":     "id-2",
		"TENCENTCLOUD_SESSIONTOKEN": "token-2",
	}))
	_, third := invokeInfo(t, r, names)
	if first.PID != second.PID || second.PID != third.PID {
		t.Fatalf("instance restarted (%d, %d, %d); the test needs one warm process", first.PID, second.PID, third.PID)
	}
	for i, tc := range []struct {
		got  map[string]string
		want string
	}{{first.Env, "1"}, {second.Env, "2"}, {third.Env, "1"}} {
		want := map[string]string{"TENCENTCLOUD_SECRETID": "id-" + tc.want, "TENCENTCLOUD_SESSIONTOKEN": "token-" + tc.want}
		if diff := cmp.Diff(want, tc.got); diff != "" {
			t.Errorf("invocation %d credentials (-want +got):\n%s", i+1, diff)
		}
	}
}

func TestFunctionContextHasDeadline(t *testing.T) {
	const limit = 2 * time.Second
	r := start(t, scflocal.Config{Timeout: limit})
	before := time.Now()
	_, info := invokeInfo(t, r, nil)
	after := time.Now()
	if !info.HasDeadline {
		t.Fatal("the function's context has no deadline")
	}
	got := time.Unix(0, info.DeadlineNS)
	if got.Before(before.Add(limit).Truncate(time.Microsecond)) || got.After(after.Add(limit)) {
		t.Errorf("deadline %v not within [%v, %v] (invocation time + %v)", got, before.Add(limit), after.Add(limit), limit)
	}
}

func TestFunctionErrorKeepsInstance(t *testing.T) {
	r := start(t, scflocal.Config{})
	_, before := invokeInfo(t, r, nil)
	for _, tc := range []struct{ mode, wantType string }{
		{"error", "errorString"},
		{"typed-error", "typedError"},
	} {
		res := invoke(t, r, `{"mode":"`+tc.mode+`","message":"contact rejected"}`)
		fe := res.FunctionError
		if fe == nil {
			t.Fatalf("%s: no function error, payload %q", tc.mode, res.Payload)
		}
		if fe.Type != tc.wantType || fe.Message != "contact rejected" || fe.ShouldExit {
			t.Errorf("%s: function error = %+v", tc.mode, fe)
		}
		if len(res.Payload) != 0 || res.TimedOut {
			t.Errorf("%s: payload %q, timed out %v", tc.mode, res.Payload, res.TimedOut)
		}
		var body map[string]any
		if err := json.Unmarshal(res.ErrorResponse(), &body); err != nil {
			t.Fatalf("ErrorResponse: %v", err)
		}
		if body["statusCode"] != float64(430) || body["errorType"] != tc.wantType || body["requestId"] != res.RequestID {
			t.Errorf("ErrorResponse = %v", body)
		}
	}
	_, after := invokeInfo(t, r, nil)
	if before.PID != after.PID {
		t.Errorf("a returned error restarted the instance (%d -> %d)", before.PID, after.PID)
	}
}

func TestPanicDiscardsInstance(t *testing.T) {
	r := start(t, scflocal.Config{})
	_, before := invokeInfo(t, r, nil)
	res := invoke(t, r, `{"mode":"panic","message":"nil map"}`)
	fe := res.FunctionError
	if fe == nil || !fe.ShouldExit || fe.Message != "nil map" || len(fe.StackTrace) == 0 {
		t.Fatalf("panic: function error = %+v", fe)
	}
	if !processGone(before.PID) {
		t.Errorf("panicked instance %d still running", before.PID)
	}
	next, after := invokeInfo(t, r, nil)
	if !next.ColdStart || after.PID == before.PID {
		t.Errorf("after a panic: ColdStart=%v pid %d -> %d, want a new instance", next.ColdStart, before.PID, after.PID)
	}
}

func TestTimeoutKillsInstance(t *testing.T) {
	const limit = 300 * time.Millisecond
	r := start(t, scflocal.Config{Timeout: limit})
	_, before := invokeInfo(t, r, nil)
	// The function sleeps far past its limit and ignores its context.
	res := invoke(t, r, `{"mode":"sleep","sleep_ms":600000}`)
	if !res.TimedOut {
		t.Fatalf("not timed out: %+v", res)
	}
	if res.FunctionError == nil || res.FunctionError.Message != "Task timed out after 0.30 seconds" {
		t.Errorf("function error = %+v", res.FunctionError)
	}
	if res.BilledDuration != limit {
		t.Errorf("BilledDuration = %v, want the whole limit %v", res.BilledDuration, limit)
	}
	var body map[string]any
	if err := json.Unmarshal(res.ErrorResponse(), &body); err != nil || body["statusCode"] != float64(433) {
		t.Errorf("ErrorResponse = %s (%v), want statusCode 433", res.ErrorResponse(), err)
	}
	if !processGone(before.PID) {
		t.Errorf("timed-out instance %d still running", before.PID)
	}
	next, after := invokeInfo(t, r, nil)
	if !next.ColdStart || after.PID == before.PID {
		t.Errorf("after a timeout: ColdStart=%v pid %d -> %d, want a new instance", next.ColdStart, before.PID, after.PID)
	}
}

func TestPeakMemoryIsMeasured(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("VmHWM is read from /proc")
	}
	r := start(t, scflocal.Config{})
	res := invoke(t, r, `{}`)
	if res.MaxMemoryUsedBytes <= 0 {
		t.Errorf("MaxMemoryUsedBytes = %d, want > 0", res.MaxMemoryUsedBytes)
	}
}

func TestCrashIsAnErrorWithOutput(t *testing.T) {
	r := start(t, scflocal.Config{})
	_, before := invokeInfo(t, r, nil)
	_, err := r.Invoke(t.Context(), []byte(`{"mode":"exit","message":"disk on fire"}`))
	var exitErr *scflocal.ProcessExitError
	if !errors.As(err, &exitErr) {
		t.Fatalf("err = %v, want *ProcessExitError", err)
	}
	if exitErr.During != "invoke" || !strings.Contains(err.Error(), "fixture exiting: disk on fire") || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("error = %v", err)
	}
	next, after := invokeInfo(t, r, nil)
	if !next.ColdStart || after.PID == before.PID {
		t.Errorf("after a crash: ColdStart=%v pid %d -> %d, want a new instance", next.ColdStart, before.PID, after.PID)
	}
}

func TestStartFailures(t *testing.T) {
	t.Run("init exits", func(t *testing.T) {
		cfg := scflocal.Config{Binary: fixtureBin}
		cfg.ProcessEnv = append(scflocal.BaseProcessEnv(cfg), "FIXTURE_INIT_FAIL=1")
		_, err := scflocal.Start(t.Context(), cfg)
		var exitErr *scflocal.ProcessExitError
		if !errors.As(err, &exitErr) || exitErr.During != "init" {
			t.Fatalf("err = %v, want *ProcessExitError during init", err)
		}
		if !strings.Contains(exitErr.Output, "fixture init failed on purpose") {
			t.Errorf("output tail = %q", exitErr.Output)
		}
	})
	t.Run("missing binary", func(t *testing.T) {
		_, err := scflocal.Start(t.Context(), scflocal.Config{Binary: filepath.Join(t.TempDir(), "nope")})
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("err = %v, want a not-exist error", err)
		}
	})
	t.Run("no binary", func(t *testing.T) {
		if _, err := scflocal.Start(t.Context(), scflocal.Config{}); err == nil {
			t.Error("Start without Binary succeeded")
		}
	})
	t.Run("not a function", func(t *testing.T) {
		// A program that runs but never serves Function.Ping.
		script := filepath.Join(t.TempDir(), "sleeper")
		if err := os.WriteFile(script, []byte("#!/bin/sh\nexec sleep 600\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := scflocal.Start(t.Context(), scflocal.Config{Binary: script, InitTimeout: 300 * time.Millisecond})
		if err == nil || !strings.Contains(err.Error(), "Function.Ping") {
			t.Errorf("err = %v, want a Ping timeout", err)
		}
	})
}

func TestLogsAndPlatformLines(t *testing.T) {
	var logs bytes.Buffer
	r, err := scflocal.Start(t.Context(), scflocal.Config{Binary: fixtureBin, Stderr: &logs})
	if err != nil {
		t.Fatal(err)
	}
	res := invoke(t, r, `{"mode":"log","message":"hello"}`)
	fail := invoke(t, r, `{"mode":"error","message":"bad"}`)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// Close has waited for the output copier, so the buffer is complete.
	got := logs.String()
	for _, want := range []string{
		"fixture init\n",
		"stdout: hello\n",
		"stderr: hello\n",
		"START RequestId:" + res.RequestID + "\n",
		"END RequestId:" + res.RequestID + "\n",
		res.ReportLine() + "\n",
		"ERROR RequestId:" + fail.RequestID + " Result:errorString: bad\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("logs lack %q; logs:\n%s", want, got)
		}
	}
}

func TestContextCancelAbandonsInvocation(t *testing.T) {
	r := start(t, scflocal.Config{Timeout: time.Minute})
	_, before := invokeInfo(t, r, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := r.Invoke(ctx, []byte(`{"mode":"sleep","sleep_ms":600000}`))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	next, after := invokeInfo(t, r, nil)
	if !next.ColdStart || after.PID == before.PID {
		t.Errorf("after an abandoned invocation: ColdStart=%v pid %d -> %d", next.ColdStart, before.PID, after.PID)
	}
}

func TestCloseDuringInvoke(t *testing.T) {
	r, err := scflocal.Start(t.Context(), scflocal.Config{Binary: fixtureBin, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.Invoke(context.Background(), []byte(`{"mode":"sleep","sleep_ms":600000}`))
		done <- err
	}()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, scflocal.ErrClosed) {
		t.Errorf("Invoke racing Close: err = %v, want ErrClosed", err)
	}
}

func TestConcurrentInvokesAreSerialised(t *testing.T) {
	r := start(t, scflocal.Config{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			payload := fmt.Sprintf(`{"n":%d}`, i)
			res, err := r.Invoke(t.Context(), []byte(payload))
			if err == nil && string(res.Payload) != payload {
				err = fmt.Errorf("payload %q, want %q", res.Payload, payload)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// A binary that ignores the inherited connection and calls scf-go-lib's
// StartHandler would listen on every interface: it cannot, and Start says why.
func TestStockStartHandlerCannotListen(t *testing.T) {
	cfg := scflocal.Config{Binary: fixtureBin}
	cfg.ProcessEnv = append(scflocal.BaseProcessEnv(cfg), "FIXTURE_STOCK=1")
	_, err := scflocal.Start(t.Context(), cfg)
	var exitErr *scflocal.ProcessExitError
	if !errors.As(err, &exitErr) || exitErr.During != "init" {
		t.Fatalf("err = %v, want *ProcessExitError during init", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "every interface") || !strings.Contains(msg, "SCF_LOCAL_RPC_FD") {
		t.Errorf("the error does not say why:\n%s", msg)
	}
}

// The runtime's end closing (scf-local killed, on a Mac too, which has no
// parent-death signal) ends the instance: none outlives its runtime.
func TestInstanceEndsWhenTheRuntimeHangsUp(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	r := start(t, scflocal.Config{})
	_, info := invokeInfo(t, r, nil)
	scflocal.HangUp(r)
	if !eventuallyGone(info.PID) {
		t.Errorf("instance %d lives on after its runtime hung up", info.PID)
	}
}
