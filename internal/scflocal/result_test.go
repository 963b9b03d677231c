package scflocal

import (
	"strings"
	"testing"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"
)

func TestBilledDuration(t *testing.T) {
	for _, tc := range []struct {
		res  Result
		want time.Duration
	}{
		{Result{Duration: 0}, time.Millisecond},
		{Result{Duration: 300 * time.Microsecond}, time.Millisecond},
		{Result{Duration: time.Millisecond}, time.Millisecond},
		{Result{Duration: 1200 * time.Microsecond}, 2 * time.Millisecond},
		{Result{Duration: 3300 * time.Millisecond, TimedOut: true, Timeout: 3 * time.Second}, 3 * time.Second},
	} {
		if got := billedDuration(&tc.res); got != tc.want {
			t.Errorf("billedDuration(%+v) = %v, want %v", tc.res, got, tc.want)
		}
	}
}

func TestReportLine(t *testing.T) {
	res := Result{
		RequestID:          "09c346d3-8417-49c5-8569-c55033b17f51",
		Duration:           1234567 * time.Nanosecond,
		BilledDuration:     2 * time.Millisecond,
		MemoryLimitMB:      128,
		MaxMemoryUsedBytes: 31178752, // 29.734375 MiB
	}
	const warm = "Report RequestId:09c346d3-8417-49c5-8569-c55033b17f51 Duration:1.23ms BilledDuration:2ms Memory:128MB MemUsage:29.734375MB"
	if got := res.ReportLine(); got != warm {
		t.Errorf("warm ReportLine:\n got %s\nwant %s", got, warm)
	}
	res.ColdStart, res.InitDuration = true, 15*time.Millisecond
	if got, want := res.ReportLine(), warm+" InitDuration:15.00ms"; got != want {
		t.Errorf("cold ReportLine:\n got %s\nwant %s", got, want)
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly ten", 11, "exactly ten"},
		{"0123456789abc", 10, "0123456789… (13 bytes)"},
		{"张三张三", 7, "张三… (12 bytes)"}, // never half a rune
		{"first line\nsecond", 100, "first line… (17 bytes)"},
	} {
		if got := Clip(tc.in, tc.n); got != tc.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// What scf-local renders of a function's failure masks a URL's password,
// as an endpoint echoed in a message would carry it.
func TestErrorRenderingsMaskURLPasswords(t *testing.T) {
	const secret = "s3cretpass"
	res := &Result{RequestID: "r", FunctionError: &messages.InvokeResponse_Error{Type: "errorString",
		Message: "DBBRAIN_ENDPOINT http://user:" + secret + "@dbbrain.example is unreachable"}}
	pe := &ProcessExitError{During: "init", Output: "dial http://user:" + secret + "@dbbrain.example: refused"}
	for name, text := range map[string]string{"ErrorResponse": string(res.ErrorResponse()), "ProcessExitError": pe.Error()} {
		if strings.Contains(text, secret) || !strings.Contains(text, "http://user:xxxxx@dbbrain.example") {
			t.Errorf("%s: %s", name, text)
		}
	}
}
