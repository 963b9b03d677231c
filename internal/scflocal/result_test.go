package scflocal

import (
	"testing"
	"time"
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
