package handler

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"
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

// fixture is an emulator and a handler wired to it, as in production but on
// loopback.
type fixture struct {
	t    *testing.T
	emu  *emulator.Server
	srv  *httptest.Server
	h    *Handler
	env  *envMap
	logs *testsupport.Buffer
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

func newFixture(t *testing.T, cfg emulator.Config, env map[string]string) *fixture {
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
	srv := httptest.NewServer(emu)
	f := &fixture{t: t, emu: emu, srv: srv, logs: &testsupport.Buffer{}}
	f.env = &envMap{m: map[string]string{
		"TENCENTCLOUD_SECRETID":     roleID,
		"TENCENTCLOUD_SECRETKEY":    roleKey,
		"TENCENTCLOUD_SESSIONTOKEN": roleToken,
		"DBBRAIN_ENDPOINT":          srv.URL,
	}}
	for k, v := range env {
		f.env.m[k] = v
	}
	f.restart()
	t.Cleanup(func() {
		f.h.Close()
		srv.Close()
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
	h, err := New(Deps{
		Getenv:       f.env.get,
		Log:          f.logs,
		Transport:    dbbrain.NewTransport(16),
		NewRequestID: counter("inv"),
		Backoff:      fastBackoff,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	f.h = h
	f.logs.Reset()
}

func (f *fixture) invoke(payload []byte, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return f.h.Invoke(ctx, payload)
}

// render is what the runtime would report: the payload, or the function
// error's type and text.
func renderOutcome(out []byte, err error) string {
	if err != nil {
		var re *RetryableError
		if errors.As(err, &re) {
			return "function error (RetryableError): " + err.Error() + "\n"
		}
		return "function error: " + err.Error() + "\n"
	}
	return string(out) + "\n"
}

// TestGolden runs every sample event (events/) and every extra case
// (testdata/events/) through the handler against a fresh emulator and
// compares the answer with its .golden file. Run with -update to rewrite.
func TestGolden(t *testing.T) {
	files := testsupport.SampleEvents(t, "../..")
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
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
// the second.
func TestCredentialsReadPerInvocation(t *testing.T) {
	f := newFixture(t, emulator.Config{Keys: []emulator.Key{{SecretID: otherID, SecretKey: otherKey, Token: otherToken}}}, nil)
	out, err := f.invoke([]byte(`{"Name":"John Smith","ContactInfo":"test@qq.com"}`), 3*time.Second)
	if err != nil || !strings.Contains(string(out), `"Code":"AuthFailure.SecretIdNotFound"`) {
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
	out, _ = f.invoke([]byte(`{"Name":"Li Lei","ContactInfo":"lilei@qq.com"}`), 3*time.Second)
	if !strings.Contains(string(out), `"Code":"AuthFailure.TokenFailure"`) {
		t.Fatalf("temporary key without its token: %s", out)
	}
}

func TestNoCredentials(t *testing.T) {
	f := newFixture(t, emulator.Config{}, map[string]string{
		"TENCENTCLOUD_SECRETID": "", "TENCENTCLOUD_SECRETKEY": "", "TENCENTCLOUD_SESSIONTOKEN": "",
	})
	out, err := f.invoke([]byte(`{"Name":"John Smith","ContactInfo":"test@qq.com"}`), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Response struct {
			Error struct{ Code, Message string }
		}
	}
	_ = json.Unmarshal(out, &env)
	if env.Response.Error.Code != "AuthFailure" || !strings.Contains(env.Response.Error.Message, "execution role") {
		t.Errorf("got %s", out)
	}
	if n := len(f.emu.Contacts()); n != 0 {
		t.Errorf("%d contacts created", n)
	}
}

// One JSON line per invocation with the documented fields; no secret, and
// the email masked.
func TestLogLine(t *testing.T) {
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
	for k, want := range map[string]any{"msg": "invocation", "request_id": "inv-0001", "trigger": "direct", "outcome": "Success", "upstream_request_id": "emu-0001", "email": "t***@qq.com"} {
		if rec[k] != want {
			t.Errorf("%s = %v, want %v", k, rec[k], want)
		}
	}
	if _, ok := rec["duration_ms"].(float64); !ok {
		t.Errorf("duration_ms missing: %v", rec)
	}
	for _, secret := range []string{roleKey, roleToken, "test@qq.com"} {
		if strings.Contains(f.logs.String(), secret) {
			t.Errorf("log holds %q", secret)
		}
	}
}

func TestLogLevel(t *testing.T) {
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

func TestInvalidConfigurationAnswersEveryInvocation(t *testing.T) {
	f := newFixture(t, emulator.Config{}, map[string]string{"DBBRAIN_RPS": "lots"})
	out, err := f.invoke([]byte(`{"Name":"John Smith","ContactInfo":"test@qq.com"}`), 3*time.Second)
	if err != nil || !strings.Contains(string(out), `"Code":"InternalError.InvalidConfiguration"`) || !strings.Contains(string(out), "DBBRAIN_RPS") {
		t.Fatalf("got %s %v", out, err)
	}
}

// A margin as long as the function's timeout would leave every invocation
// "not attempted" and retried for ever: it is a configuration error.
func TestMarginLongerThanTimeout(t *testing.T) {
	f := newFixture(t, emulator.Config{}, map[string]string{"DBBRAIN_DEADLINE_MARGIN": "3s"})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	ctx = functioncontext.NewContext(ctx, &functioncontext.FunctionContext{RequestID: "r-1", TimeLimitInMs: 3000})
	out, err := f.h.Invoke(ctx, []byte(`{"Name":"John Smith","ContactInfo":"test@qq.com"}`))
	if err != nil || !strings.Contains(string(out), `"Code":"InternalError.InvalidConfiguration"`) || !strings.Contains(string(out), "DBBRAIN_DEADLINE_MARGIN") {
		t.Fatalf("got %s %v", out, err)
	}
	if f.emu.Stats().Requests != 0 {
		t.Error("called DBbrain")
	}
}

// statusOf is the HTTP status of a code, as the handler's table says.
func statusOf(code string) int { return httpStatus(apierror.New(code, "")) }
