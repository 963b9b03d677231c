package handler

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/emulator"
)

// answerCode returns the code of an answer (the function error's text, the
// integration response's body, or the bare envelope; "" on success), the
// function error's type ("" for none) and the HTTP status (0 for none).
func answerCode(t *testing.T, out []byte, err error) (code, fnErr string, status int) {
	t.Helper()
	body := out
	if err != nil {
		var fnCode, text string
		var ok bool
		if fnErr, fnCode, text, ok = asFunctionError(err); !ok {
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
		body = []byte(text)
		defer func() {
			if code != fnCode {
				t.Errorf("%s.Code is %s, its text says %s", fnErr, fnCode, code)
			}
		}()
	}
	var ir struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if json.Unmarshal(body, &ir) == nil && ir.StatusCode != 0 {
		status, body = ir.StatusCode, []byte(ir.Body)
	}
	var env struct {
		Response struct {
			Error *struct{ Code string }
		}
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("answer is not an envelope: %s", body)
	}
	if env.Response.Error != nil {
		code = env.Response.Error.Code
	}
	return code, fnErr, status
}

// TestFaults runs the whole handler against the emulator injecting each
// kind of fault, on the fake clock. For every kind: no panic, the
// documented code, a RetryableError exactly when a retry can fix it and a
// SetupError when the function's own setup is wrong, retries only for what
// can succeed, and, once the fault is gone, the retried invocation completes
// with no contact created twice.
func TestFaults(t *testing.T) {
	t.Parallel()
	direct := []byte(`{"Name":"John Smith","ContactInfo":"test@qq.com"}`)
	httpEvent := []byte(`{"httpMethod":"POST","headers":{"content-type":"application/json"},"body":"{\"Name\":\"John Smith\",\"ContactInfo\":\"test@qq.com\"}"}`)
	for _, tc := range []struct {
		name    string
		cfg     emulator.Config
		env     map[string]string
		event   []byte
		timeout time.Duration
		code    string
		fnErr   string
		status  int
		// maxCalls bounds the requests the emulator saw: 1 means no retry.
		minCalls, maxCalls int64
	}{
		{name: "InternalError", cfg: emulator.Config{Faults: emulator.Faults{InternalError: 1}}, event: direct, timeout: 2 * time.Second,
			code: "InternalError", fnErr: "RetryableError", minCalls: 3, maxCalls: 1000},
		{name: "bare 503", cfg: emulator.Config{Faults: emulator.Faults{Unavailable: 1}}, event: direct, timeout: 2 * time.Second,
			code: "ServiceUnavailable", fnErr: "RetryableError", minCalls: 3, maxCalls: 1000},
		{name: "dropped connection", cfg: emulator.Config{Faults: emulator.Faults{Drop: 1}}, event: direct, timeout: 2 * time.Second,
			code: "ClientError.NetworkError", fnErr: "RetryableError", minCalls: 3, maxCalls: 1000},
		{name: "latency past the deadline", cfg: emulator.Config{Faults: emulator.Faults{Latency: 5 * time.Second}}, event: httpEvent, timeout: 1500 * time.Millisecond,
			code: "ClientError.DeadlineExceeded", status: 504, minCalls: 1, maxCalls: 1},
		{name: "RequestLimitExceeded storm", cfg: emulator.Config{RPS: 1}, env: map[string]string{"DBBRAIN_RPS": "50"},
			event:   []byte(`{"Contacts":[{"Name":"a_1","ContactInfo":"a1@example.com"},{"Name":"a_2","ContactInfo":"a2@example.com"},{"Name":"a_3","ContactInfo":"a3@example.com"}]}`),
			timeout: 10 * time.Second, code: "", minCalls: 4, maxCalls: 1000},
		{name: "wrong token", cfg: emulator.Config{Keys: []emulator.Key{{SecretID: roleID, SecretKey: roleKey, Token: "the-current-token"}}}, event: direct, timeout: 2 * time.Second,
			code: "AuthFailure.TokenFailure", fnErr: "SetupError", minCalls: 1, maxCalls: 1},
		{name: "wrong key", cfg: emulator.Config{Keys: []emulator.Key{{SecretID: roleID, SecretKey: "rotated-key", Token: roleToken}}}, event: httpEvent, timeout: 2 * time.Second,
			code: "AuthFailure.SignatureFailure", status: 401, minCalls: 1, maxCalls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, tc.cfg, tc.env)
				out, err := f.invoke(tc.event, tc.timeout)
				code, fnErr, status := answerCode(t, out, err)
				if code != tc.code || fnErr != tc.fnErr || status != tc.status {
					t.Errorf("got code %q function error %q status %d; want %q %q %d\n%s %v", code, fnErr, status, tc.code, tc.fnErr, tc.status, out, err)
				}
				if strings.Contains(f.logs.String(), `"msg":"panic"`) {
					t.Fatal("panicked")
				}
				// The emulator counts a delayed request when it answers, which for
				// a client that gave up is when it notices the disconnect.
				synctest.Wait()
				if st := f.emu.Stats(); st.Requests < tc.minCalls || st.Requests > tc.maxCalls {
					t.Errorf("%d upstream requests, want %d..%d", st.Requests, tc.minCalls, tc.maxCalls)
				}
				before := f.emu.Contacts()
				if len(before) > 1 && tc.name != "RequestLimitExceeded storm" {
					t.Fatalf("created %d contacts", len(before))
				}
				if tc.code == "" || strings.HasPrefix(tc.code, "AuthFailure") {
					return
				}
				// The platform retries the event once the fault has passed.
				if err := f.emu.SetFaults(emulator.Faults{}); err != nil {
					t.Fatal(err)
				}
				out, err = f.invoke(tc.event, 5*time.Second)
				if code, fnErr, _ := answerCode(t, out, err); code != "" || fnErr != "" {
					t.Fatalf("the retry failed: %s %v", out, err)
				}
				after := f.emu.Contacts()
				if len(after) != 1 {
					t.Fatalf("after the retry %d contacts exist: %+v", len(after), after)
				}
				if len(before) == 1 && after[0].Id != before[0].Id {
					t.Errorf("the retry created a second contact")
				}
			})
		})
	}
}
