package handler

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentyun/scf-go-lib/functioncontext"
	"go.uber.org/goleak"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/emulator"
	"github.com/scf-dbbrain/addusercontact/internal/testsupport"
)

var update = flag.Bool("update", false, "rewrite the .golden files from the current output")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Test credentials: an execution role's temporary key and token.
const (
	roleID     = "AKIDroleTESTexample0000000000000000"
	roleKey    = "roleSECRETkeyTESTexample000000000"
	roleToken  = "roleSESSIONtokenTESTexample0000000000000000000000"
	otherID    = "AKIDotherTESTexample000000000000000"
	otherKey   = "otherSECRETkeyTESTexample00000000"
	otherToken = "otherSESSIONtokenTESTexample000000000000000000000"
)

// memoryEndpoint is where a fixture's handler sends its calls when they are
// carried in memory: the name is never resolved.
const memoryEndpoint = "http://dbbrain.localhost"

// fixture is an emulator and a handler wired to it, as in production: over
// loopback HTTP, or in memory, so that it also runs inside a synctest
// bubble on the fake clock.
type fixture struct {
	t         testing.TB
	emu       *emulator.Server
	url       string           // the endpoint the handler is configured with
	srv       *httptest.Server // nil in memory
	transport http.RoundTripper
	h         *Handler
	env       *envMap
	logs      *testsupport.Buffer
}

type envMap struct {
	mu sync.Mutex
	m  map[string]string
}

func (e *envMap) get(k string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.m[k]
}

func (e *envMap) set(k, v string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[k] = v
}

func counter(prefix string) func() string {
	var n atomic.Int64
	return func() string { return fmt.Sprintf("%s-%04d", prefix, n.Add(1)) }
}

// fastBackoff keeps retry tests quick while still exercising the schedule.
func fastBackoff() backoff.BackOff {
	return &backoff.ExponentialBackOff{InitialInterval: 5 * time.Millisecond, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: 40 * time.Millisecond}
}

// noFallback stands in for the SDK's provider chain, so that no test reads
// the machine's environment, profile file or metadata service.
type noFallback struct{}

func (noFallback) GetCredential() (common.CredentialIface, error) {
	return nil, errors.New("no fallback credentials in tests")
}

// newFixture is an emulator and a handler that reach it in memory.
func newFixture(t testing.TB, cfg emulator.Config, env map[string]string) *fixture {
	t.Helper()
	return buildFixture(t, cfg, env, false)
}

// newLoopbackFixture is an emulator on 127.0.0.1 and a handler that reaches
// it through the production transport.
func newLoopbackFixture(t testing.TB, cfg emulator.Config, env map[string]string) *fixture {
	t.Helper()
	return buildFixture(t, cfg, env, true)
}

func buildFixture(t testing.TB, cfg emulator.Config, env map[string]string, loopback bool) *fixture {
	t.Helper()
	if cfg.Keys == nil {
		cfg.Keys = []emulator.Key{{SecretID: roleID, SecretKey: roleKey, Token: roleToken}}
	}
	if cfg.NewRequestID == nil {
		cfg.NewRequestID = counter("emu")
	}
	emu, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, emu: emu, logs: &testsupport.Buffer{}, url: memoryEndpoint, transport: testsupport.InMemory{Handler: emu}}
	if loopback {
		f.srv = httptest.NewServer(emu)
		f.url, f.transport = f.srv.URL, dbbrain.NewTransport(16)
	}
	f.env = &envMap{m: map[string]string{
		"TENCENTCLOUD_SECRETID":     roleID,
		"TENCENTCLOUD_SECRETKEY":    roleKey,
		"TENCENTCLOUD_SESSIONTOKEN": roleToken,
		"DBBRAIN_ENDPOINT":          f.url,
	}}
	for k, v := range env {
		f.env.m[k] = v
	}
	f.restart()
	t.Cleanup(func() {
		f.h.Close()
		if f.srv != nil {
			f.srv.Close()
		}
		_ = emu.Close()
	})
	return f
}

// restart builds the handler anew, as a new process would, so that it reads
// the configuration in f.env; its start-up line is not kept.
func (f *fixture) restart() {
	f.t.Helper()
	if f.h != nil {
		f.h.Close()
	}
	f.h = f.newHandler(f.env.get, f.logs)
	f.logs.Reset()
}

// newHandler is another process on the fixture's transport: its own
// configuration, pacers and log.
func (f *fixture) newHandler(getenv func(string) string, logs *testsupport.Buffer) *Handler {
	f.t.Helper()
	h, err := New(Deps{
		Getenv:       getenv,
		Log:          logs,
		Transport:    f.transport,
		Fallback:     noFallback{},
		NewRequestID: counter("inv"),
		Backoff:      fastBackoff,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

func (f *fixture) invoke(payload []byte, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return f.h.Invoke(ctx, payload)
}

// errorType is the name SCF gives a function error, as scf-go-lib
// computes it: the Go type's name without the pointer. It is what SCF's
// logs, a workflow's Retry and Catch and a dead-letter message see.
func errorType(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// asFunctionError returns the code and text of the handler's function error,
// and its type's name; ok is false for any other error.
func asFunctionError(err error) (typ, code, text string, ok bool) {
	var re *RetryableError
	var se *SetupError
	switch {
	case errors.As(err, &re):
		return errorType(err), re.Code, re.Error(), true
	case errors.As(err, &se):
		return errorType(err), se.Code, se.Error(), true
	}
	return "", "", "", false
}

// renderOutcome is what the runtime would report: the payload, or the
// function error's type and text.
func renderOutcome(out []byte, err error) string {
	if err != nil {
		return "function error (" + errorType(err) + "): " + err.Error() + "\n"
	}
	return string(out) + "\n"
}

// errorEnvelope is the single error envelope.
type errorEnvelope struct {
	Response struct {
		Error *struct{ Code, Message string }
		ID    int64 `json:"Id"`
	}
}

func parseError(t testing.TB, body []byte) (code, message string) {
	t.Helper()
	var env errorEnvelope
	if err := json.Unmarshal(body, &env); err != nil || env.Response.Error == nil {
		t.Fatalf("not an error envelope (%v): %s", err, clip(body))
	}
	return env.Response.Error.Code, env.Response.Error.Message
}

// TestGolden runs every sample event (events/) and every extra case
// (testdata/events/) through the handler against a fresh emulator and
// compares the answer with its .golden file. Run with -update to rewrite.
// function/main_test.go expects the same answers from the built binary.
func TestGolden(t *testing.T) {
	t.Parallel()
	files := testsupport.SampleEvents(t, "../..")
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			payload, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			// One call at a time, so that a batch's ids are deterministic.
			f := newFixture(t, emulator.Config{}, map[string]string{"DBBRAIN_CONCURRENCY": "1"})
			got := renderOutcome(f.invoke(payload, 5*time.Second))
			golden := filepath.Join("testdata", "golden", name+".golden")
			testsupport.Golden(t, golden, got, *update)
		})
	}
}

func TestSuccessEnvelopeIsExactlyDocumented(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{}, nil)
	out, err := f.invoke([]byte(`{"Name":"John Smith","ContactInfo":"test@qq.com","Product":"mysql"}`), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), `{"Response":{"Id":1,"RequestId":"emu-0001"}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := f.emu.Contacts(); len(got) != 1 || got[0].Name != "John Smith" || got[0].Mail != "test@qq.com" {
		t.Errorf("emulator holds %+v", got)
	}
}

// The runtime passes fresh role credentials with every invocation: a value
// that changes between two invocations of one warm process must be used by
// the second. A key DBbrain does not know is the function's own setup: a
// direct invocation gets a SetupError, never a payload that a workflow
// would take for an answer.
func TestCredentialsReadPerInvocation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{Keys: []emulator.Key{{SecretID: otherID, SecretKey: otherKey, Token: otherToken}}}, nil)
	out, err := f.invoke([]byte(`{"Name":"John Smith","ContactInfo":"test@qq.com"}`), 3*time.Second)
	if typ, code, _, _ := asFunctionError(err); typ != "SetupError" || code != "AuthFailure.SecretIdNotFound" || out != nil {
		t.Fatalf("first invocation, unknown key: %s %v", out, err)
	}
	f.env.set("TENCENTCLOUD_SECRETID", otherID)
	f.env.set("TENCENTCLOUD_SECRETKEY", otherKey)
	f.env.set("TENCENTCLOUD_SESSIONTOKEN", otherToken)
	out, err = f.invoke([]byte(`{"Name":"John Smith","ContactInfo":"test@qq.com"}`), 3*time.Second)
	if err != nil || !strings.Contains(string(out), `"Id":1`) {
		t.Fatalf("second invocation, rotated key: %s %v", out, err)
	}
	f.env.set("TENCENTCLOUD_SESSIONTOKEN", "")
	_, err = f.invoke([]byte(`{"Name":"Li Lei","ContactInfo":"lilei@qq.com"}`), 3*time.Second)
	if typ, code, text, _ := asFunctionError(err); typ != "SetupError" || code != "AuthFailure.TokenFailure" || !strings.Contains(text, `"Code":"AuthFailure.TokenFailure"`) {
		t.Fatalf("temporary key without its token: %v", err)
	}
}

// No credentials at all: a SetupError saying how to attach a role, before
// any call.
func TestNoCredentials(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{}, map[string]string{
		"TENCENTCLOUD_SECRETID": "", "TENCENTCLOUD_SECRETKEY": "", "TENCENTCLOUD_SESSIONTOKEN": "",
	})
	out, err := f.invoke([]byte(`{"Name":"John Smith","ContactInfo":"test@qq.com"}`), 3*time.Second)
	typ, code, text, _ := asFunctionError(err)
	if typ != "SetupError" || code != "AuthFailure" || out != nil {
		t.Fatalf("got %s %v", out, err)
	}
	if c, msg := parseError(t, []byte(text)); c != "AuthFailure" || !strings.Contains(msg, "execution role") {
		t.Errorf("got %s", text)
	}
	if n := f.emu.Stats().Requests; n != 0 {
		t.Errorf("%d calls made without credentials", n)
	}
}

// A batch looks its names up first, even when it holds one contact: its
// redelivery finds the contact rather than relying on DBbrain refusing the
// repeated name.
func TestBatchOfOneLooksUpFirst(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{}, nil)
	batch := []byte(`{"Contacts":[{"Name":"John Smith","ContactInfo":"test@qq.com"},{"Name":"x"}]}`)
	for range 2 {
		if _, err := f.invoke(batch, 3*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	st := f.emu.Stats().Actions
	if adds, lookups := st[dbbrain.ActionAddUserContact].Requests, st[dbbrain.ActionDescribeAllUserContact].Requests; adds != 1 || lookups != 2 {
		t.Errorf("%d adds and %d lookups for a batch of one valid contact sent twice; want 1 and 2", adds, lookups)
	}
}

// A panic on the invocation's path is answered, not a crash: a retryable
// InternalError under the invocation's RequestId, and the panic logged with
// its stack; the process serves the next invocation.
func TestPanicIsAnswered(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{}, nil)
	var panicking atomic.Bool
	logs := &testsupport.Buffer{}
	h := f.newHandler(func(k string) string {
		if k == "TENCENTCLOUD_SECRETID" && panicking.Load() {
			panic("a provider broke")
		}
		return f.env.get(k)
	}, logs)
	defer h.Close()
	panicking.Store(true)
	out, err := h.Invoke(context.Background(), []byte(`{"Name":"John Smith","ContactInfo":"test@qq.com"}`))
	typ, code, text, _ := asFunctionError(err)
	if typ != "RetryableError" || code != apierror.InternalError || out != nil || !strings.Contains(text, "inv-0001") {
		t.Fatalf("got %s %v", out, err)
	}
	if l := logs.String(); !strings.Contains(l, `"msg":"panic"`) || !strings.Contains(l, "a provider broke") || !strings.Contains(l, "goroutine") {
		t.Errorf("panic not logged with its stack:\n%s", l)
	}
	panicking.Store(false)
	if out, err := h.Invoke(context.Background(), []byte(`{"Name":"John Smith","ContactInfo":"test@qq.com"}`)); err != nil || !strings.Contains(string(out), `"Id"`) {
		t.Errorf("the next invocation: %s %v", out, err)
	}
}

// One JSON line per invocation with the documented fields; no secret, and
// the email masked.
func TestLogLine(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{}, nil)
	if _, err := f.invoke([]byte(`{"Name":"John Smith","ContactInfo":"test@qq.com"}`), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(f.logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one log line, got %d:\n%s", len(lines), f.logs.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"msg": "invocation", "request_id": "inv-0001", "trigger": "direct", "outcome": "Success", "upstream_request_id": "emu-0001", "email": "t***@qq.com", "attempts": 1.0} {
		if rec[k] != want {
			t.Errorf("%s = %v, want %v", k, rec[k], want)
		}
	}
	for _, k := range []string{"duration_ms", "pace_rps"} {
		if _, ok := rec[k].(float64); !ok {
			t.Errorf("%s missing: %v", k, rec)
		}
	}
	for _, secret := range []string{roleKey, roleToken, "test@qq.com"} {
		if strings.Contains(f.logs.String(), secret) {
			t.Errorf("log holds %q", secret)
		}
	}
}

func TestLogLevel(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{}, map[string]string{"LOG_LEVEL": "error"})
	if _, err := f.invoke([]byte(`{"Name":"John Smith","ContactInfo":"test@qq.com"}`), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if s := f.logs.String(); s != "" {
		t.Errorf("LOG_LEVEL=error still logged a success: %s", s)
	}
	f.env.set("LOG_LEVEL", "debug")
	f.restart()
	if _, err := f.invoke([]byte(`{"Name":"Li Lei","ContactInfo":"lilei@qq.com"}`), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if s := f.logs.String(); !strings.Contains(s, `"msg":"credential"`) || strings.Contains(s, roleKey) || strings.Contains(s, roleToken) {
		t.Errorf("debug log wrong or leaking: %s", s)
	}
}

// A bad configuration answers every invocation, in each trigger's form: a
// SetupError where the platform reads function errors, a 500 over HTTP.
func TestInvalidConfigurationAnswersEveryInvocation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{}, map[string]string{"DBBRAIN_RPS": "lots"})
	for _, ev := range []string{contactJSON("John Smith", "test@qq.com"), timerEvent(contactJSON("John Smith", "test@qq.com")), string(ckafkaEvent(contactJSON("John Smith", "test@qq.com")))} {
		out, err := f.invoke([]byte(ev), 3*time.Second)
		typ, code, text, _ := asFunctionError(err)
		if typ != "SetupError" || code != apierror.InvalidConfiguration || !strings.Contains(text, "DBBRAIN_RPS") || out != nil {
			t.Errorf("%.40s…: got %s %v", ev, out, err)
		}
	}
	out, err := f.invoke([]byte(functionURLEvent(contactJSON("John Smith", "test@qq.com"))), 3*time.Second)
	if err != nil || !strings.Contains(string(out), `"statusCode":500`) || !strings.Contains(string(out), `InternalError.InvalidConfiguration`) {
		t.Errorf("HTTP: got %s %v", out, err)
	}
	if f.emu.Stats().Requests != 0 {
		t.Error("called DBbrain")
	}
}

// A margin as long as the function's timeout would leave every invocation
// "not attempted" and retried for ever: it is a configuration error.
func TestMarginLongerThanTimeout(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{}, map[string]string{"DBBRAIN_DEADLINE_MARGIN": "3s"})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	ctx = functioncontext.NewContext(ctx, &functioncontext.FunctionContext{RequestID: "r-1", TimeLimitInMs: 3000})
	out, err := f.h.Invoke(ctx, []byte(`{"Name":"John Smith","ContactInfo":"test@qq.com"}`))
	typ, code, text, _ := asFunctionError(err)
	if typ != "SetupError" || code != apierror.InvalidConfiguration || !strings.Contains(text, "DBBRAIN_DEADLINE_MARGIN") || !strings.Contains(text, `"RequestId":"r-1"`) {
		t.Fatalf("got %s %v", out, err)
	}
	if f.emu.Stats().Requests != 0 {
		t.Error("called DBbrain")
	}
}

// The instance's memory sets the Go runtime's soft limit once, at the first
// invocation that reports it, unless GOMEMLIMIT is set: a heap that doubles
// between collections took a 6 MB delivery past half of a 128 MB instance.
func TestMemoryLimitFollowsTheInstance(t *testing.T) {
	t.Parallel()
	for _, goMemLimit := range []string{"", "100MiB"} {
		var set []int64
		h, err := New(Deps{
			Getenv:         fakeEnv(map[string]string{"GOMEMLIMIT": goMemLimit}),
			Transport:      http.DefaultTransport,
			SetMemoryLimit: func(n int64) int64 { set = append(set, n); return n },
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, mb := range []int32{0, 128, 256} {
			ctx := functioncontext.NewContext(context.Background(), &functioncontext.FunctionContext{MemoryLimitInMb: mb})
			_, _ = h.Invoke(ctx, []byte(`{}`))
		}
		want := []int64{128 << 20 * MemoryShare / 100}
		if goMemLimit != "" {
			want = nil
		}
		if !slices.Equal(set, want) {
			t.Errorf("GOMEMLIMIT=%q: limits set %v, want %v", goMemLimit, set, want)
		}
	}
}

// statusOf is the HTTP status of a code the function raises itself about
// its input, as the handler's table says.
func statusOf(code string) int { return httpStatus(apierror.E(apierror.Invalid, code, "")) }

// statusesOf lists the HTTP statuses a code can be answered with, whatever
// the kind of the error that carries it.
func statusesOf(code string) []int {
	var out []int
	for k := apierror.Invalid; k <= apierror.Setup; k++ {
		if s := httpStatus(apierror.E(k, code, "")); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// retryableCode says which codes the function answers only for failures a
// later try can fix (throttling, DBbrain's faults, the network, time): an
// envelope that holds one would end a delivery SCF should have retried.
func retryableCode(code string) bool {
	switch code {
	case apierror.NetworkError, apierror.DeadlineExceeded:
		return true
	}
	switch apierror.Family(code) {
	case apierror.RequestLimitExceeded, apierror.InternalError, apierror.ServiceUnavailable,
		"ResourceUnavailable", "ResourceInsufficient", "ResourceInUse":
		return code != apierror.InvalidConfiguration
	}
	return false
}
