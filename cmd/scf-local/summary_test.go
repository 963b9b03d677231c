package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"

	"github.com/scf-dbbrain/addusercontact/internal/scflocal"
)

// batchEnvelope is a RetryableError's message for n contacts of which every
// tenth failed, each with its record's coordinates.
func batchEnvelope(t *testing.T, n int) string {
	t.Helper()
	type item struct {
		Record string            `json:"Record,omitempty"`
		Name   string            `json:"Name"`
		ID     int               `json:"Id,omitempty"`
		Error  map[string]string `json:"Error,omitempty"`
	}
	var results []item
	failed := 0
	for i := range n {
		it := item{Record: fmt.Sprintf("topic=hr partition=0 offset=%d", i), Name: fmt.Sprintf("Contact Number %04d", i)}
		if i%10 == 3 {
			failed++
			it.Error = map[string]string{"Code": "RequestLimitExceeded", "Message": "Your request rate is too high; " + strings.Repeat("retry later, ", 6)}
		} else {
			it.ID = i + 1
		}
		results = append(results, it)
	}
	b, err := json.Marshal(map[string]any{"Response": map[string]any{"Results": results, "SucceededCount": n - failed, "FailedCount": failed, "RequestId": "r"}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSummarize(t *testing.T) {
	fail := func(typ, msg string) *scflocal.Result {
		return &scflocal.Result{FunctionError: &messages.InvokeResponse_Error{Type: typ, Message: msg}}
	}
	for _, tc := range []struct {
		name string
		res  *scflocal.Result
		want string
	}{
		{"single error", fail("RetryableError", `{"Response":{"Error":{"Code":"InternalError","Message":"try again"},"RequestId":"r"}}`),
			"scf-local: function error (SCF answers statusCode 430): RetryableError: InternalError: try again\n"},
		{"not an envelope", fail("errorString", "contact rejected"),
			"scf-local: function error (SCF answers statusCode 430): errorString: contact rejected\n"},
		{"long text", fail("errorString", strings.Repeat("x", 5000)),
			"scf-local: function error (SCF answers statusCode 430): errorString: " + strings.Repeat("x", summaryText) + "… (5000 bytes)\n"},
		{"a URL's password", fail("RetryableError", `{"Response":{"Error":{"Code":"ClientError.NetworkError","Message":"dial http://u:hunter2@10.0.0.1:9000"}}}`),
			"scf-local: function error (SCF answers statusCode 430): RetryableError: ClientError.NetworkError: dial http://u:xxxxx@10.0.0.1:9000\n"},
		{"batch", fail("RetryableError", `{"Response":{"Results":[{"Name":"A","Id":1},{"Record":"id=e1","Name":"B","Error":{"Code":"InternalError","Message":"m"}}],"SucceededCount":1,"FailedCount":1,"OmittedCount":4}}`),
			"scf-local: function error (SCF answers statusCode 430): RetryableError: 1 succeeded, 1 failed (4 not listed)\n  id=e1 \"B\": InternalError: m\n"},
	} {
		if got := summarize(tc.res); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

// A 1000-contact batch's function error, redelivered, is summarised once in
// a few lines: the counts and the first failures, never the whole envelope.
func TestInvokeSummarisesABigFunctionErrorOnce(t *testing.T) {
	message := batchEnvelope(t, 1000)
	if len(message) < 64<<10 {
		t.Fatalf("the envelope is only %d bytes", len(message))
	}
	ev, err := json.Marshal(map[string]string{"mode": "typed-error", "message": message})
	if err != nil {
		t.Fatal(err)
	}
	o := runCLI(t, nil, string(ev), "invoke", "--bin", fixtureBin, "--event", "-", "--redeliver", "2")
	if o.code != exitFunctionError {
		t.Fatalf("exit %d: %v", o.code, o.err)
	}
	if len(o.stderr) > 8<<10 {
		t.Errorf("stderr is %d bytes for a %d-byte error", len(o.stderr), len(message))
	}
	const head = "scf-local: function error (SCF answers statusCode 430): typedError: 900 succeeded, 100 failed\n" +
		"  topic=hr partition=0 offset=3 \"Contact Number 0003\": RequestLimitExceeded: Your request rate is too high;"
	if n := strings.Count(o.stderr, "(SCF answers statusCode 430)"); n != 1 || !strings.Contains(o.stderr, head) || !strings.Contains(o.stderr, "  … and 97 more failures\n") {
		t.Errorf("the summary is printed %d times, or lacks the counts and first failures:\n%s", n, o.stderr)
	}
	if n := strings.Count(o.stderr, "function error (typedError: 900 succeeded, 100 failed)\n"); n != 3 {
		t.Errorf("%d attempt lines name the failure, want 3:\n%s", n, o.stderr)
	}
}

// A URL's password in what the function returns (an endpoint it echoes) is
// masked in every line scf-local writes and in serve's answer.
func TestNoURLPasswordInScfLocalOutput(t *testing.T) {
	const secret = "hunter2"
	ev := `{"mode":"typed-error","message":"DBBRAIN_ENDPOINT http://admin:` + secret + `@dbbrain.example:9000 is unreachable"}`
	o := runCLI(t, nil, ev, "invoke", "--bin", fixtureBin, "--event", "-", "--redeliver", "1")
	if o.code != exitFunctionError || strings.Contains(o.stderr, secret) || !strings.Contains(o.stderr, "http://admin:xxxxx@dbbrain.example:9000") {
		t.Errorf("invoke: exit %d:\n%s", o.code, o.stderr)
	}
	s := serve(t, "--bin", fixtureBin)
	r := s.do(t, "POST", "/", ev, nil)
	if r.status != 502 || strings.Contains(r.body, secret) || strings.Contains(s.stderr.String(), secret) {
		t.Errorf("serve: %d %s\n%s", r.status, r.body, s.stderr)
	}
	var reported strings.Builder
	exitCode(fmt.Errorf("listen on http://u:%s@0.0.0.0:1: too many colons", secret), &reported)
	if strings.Contains(reported.String(), secret) {
		t.Errorf("exitCode printed %q", reported.String())
	}
}
