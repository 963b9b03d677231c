package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/emulator"
	"github.com/scf-dbbrain/addusercontact/internal/redact"
	"github.com/scf-dbbrain/addusercontact/internal/scflocal"
	"github.com/scf-dbbrain/addusercontact/internal/testsupport"
)

// Secrets made to be recognised: none of them, nor a recognisable piece of
// one, may appear in a log line or an answer.
const (
	leakID     = "AKIDleakTESTexample000000000000000"
	leakKey    = "LEAKsecretKEYmustNEVERappearQzX7kPa"
	leakToken  = "LEAKsessionTOKENmustNEVERappearJt5wRmV8bN2cYh4L"
	wrongKey   = "LEAKwrongKEYmustNEVERappearWv3hTs9"
	wrongToken = "LEAKwrongTOKENmustNEVERappearGf6dKp1zXq8mRs2N"
)

var leakSecrets = []string{leakKey, leakToken, wrongKey, wrongToken}

// assertNoSecrets fails when text holds a secret, its first or last 12
// characters, or the marker every test secret carries.
func assertNoSecrets(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range leakSecrets {
		for _, piece := range []string{s, s[:12], s[len(s)-12:]} {
			if strings.Contains(text, piece) {
				t.Errorf("%s holds the secret piece %q:\n%s", what, piece, clip([]byte(text)))
			}
		}
	}
	if strings.Contains(text, "NEVERappear") {
		t.Errorf("%s holds part of a secret:\n%s", what, clip([]byte(text)))
	}
}

// assertMasked fails when text holds an address in full, and, when the
// masked form is expected, when it lacks it (so the check is not vacuous).
func assertMasked(t *testing.T, what, text string, emails []string, wantMasked bool) {
	t.Helper()
	for _, e := range emails {
		if strings.Contains(text, e) {
			t.Errorf("%s holds the address %q in full:\n%s", what, e, clip([]byte(text)))
		}
		if wantMasked && !strings.Contains(text, redact.Email(e)) {
			t.Errorf("%s lacks the masked address %q:\n%s", what, redact.Email(e), clip([]byte(text)))
		}
	}
}

func contactJSON(name, email string) string {
	b, _ := json.Marshal(map[string]string{"Name": name, "ContactInfo": email})
	return string(b)
}

func batchJSON(contacts ...[2]string) string {
	items := make([]map[string]string, len(contacts))
	for i, c := range contacts {
		items[i] = map[string]string{"Name": c[0], "ContactInfo": c[1]}
	}
	b, _ := json.Marshal(map[string]any{"Contacts": items})
	return string(b)
}

func functionURLEvent(body string) string {
	b, _ := json.Marshal(map[string]any{"body": body, "headers": map[string]string{"content-type": "application/json"}, "httpMethod": "POST", "path": "/", "queryString": map[string]string{}})
	return string(b)
}

func timerEvent(message string) string {
	b, _ := json.Marshal(map[string]string{"Type": "Timer", "TriggerName": "onboard", "Time": "2026-11-26T01:00:00Z", "Message": message})
	return string(b)
}

// closedEndpoint returns a loopback URL where nothing listens.
func closedEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

// leakEnv is the execution role's environment with the test secrets, at
// debug level, where the most is logged.
func leakEnv(endpoint string) map[string]string {
	return map[string]string{
		"TENCENTCLOUD_SECRETID":     leakID,
		"TENCENTCLOUD_SECRETKEY":    leakKey,
		"TENCENTCLOUD_SESSIONTOKEN": leakToken,
		"DBBRAIN_ENDPOINT":          endpoint,
		"LOG_LEVEL":                 "debug",
		"DBBRAIN_RPS":               "1000",
		"DBBRAIN_CONCURRENCY":       "2",
	}
}

var leakKeys = []emulator.Key{{SecretID: leakID, SecretKey: leakKey, Token: leakToken}}

// TestSecretsAndEmailsStayOutOfLogs runs the paths that log the most (debug
// level, failures, retries, batches, refused records) with known secrets and
// addresses, and searches every log line and answer for them.
func TestSecretsAndEmailsStayOutOfLogs(t *testing.T) {
	t.Parallel()
	for _, sc := range []struct {
		name   string
		emu    emulator.Config
		env    map[string]string // over leakEnv
		closed bool              // the handler starts with DBBRAIN_ENDPOINT at a closed port
		// timeout bounds each invocation (on the fake clock); 0 means 10 s.
		timeout time.Duration
		events  []string
		emails  []string // every address the events carry
		// logged proves the path ran: each must appear in the logs.
		logged []string
	}{{
		name: "success on every trigger",
		events: []string{
			contactJSON("Leak Direct", "leak.direct@example.com"),
			functionURLEvent(contactJSON("Leak URL", "leak.url@example.org")),
			timerEvent(contactJSON("Leak Timer", "leak.timer@example.net")),
			string(ckafkaEvent(contactJSON("Leak Kafka", "leak.kafka@example.com"))),
		},
		emails: []string{"leak.direct@example.com", "leak.url@example.org", "leak.timer@example.net", "leak.kafka@example.com"},
		logged: []string{`"msg":"credential"`, `"temporary":true`, `"outcome":"Success"`},
	}, {
		name:   "wrong secret key",
		env:    map[string]string{"TENCENTCLOUD_SECRETKEY": wrongKey},
		events: []string{contactJSON("Leak Auth", "leak.auth@example.com"), batchJSON([2]string{"Leak Auth2", "leak.auth2@example.com"})},
		emails: []string{"leak.auth@example.com", "leak.auth2@example.com"},
		logged: []string{"AuthFailure.SignatureFailure"},
	}, {
		name:   "wrong session token",
		env:    map[string]string{"TENCENTCLOUD_SESSIONTOKEN": wrongToken},
		events: []string{contactJSON("Leak Token", "leak.token@example.com")},
		emails: []string{"leak.token@example.com"},
		logged: []string{"AuthFailure.TokenFailure"},
	}, {
		name:   "network failure with retries",
		env:    map[string]string{"DBBRAIN_DEADLINE_MARGIN": "50ms"},
		closed: true,
		// Time for the first call and a few retries.
		timeout: 1500 * time.Millisecond,
		events:  []string{contactJSON("Leak Net", "leak.net@example.com"), batchJSON([2]string{"Leak Net2", "leak.net2@example.com"})},
		emails:  []string{"leak.net@example.com", "leak.net2@example.com"},
		logged:  []string{"ClientError.NetworkError", "attempt failed, retrying"},
	}, {
		name:   "faults and retries in a batch",
		emu:    emulator.Config{Seed: 11, Faults: emulator.Faults{InternalError: 0.3, Unavailable: 0.2, Drop: 0.2}},
		events: []string{batchJSON([2]string{"Leak R1", "leak.r1@example.com"}, [2]string{"Leak R2", "leak.r2@example.com"}, [2]string{"Leak R3", "leak.r3@example.com"}, [2]string{"Leak R4", "leak.r4@example.com"}, [2]string{"Leak R5", "leak.r5@example.com"}, [2]string{"Leak R6", "leak.r6@example.com"})},
		emails: []string{"leak.r1@example.com", "leak.r2@example.com", "leak.r3@example.com", "leak.r4@example.com", "leak.r5@example.com", "leak.r6@example.com"},
		logged: []string{"attempt failed, retrying", `"msg":"invocation"`},
	}, {
		name:   "throttled",
		emu:    emulator.Config{RPS: 2},
		events: []string{batchJSON([2]string{"Leak T1", "leak.t1@example.com"}, [2]string{"Leak T2", "leak.t2@example.com"}, [2]string{"Leak T3", "leak.t3@example.com"})},
		emails: []string{"leak.t1@example.com", "leak.t2@example.com", "leak.t3@example.com"},
		logged: []string{"RequestLimitExceeded"},
	}, {
		name: "name taken by another address",
		events: []string{
			contactJSON("Leak Taken", "leak.first@example.com"),
			batchJSON([2]string{"Leak Taken", "leak.second@example.com"}, [2]string{"Leak Other", "leak.other@example.com"}),
			contactJSON("Leak Taken", "leak.third@example.com"),
			string(ckafkaEvent(contactJSON("Leak Taken", "leak.fourth@example.com"))),
		},
		emails: []string{"leak.first@example.com", "leak.second@example.com", "leak.other@example.com", "leak.third@example.com", "leak.fourth@example.com"},
		logged: []string{`"outcome":"PartialSuccess"`, `"outcome":"FailedOperation"`, `"msg":"record not registered`},
	}, {
		name: "invalid input",
		events: []string{contactJSON("Leak Bad", "leak.bad@@example.com"), `{"Name":"Leak Bad2","ContactInfo":"leak.bad2@example.com","Phone":"x"}`,
			string(ckafkaEvent(`{"Name":"Leak Bad3","ContactInfo":"leak.bad3@example.com","Phone":"x"}`))},
		emails: []string{"leak.bad2@example.com", "leak.bad3@example.com"},
		logged: []string{"InvalidParameterValue", "UnknownParameter", `"msg":"record not registered`},
	}} {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				cfg := sc.emu
				cfg.Keys = leakKeys
				if cfg.RPS == 0 {
					cfg.RPS = -1
				}
				f := newFixture(t, cfg, nil)
				endpoint := f.url
				if sc.closed {
					endpoint = closedEndpoint(t)
					f.transport = dbbrain.NewTransport(4)
				}
				for k, v := range leakEnv(endpoint) {
					f.env.set(k, v)
				}
				for k, v := range sc.env {
					f.env.set(k, v)
				}
				f.restart()
				timeout := sc.timeout
				if timeout == 0 {
					timeout = 10 * time.Second
				}
				var answers strings.Builder
				for _, ev := range sc.events {
					out, err := f.invoke([]byte(ev), timeout)
					answers.Write(out)
					if err != nil {
						answers.WriteString(err.Error())
					}
					answers.WriteByte('\n')
				}
				logs := f.logs.String()
				assertNoSecrets(t, "the log", logs)
				assertNoSecrets(t, "the answers", answers.String())
				assertMasked(t, "the log", logs, sc.emails, false)
				assertMasked(t, "the answers", answers.String(), sc.emails, false)
				logged := sc.logged
				if sc.closed {
					// Only the closed port names itself, and it never reaches the emulator.
					logged = append(logged, "at "+endpoint+" failed")
					if n := f.emu.Stats().Requests; n != 0 {
						t.Errorf("the emulator got %d calls, so the path under test did not run", n)
					}
				}
				for _, want := range logged {
					if !strings.Contains(logs, want) {
						t.Errorf("the log lacks %s, so the path under test did not run:\n%s", want, clip([]byte(logs)))
					}
				}
				if !strings.Contains(logs, "***@example.") {
					t.Errorf("no masked address logged at all:\n%s", clip([]byte(logs)))
				}
			})
		})
	}
}

// TestEmailShapedName: a name may hold "@" and "." (the API's own
// punctuation set), so people name contacts by their address. The lines
// that name a contact (a refused record, a retried attempt) must mask such a
// name like an address.
func TestEmailShapedName(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, emulator.Config{Keys: leakKeys, RPS: -1}, nil)
		for k, v := range leakEnv(f.url) {
			f.env.set(k, v)
		}
		f.restart()
		const email, other = "leak.named@example.com", "leak.other@example.com"
		if _, err := f.invoke([]byte(contactJSON(email, email)), 5*time.Second); err != nil {
			t.Fatal(err)
		}
		// The same name with another address: refused for good, logged by name.
		if d := takeDeliveryOf(t, f, ckafkaEvent(contactJSON(email, other))); d.redelivered() || d.FailedCount != 1 {
			t.Fatalf("the conflicting record: %+v", d)
		}
		// A fault: each attempt is logged by name.
		if err := f.emu.SetFaults(emulator.Faults{InternalError: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.invoke([]byte(contactJSON(other, other)), time.Second); err == nil {
			t.Fatal("registered through an InternalError fault")
		}
		logs := f.logs.String()
		for _, want := range []string{`"msg":"record not registered`, `"msg":"attempt failed, retrying"`} {
			if !strings.Contains(logs, want) {
				t.Errorf("the log lacks %s:\n%s", want, clip([]byte(logs)))
			}
		}
		assertMasked(t, "the log", logs, []string{email, other}, true)
	})
}

func takeDeliveryOf(t testing.TB, f *fixture, event []byte) delivered {
	t.Helper()
	out, err := f.invoke(event, 5*time.Second)
	return takeDelivery(t, out, err)
}

// TestBuiltBinaryKeepsSecretsOutOfItsOutput runs the real function binary
// the way SCF does (internal/scflocal) at debug level, with the test
// secrets in both the process environment and every invocation's, and
// searches everything the processes write. The network failure is a second
// instance started with DBBRAIN_ENDPOINT at a closed port: the configuration
// is read once per process, so setting it for one invocation would change
// nothing.
func TestBuiltBinaryKeepsSecretsOutOfItsOutput(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the function binary")
	}
	bin, err := testsupport.Build("github.com/scf-dbbrain/addusercontact/function", filepath.Join(t.TempDir(), "main"), nil)
	if err != nil {
		t.Fatal(err)
	}

	emu, err := emulator.New(emulator.Config{Keys: leakKeys, RPS: -1, NewRequestID: counter("emu")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	defer func() {
		srv.Close()
		_ = emu.Close()
	}()

	output := &testsupport.Buffer{}
	start := func(env map[string]string, timeout time.Duration) (*scflocal.Runtime, func()) {
		t.Helper()
		cfg := scflocal.Config{Binary: bin, Timeout: timeout, Env: env, Stderr: output}
		cfg.ProcessEnv = scflocal.BaseProcessEnv(cfg)
		for k, v := range env {
			cfg.ProcessEnv = append(cfg.ProcessEnv, k+"="+v)
		}
		r, err := scflocal.Start(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return r, func() {
			if err := r.Close(); err != nil {
				t.Errorf("closing the function: %v", err)
			}
		}
	}
	r, closeRuntime := start(leakEnv(srv.URL), 3*time.Second)
	defer closeRuntime()
	closed := closedEndpoint(t)
	closedEnv := leakEnv(closed)
	closedEnv["DBBRAIN_DEADLINE_MARGIN"] = "700ms"
	rClosed, closeClosed := start(closedEnv, time.Second)
	defer closeClosed()

	var answers strings.Builder
	invoke := func(r *scflocal.Runtime, payload string, opts ...scflocal.InvokeOption) *scflocal.Result {
		t.Helper()
		res, err := r.Invoke(context.Background(), []byte(payload), opts...)
		if err != nil {
			t.Fatalf("invoke: %v", err)
		}
		answers.Write(res.Payload)
		answers.Write(res.ErrorResponse())
		answers.WriteByte('\n')
		return res
	}
	emails := []string{"bin.direct@example.com", "bin.url@example.org", "bin.t1@example.net", "bin.t2@example.net", "bin.auth@example.com", "bin.net@example.com", "bin.f1@example.com", "bin.f2@example.com", "bin.f3@example.com"}
	invoke(r, contactJSON("Bin Direct", emails[0]))
	invoke(r, functionURLEvent(contactJSON("Bin URL", emails[1])))
	invoke(r, timerEvent(batchJSON([2]string{"Bin T1", emails[2]}, [2]string{"Bin T2", emails[3]}, [2]string{"Bin Direct", emails[0]})))
	invoke(r, `{"Name":`)
	if res := invoke(r, contactJSON("Bin Auth", emails[4]), scflocal.WithEnv(map[string]string{"TENCENTCLOUD_SECRETKEY": wrongKey, "TENCENTCLOUD_SESSIONTOKEN": wrongToken})); res.FunctionError == nil || res.FunctionError.Type != "SetupError" {
		t.Errorf("a wrong key: %s %s", res.Payload, res.ErrorResponse())
	}
	before := emu.Stats().Requests
	res := invoke(rClosed, contactJSON("Bin Net", emails[5]))
	if res.FunctionError == nil || res.FunctionError.Type != "RetryableError" || !strings.Contains(res.FunctionError.Message, apierror.NetworkError) ||
		!strings.Contains(res.FunctionError.Message, "at "+closed+" failed") || res.TimedOut {
		t.Errorf("the closed endpoint: %s %s", res.Payload, res.ErrorResponse())
	}
	if n := emu.Stats().Requests - before; n != 0 {
		t.Errorf("the instance configured with a closed endpoint reached the emulator %d times", n)
	}
	if err := emu.SetFaults(emulator.Faults{InternalError: 0.4, Drop: 0.2}); err != nil {
		t.Fatal(err)
	}
	invoke(r, batchJSON([2]string{"Bin F1", emails[6]}, [2]string{"Bin F2", emails[7]}, [2]string{"Bin F3", emails[8]}))
	// Everything the processes wrote has arrived once they have exited.
	closeRuntime()
	closeClosed()

	logs := output.String()
	assertNoSecrets(t, "the function's output", logs)
	assertNoSecrets(t, "the answers", answers.String())
	assertMasked(t, "the function's output", logs, emails, false)
	assertMasked(t, "the answers", answers.String(), emails, false)
	for _, want := range []string{`"msg":"starting"`, `"msg":"credential"`, `"temporary":true`, "AuthFailure", "ClientError.NetworkError", "at " + closed + " failed", "attempt failed, retrying", "b***@example.com", "END RequestId:"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the output lacks %s, so the path under test did not run:\n%s", want, clip([]byte(logs)))
		}
	}
}

// TestWarmInstanceLeavesNoGoroutines drives one Handler, as a warm instance
// lives, through 200 invocations of every kind (successes, repeats,
// batches, records, bad input, auth failures, injected faults), and a second
// one started with an unreachable endpoint, and checks that once their idle
// connections are closed no goroutine is left, and that the count after 200
// is no higher than after 20. It runs alone (not in parallel), so that
// other tests' goroutines cannot hide or fake a leak.
func TestWarmInstanceLeavesNoGoroutines(t *testing.T) {
	f := newLoopbackFixture(t, emulator.Config{RPS: -1, Seed: 5}, map[string]string{"DBBRAIN_RPS": "1000", "DBBRAIN_CONCURRENCY": "4", "DBBRAIN_DEADLINE_MARGIN": "50ms"})
	closed := closedEndpoint(t)
	closedLogs := &testsupport.Buffer{}
	closedEnv := &envMap{m: map[string]string{}}
	for k, v := range f.env.m {
		closedEnv.m[k] = v
	}
	closedEnv.m["DBBRAIN_ENDPOINT"] = closed
	unreachable := f.newHandler(closedEnv.get, closedLogs)
	defer unreachable.Close()
	before := goleak.IgnoreCurrent()
	var closedCalls int64
	var closedText strings.Builder
	run := func(from, to int) {
		for i := from; i < to; i++ {
			c := func(j int) [2]string {
				return [2]string{fmt.Sprintf("warm %d", j), fmt.Sprintf("warm%d@example.com", j)}
			}
			h, payload, timeout := f.h, contactJSON(c(i)[0], c(i)[1]), 5*time.Second
			switch i % 10 {
			case 1:
				payload = contactJSON(c(i - 1)[0], c(i - 1)[1]) // a repeat: found, not created again
			case 2:
				payload = batchJSON(c(i), c(i+1000), [2]string{"_bad", "bad@example.com"})
			case 3:
				payload = `{"Name":"x",`
			case 4:
				payload = functionURLEvent(contactJSON(c(i)[0], c(i)[1]))
			case 5:
				payload = timerEvent(contactJSON(c(i)[0], c(i)[1]))
			case 6:
				f.env.set("TENCENTCLOUD_SECRETKEY", otherKey) // restored below
			case 7:
				if err := f.emu.SetFaults(emulator.Faults{InternalError: 0.3, Drop: 0.2}); err != nil {
					t.Fatal(err)
				}
				payload = batchJSON(c(i), c(i+1000))
			case 8:
				payload = `{"httpMethod":"POST","headers":{},"requestContext":{},"isBase64Encoded":true,"body":"!!!"}`
			case 9:
				payload = string(ckafkaEvent(contactJSON(c(i)[0], c(i)[1]), contactJSON(c(i + 1000)[0], c(i + 1000)[1])))
				if i%50 == 9 {
					h, payload, timeout = unreachable, contactJSON(c(i)[0], c(i)[1]), 150*time.Millisecond
				}
			}
			calls := f.emu.Stats().Requests
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			_, err := h.Invoke(ctx, []byte(payload))
			cancel()
			if _, _, _, ok := asFunctionError(err); err != nil && !ok {
				t.Fatalf("invocation %d: %v", i, err)
			}
			if h == unreachable {
				closedCalls += f.emu.Stats().Requests - calls
				if err != nil {
					closedText.WriteString(err.Error())
				}
			}
			f.env.set("TENCENTCLOUD_SECRETKEY", roleKey)
			if err := f.emu.SetFaults(emulator.Faults{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	settle := func(n int) int {
		t.Helper()
		f.h.Close()
		unreachable.Close()
		if err := goleak.Find(before); err != nil {
			t.Fatalf("after %d invocations and Close: %v", n, err)
		}
		return runtime.NumGoroutine()
	}
	run(0, 20)
	after20 := settle(20)
	run(20, 200)
	after200 := settle(200)
	if after200 > after20 {
		t.Errorf("%d goroutines after 200 invocations, %d after 20", after200, after20)
	}
	if !strings.Contains(f.logs.String(), "AuthFailure") || !strings.Contains(f.logs.String(), `"trigger":"ckafka"`) {
		t.Errorf("the failure paths did not run:\n%s", clip([]byte(f.logs.String())))
	}
	// Only the instance started with the closed endpoint names it, and it
	// never reaches the emulator.
	if text := closedText.String(); !strings.Contains(closedLogs.String(), "ClientError.NetworkError") || !strings.Contains(text, "at "+closed+" failed") || closedCalls != 0 {
		t.Errorf("the unreachable endpoint's path did not run (%d calls reached the emulator):\n%s\n%s", closedCalls, clip([]byte(text)), clip([]byte(closedLogs.String())))
	}
}
