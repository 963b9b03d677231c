package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/goleak"

	"github.com/scf-dbbrain/addusercontact/internal/emulator"
	"github.com/scf-dbbrain/addusercontact/internal/handler"
	"github.com/scf-dbbrain/addusercontact/internal/testsupport"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixtureBin is scflocal's test function, built once by TestMain.
var fixtureBin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "scf-local-fixture-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtureBin = filepath.Join(dir, "main")
	if _, err := testsupport.Build("../../internal/scflocal/testdata/fn", fixtureBin, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		_ = os.RemoveAll(dir)
		if functionDir != "" {
			_ = os.RemoveAll(functionDir)
		}
		os.Exit(code)
	}))
}

type outcome struct {
	err            error
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, env map[string]string, stdin string, args ...string) outcome {
	t.Helper()
	var stdout bytes.Buffer
	var stderr testsupport.Buffer // written from several goroutines
	getenv := func(k string) string { return env[k] }
	err := run(t.Context(), append([]string{"scf-local"}, args...), getenv, strings.NewReader(stdin), &stdout, &stderr)
	var reported bytes.Buffer
	code := exitCode(err, &reported)
	return outcome{err: err, code: code, stdout: stdout.String(), stderr: stderr.String() + reported.String()}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var reportLine = regexp.MustCompile(`(?m)^Report RequestId:[0-9a-f-]{36} Duration:[0-9.]+ms BilledDuration:[0-9]+ms Memory:256MB MemUsage:[0-9.]+MB InitDuration:[0-9.]+ms$`)

func TestInvokePrintsPayloadExactlyAndReport(t *testing.T) {
	const event = `{ "mode": "echo",   "Name": "John Smith" }`
	o := runCLI(t, nil, "", "invoke", "--bin", fixtureBin, "--event", writeFile(t, "event.json", event), "--memory", "256")
	if o.code != 0 {
		t.Fatalf("exit %d: %v\nstderr:\n%s", o.code, o.err, o.stderr)
	}
	if o.stdout != event+"\n" {
		t.Errorf("stdout = %q, want the payload and a newline", o.stdout)
	}
	if !reportLine.MatchString(o.stderr) {
		t.Errorf("no report line in stderr:\n%s", o.stderr)
	}
	for _, want := range []string{"fixture init\n", "START RequestId:", "END RequestId:"} {
		if !strings.Contains(o.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, o.stderr)
		}
	}
}

func TestInvokeEnvironment(t *testing.T) {
	shell := map[string]string{
		"TENCENTCLOUD_SECRETID":     "AKIDshell",
		"TENCENTCLOUD_SECRETKEY":    "shell-key",
		"TENCENTCLOUD_SESSIONTOKEN": "shell-token",
		"PASSED_THROUGH":            "from-shell",
		"NOT_PASSED":                "private",
	}
	envFile := writeFile(t, "fn.env", "# settings\nFROM_FILE=file\nexport QUOTED=\"a b\"\nOVERRIDDEN=file\n\n")
	names := []string{
		"TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN",
		"PASSED_THROUGH", "NOT_PASSED", "FROM_FILE", "QUOTED", "OVERRIDDEN", "EQUALS",
	}
	event, err := json.Marshal(map[string]any{"mode": "info", "env": names})
	if err != nil {
		t.Fatal(err)
	}
	o := runCLI(t, shell, string(event), "invoke", "--bin", fixtureBin, "--event", "-",
		"--env-file", envFile, "--env", "OVERRIDDEN=flag", "--env", "EQUALS=a=b", "--env", "PASSED_THROUGH",
		"--env", "TENCENTCLOUD_SESSIONTOKEN=flag-token", "--function-name", "fn2", "--region", "ap-beijing", "--timeout", "7")
	if o.code != 0 {
		t.Fatalf("exit %d: %v\nstderr:\n%s", o.code, o.err, o.stderr)
	}
	var info struct {
		Context struct {
			FunctionName       string
			TencentcloudRegion string
			TimeLimitInMs      int32
		} `json:"context"`
		Env map[string]string `json:"env"`
	}
	if err := json.Unmarshal([]byte(o.stdout), &info); err != nil {
		t.Fatalf("stdout %q: %v", o.stdout, err)
	}
	want := map[string]string{
		"TENCENTCLOUD_SECRETID":     "AKIDshell",
		"TENCENTCLOUD_SECRETKEY":    "shell-key",
		"TENCENTCLOUD_SESSIONTOKEN": "flag-token",
		"PASSED_THROUGH":            "from-shell",
		"FROM_FILE":                 "file",
		"QUOTED":                    "a b",
		"OVERRIDDEN":                "flag",
		"EQUALS":                    "a=b",
	}
	if diff := cmp.Diff(want, info.Env); diff != "" {
		t.Errorf("function environment (-want +got):\n%s", diff)
	}
	if info.Context.FunctionName != "fn2" || info.Context.TencentcloudRegion != "ap-beijing" || info.Context.TimeLimitInMs != 7000 {
		t.Errorf("function context = %+v", info.Context)
	}
	for _, secret := range []string{"shell-key", "shell-token", "flag-token", "private"} {
		if strings.Contains(o.stderr, secret) {
			t.Errorf("stderr shows the secret %q:\n%s", secret, o.stderr)
		}
	}
	if strings.Contains(o.stderr, "no role credentials") {
		t.Errorf("credential note printed although credentials were set:\n%s", o.stderr)
	}
}

func TestInvokeFailures(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		want     []string
	}{
		{
			name:     "function error",
			args:     []string{"--event", "-"},
			stdin:    `{"mode":"error","message":"contact rejected"}`,
			wantCode: exitFunctionError,
			want:     []string{"scf-local: function error (SCF answers statusCode 430): errorString: contact rejected\n", "Report RequestId:"},
		},
		{
			name:     "panic",
			args:     []string{"--event", "-"},
			stdin:    `{"mode":"panic","message":"boom"}`,
			wantCode: exitFunctionError,
			want:     []string{"scf-local: the function panicked (SCF answers statusCode 430): string: boom\n", "\t(*handler).do (fn/main.go:"},
		},
		{
			name:     "timeout",
			args:     []string{"--event", "-", "--timeout", "300ms"},
			stdin:    `{"mode":"sleep","sleep_ms":600000}`,
			wantCode: exitTimeout,
			want:     []string{"scf-local: timed out (SCF answers statusCode 433): Task timed out after 0.30 seconds\n", "BilledDuration:300ms"},
		},
		{
			name:     "process dies",
			args:     []string{"--event", "-"},
			stdin:    `{"mode":"exit","message":"gone"}`,
			wantCode: exitFunctionError,
			want:     []string{"exited during invoke", "fixture exiting: gone"},
		},
		{
			name:     "event file missing",
			args:     []string{"--event", filepath.Join(t.TempDir(), "absent.json")},
			wantCode: exitUsage,
			want:     []string{"--event: open", "no such file"},
		},
		{
			name:     "event not JSON",
			args:     []string{"--event", "-"},
			stdin:    `Name=John`,
			wantCode: exitUsage,
			want:     []string{"not valid JSON"},
		},
		{
			name:     "unknown flag",
			args:     []string{"--nope"},
			wantCode: exitUsage,
			want:     []string{"flag provided but not defined"},
		},
		{
			name:     "bad env",
			args:     []string{"--env", "=x"},
			wantCode: exitUsage,
			want:     []string{"invalid variable name"},
		},
		{
			name:     "missing binary",
			args:     []string{"--bin", filepath.Join(t.TempDir(), "absent")},
			wantCode: exitFailure,
			want:     []string{"no such file", "make build-local"},
		},
		{
			name:     "emulator state without emulator",
			args:     []string{"--emulator-state", "x.json"},
			wantCode: exitUsage,
			want:     []string{"--emulator-state needs --emulator"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"invoke", "--bin", fixtureBin}, tc.args...)
			o := runCLI(t, nil, tc.stdin, args...)
			if o.code != tc.wantCode {
				t.Errorf("exit %d, want %d (err %v)\nstderr:\n%s", o.code, tc.wantCode, o.err, o.stderr)
			}
			if o.stdout != "" {
				t.Errorf("stdout = %q, want nothing", o.stdout)
			}
			for _, w := range tc.want {
				if !strings.Contains(o.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, o.stderr)
				}
			}
		})
	}
}

func TestUsage(t *testing.T) {
	if o := runCLI(t, nil, ""); o.code != exitUsage || !strings.Contains(o.stderr, "Usage:") {
		t.Errorf("no command: exit %d, stderr %q", o.code, o.stderr)
	}
	if o := runCLI(t, nil, "", "frobnicate"); o.code != exitUsage {
		t.Errorf("unknown command: exit %d", o.code)
	}
	if o := runCLI(t, nil, "", "invoke", "-h"); o.code != 0 || !strings.Contains(o.stderr, "--event") && !strings.Contains(o.stderr, "-event") {
		t.Errorf("invoke -h: exit %d, stderr %q", o.code, o.stderr)
	}
	if o := runCLI(t, nil, "", "generate-event", "nope"); o.code != exitUsage {
		t.Errorf("generate-event nope: exit %d", o.code)
	}
	if o := runCLI(t, nil, "", "generate-event", "function-url", "--base64"); o.code != exitUsage {
		t.Errorf("function-url --base64: exit %d", o.code)
	}
}

func TestGenerateEventGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"apigw", []string{"apigw"}},
		{"apigw-custom", []string{"apigw", "--method", "PUT", "--path", "/v1/contacts", "--name", "Li Lei", "--email", "li@example.com",
			"--product", "redis", "--query", "a=1", "--query", "b=x", "--query", "b=y", "--query", "flag", "--base64"}},
		{"function-url", []string{"function-url"}},
		{"function-url-get", []string{"function-url", "--method", "GET", "--query", "Action=AddUserContact"}},
		{"function-url-form", []string{"function-url", "--content-type", "application/x-www-form-urlencoded"}},
		{"function-url-body", []string{"function-url", "--body", "Name=John+Smith&ContactInfo=test%40qq.com&Product=mysql",
			"--content-type", "application/x-www-form-urlencoded"}},
		{"timer", []string{"timer", "--time", "2019-02-21T11:49:00Z"}},
		{"timer-message", []string{"timer", "--time", "2019-02-21T11:49:00Z", "--trigger-name", "Hourly", "--message", "free text"}},
		{"direct", []string{"direct"}},
		{"direct-count", []string{"direct", "--count", "2"}},
		{"direct-body", []string{"direct", "--body", `{"Name":"A","ContactInfo":"a@qq.com","Product":"mysql","Extra":[1,2]}`}},
		{"ckafka", []string{"ckafka", "--count", "2", "--topic", "hr-events"}},
		{"cmq", []string{"cmq", "--time", "2019-02-21T11:49:00Z"}},
		{"eventbridge", []string{"eventbridge", "--time", "2021-03-11T02:42:39Z"}},
		{"eventbridge-batch", []string{"eventbridge", "--batch", "--time", "2021-03-11T02:42:39Z", "--name", "张三", "--email", "zhangsan@qq.com"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			o := runCLI(t, nil, "", append([]string{"generate-event"}, tc.args...)...)
			if o.code != 0 {
				t.Fatalf("exit %d: %v\n%s", o.code, o.err, o.stderr)
			}
			path := filepath.Join("testdata", "events", tc.golden+".golden")
			testsupport.Golden(t, path, o.stdout, *update)
		})
	}
}

// TestGenerateEventShapes checks the documented keys of each event type,
// independently of the golden files.
func TestGenerateEventShapes(t *testing.T) {
	contactJSON := `{"Name":"John Smith","ContactInfo":"test@qq.com","Product":"mysql"}`
	for _, tc := range []struct {
		kind string
		keys []string
	}{
		{"apigw", []string{"requestContext", "headers", "body", "isBase64Encoded", "path", "httpMethod"}},
		{"function-url", []string{"body", "headers", "httpMethod", "path"}},
		{"timer", []string{"Type", "TriggerName", "Time", "Message"}},
		{"direct", []string{"Name", "ContactInfo", "Product"}},
		{"ckafka", []string{"Records"}},
		{"cmq", []string{"Records"}},
		{"eventbridge", []string{"specversion", "id", "type", "source", "subject", "time", "region", "datacontenttype", "data"}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			o := runCLI(t, nil, "", "generate-event", tc.kind)
			var ev map[string]any
			if err := json.Unmarshal([]byte(o.stdout), &ev); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, o.stdout)
			}
			if diff := cmp.Diff(tc.keys, slices.Collect(maps.Keys(ev)), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			switch tc.kind {
			case "apigw", "function-url":
				if ev["body"] != contactJSON || ev["httpMethod"] != "POST" {
					t.Errorf("body %v, method %v", ev["body"], ev["httpMethod"])
				}
				for k := range ev["headers"].(map[string]any) {
					if k != strings.ToLower(k) {
						t.Errorf("header %q is not lower case", k)
					}
				}
			case "timer":
				if ev["Type"] != "Timer" || ev["Message"] != contactJSON {
					t.Errorf("timer event %v", ev)
				}
			}
		})
	}
}

// Every generated event is read by the function's own handler as the
// trigger it names, and registers the contacts asked for.
func TestGeneratedEventsDecode(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		source handler.Source
		names  []string
	}{
		{[]string{"apigw"}, handler.APIGateway, []string{"John Smith"}},
		{[]string{"apigw", "--base64", "--method", "GET"}, handler.APIGateway, []string{"John Smith"}},
		{[]string{"apigw", "--count", "2"}, handler.APIGateway, []string{"John Smith 1", "John Smith 2"}},
		{[]string{"function-url"}, handler.FunctionURL, []string{"John Smith"}},
		{[]string{"function-url", "--method", "GET", "--name", "张三"}, handler.FunctionURL, []string{"张三"}},
		{[]string{"function-url", "--content-type", "application/x-www-form-urlencoded"}, handler.FunctionURL, []string{"John Smith"}},
		{[]string{"timer"}, handler.Timer, []string{"John Smith"}},
		{[]string{"timer", "--count", "3"}, handler.Timer, []string{"John Smith 1", "John Smith 2", "John Smith 3"}},
		{[]string{"direct"}, handler.Direct, []string{"John Smith"}},
		{[]string{"ckafka", "--count", "3"}, handler.CKafka, []string{"John Smith 1", "John Smith 2", "John Smith 3"}},
		{[]string{"cmq", "--name", "Li Lei"}, handler.CMQ, []string{"Li Lei"}},
		{[]string{"eventbridge"}, handler.EventBridge, []string{"John Smith"}},
		{[]string{"eventbridge", "--batch"}, handler.EventBridge, []string{"John Smith"}},
		{[]string{"eventbridge", "--count", "2"}, handler.EventBridge, []string{"John Smith 1", "John Smith 2"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			o := runCLI(t, nil, "", append([]string{"generate-event"}, tc.args...)...)
			if o.code != 0 {
				t.Fatalf("exit %d: %v\n%s", o.code, o.err, o.stderr)
			}
			source, stored := invokeHandler(t, []byte(o.stdout))
			if source != tc.source {
				t.Errorf("read as %s, want %s\n%s", source, tc.source, o.stdout)
			}
			var names, emails []string
			for _, c := range stored {
				names, emails = append(names, c.Name), append(emails, c.Mail)
			}
			if diff := cmp.Diff(tc.names, names); diff != "" {
				t.Errorf("registered names (-want +got):\n%s", diff)
			}
			if len(tc.names) > 1 && emails[1] != "test2@qq.com" {
				t.Errorf("emails %v are not numbered", emails)
			}
		})
	}
}

// invokeHandler runs payload through the function's handler against an
// emulator of its own, and returns the trigger the handler logged and the
// contacts the emulator then holds, in order.
func invokeHandler(t *testing.T, payload []byte) (handler.Source, []emulator.Contact) {
	t.Helper()
	key := emulator.NewTemporaryKey("100000000001")
	emu, err := emulator.Start(t.Context(), "127.0.0.1:0", emulator.Config{Keys: []emulator.Key{key}})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Stop()
	env := map[string]string{"DBBRAIN_ENDPOINT": emu.URL, "TENCENTCLOUD_SECRETID": key.SecretID,
		"TENCENTCLOUD_SECRETKEY": key.SecretKey, "TENCENTCLOUD_SESSIONTOKEN": key.Token}
	var logs bytes.Buffer
	h, err := handler.New(handler.Deps{Getenv: func(k string) string { return env[k] }, Log: &logs})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := h.Invoke(t.Context(), payload); err != nil {
		t.Fatalf("function error: %v", err)
	}
	var line struct{ Msg, Trigger string }
	for l := range strings.Lines(logs.String()) {
		if json.Unmarshal([]byte(l), &line) == nil && line.Msg == "invocation" {
			break
		}
	}
	stored := emu.Server.Contacts() // registered concurrently: in name order
	slices.SortFunc(stored, func(a, b emulator.Contact) int { return strings.Compare(a.Name, b.Name) })
	return handler.Source(line.Trigger), stored
}

func TestGenerateEventRefuses(t *testing.T) {
	for _, args := range [][]string{
		{"nope"},
		{"function-url", "--base64"},
		{"function-url", "--method", "GET", "--count", "2"},
		{"apigw", "--content-type", "application/x-www-form-urlencoded", "--count", "2"},
		{"direct", "--body", "not json"},
		{"direct", "--count", "0"},
		{"timer", "--time", "yesterday"},
		{"--name", "x"},
	} {
		if o := runCLI(t, nil, "", append([]string{"generate-event"}, args...)...); o.code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, o.code, exitUsage)
		}
	}
}

// After a function error the event is delivered again, up to --redeliver
// times, on one warm instance; the last attempt decides the outcome.
func TestInvokeRedeliver(t *testing.T) {
	for _, tc := range []struct {
		name      string
		event     string
		redeliver int
		code      int
		attempts  int
	}{
		{"recovers", `{"mode":"flaky","fails":2}`, 3, exitOK, 3},
		{"gives up", `{"mode":"flaky","fails":5}`, 1, exitFunctionError, 2},
		{"timeouts", `{"mode":"sleep","sleep_ms":600000}`, 1, exitTimeout, 2},
		{"success first", `{"mode":"flaky"}`, 2, exitOK, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := runCLI(t, nil, tc.event, "invoke", "--bin", fixtureBin, "--event", "-", "--timeout", "300ms", "--redeliver", strconv.Itoa(tc.redeliver))
			if o.code != tc.code {
				t.Fatalf("exit %d, want %d (err %v)\nstderr:\n%s", o.code, tc.code, o.err, o.stderr)
			}
			if got := strings.Count(o.stderr, "START RequestId:"); got != tc.attempts {
				t.Errorf("%d invocations, want %d:\n%s", got, tc.attempts, o.stderr)
			}
			if got := strings.Count(o.stderr, "scf-local: redelivering the event"); got != tc.attempts-1 {
				t.Errorf("%d redeliveries reported, want %d", got, tc.attempts-1)
			}
			final := map[int]string{exitOK: "success\n", exitFunctionError: "function error (errorString: flaky failure 2)\n", exitTimeout: "timed out\n"}[tc.code]
			if want := fmt.Sprintf("attempt %d of at most %d: %s", tc.attempts, tc.redeliver+1, final); !strings.Contains(o.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, o.stderr)
			}
			if wantOut := map[bool]string{true: tc.event + "\n", false: ""}[tc.code == exitOK]; o.stdout != wantOut {
				t.Errorf("stdout %q, want %q", o.stdout, wantOut)
			}
		})
	}
}

func TestReadEnvFile(t *testing.T) {
	got, err := readEnvFile(writeFile(t, "a.env", "\uFEFFA=1\n  # c\nexport B='x y'\nC=\"q\"\nD=\nE==\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "1", "B": "x y", "C": "q", "D": "", "E": "="}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	_, err = readEnvFile(writeFile(t, "b.env", "OK=1\nSECRETVALUE\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") || strings.Contains(err.Error(), "SECRETVALUE") {
		t.Errorf("bad line: err = %v, want the line number and not its content", err)
	}
}

func TestExitCode(t *testing.T) {
	var buf bytes.Buffer
	if code := exitCode(nil, &buf); code != 0 || buf.Len() != 0 {
		t.Errorf("nil: %d %q", code, buf.String())
	}
	if code := exitCode(&exitError{code: exitTimeout}, &buf); code != exitTimeout || buf.Len() != 0 {
		t.Errorf("reported timeout: %d %q", code, buf.String())
	}
	if code := exitCode(errors.New("x"), &buf); code != exitFailure || buf.String() != "scf-local: x\n" {
		t.Errorf("plain error: %d %q", code, buf.String())
	}
}

// The documented exit statuses reach the caller of the built binary, as
// make's tools target builds it (go run would turn them all into 1).
func TestBinaryExitStatuses(t *testing.T) {
	bin, err := testsupport.Build(".", filepath.Join(t.TempDir(), "scf-local"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args  []string
		stdin string
		want  int
	}{
		{[]string{"generate-event", "timer"}, "", exitOK},
		{[]string{"invoke", "--bin", filepath.Join(t.TempDir(), "absent")}, "", exitFailure},
		{[]string{"generate-event", "nope"}, "", exitUsage},
		{[]string{"invoke", "--bin", fixtureBin, "--event", "-"}, `{"mode":"error","message":"x"}`, exitFunctionError},
		{[]string{"invoke", "--bin", fixtureBin, "--event", "-", "--timeout", "300ms"}, `{"mode":"sleep","sleep_ms":600000}`, exitTimeout},
		{[]string{"consume", "--embedded-kafka", "--bin", fixtureBin, "--produce", filepath.Join(t.TempDir(), "absent.txt")}, "", exitUsage},
	} {
		cmd := exec.CommandContext(t.Context(), bin, tc.args...)
		cmd.Stdin = strings.NewReader(tc.stdin)
		err := cmd.Run()
		code := 0
		if exitErr := (*exec.ExitError)(nil); errors.As(err, &exitErr) {
			code = exitErr.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.want {
			t.Errorf("%v: exit status %d, want %d", tc.args, code, tc.want)
		}
	}
}
