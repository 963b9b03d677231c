package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/scf-dbbrain/addusercontact/internal/bundle"
	"github.com/scf-dbbrain/addusercontact/internal/emulator"
	"github.com/scf-dbbrain/addusercontact/internal/testsupport"
)

var update = flag.Bool("update", false, "rewrite testdata/report.golden from the current output")

// functionBin is the real function, built once by TestMain for the
// end-to-end test; functionZip its package.
var functionBin, functionZip string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "bench-fixture-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	functionBin = filepath.Join(dir, "main")
	functionZip = filepath.Join(dir, "function.zip")
	if _, err := testsupport.Build("../../function", functionBin, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	if err := bundle.WriteFile(functionZip, []bundle.File{{Path: functionBin, Name: "main", Executable: true}}); err != nil {
		fmt.Fprintf(os.Stderr, "package the function: %v\n", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		_ = os.RemoveAll(dir)
		os.Exit(code)
	}))
}

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, ms(float64(i)))
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, ms(50)}, {99, ms(99)}, {100, ms(100)}, {0, ms(1)}, {1, ms(1)}, {0.5, ms(1)}} {
		if got := percentile(ds, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("p50 of nothing = %v", got)
	}
	if ds[0] != ms(100) {
		t.Error("percentile sorted its argument in place")
	}
}

func TestCallRate(t *testing.T) {
	t0 := time.Unix(1000, 0)
	times := []time.Time{t0.Add(2 * time.Second), t0, t0.Add(time.Second)} // order does not matter
	if got := callRate(times); got != 1 {
		t.Errorf("rate = %v, want 1", got)
	}
	if got := callRate(times[:1]); got != 0 {
		t.Errorf("rate of one call = %v, want 0", got)
	}
	if got := callRate([]time.Time{t0, t0}); got != 0 {
		t.Errorf("rate of simultaneous calls = %v, want 0", got)
	}
}

func TestMaxInWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(msecs ...float64) []time.Time {
		var out []time.Time
		for _, m := range msecs {
			out = append(out, t0.Add(ms(m)))
		}
		return out
	}
	for _, c := range []struct {
		name  string
		times []time.Time
		want  int
	}{
		{"none", nil, 0},
		{"one", at(0), 1},
		// (t-1s, t]: a call exactly one second earlier has left the window.
		{"exactly one second apart", at(0, 1000), 1},
		{"just under one second apart", at(0, 999.999), 2},
		{"densest second in the middle", at(0, 500, 600, 700, 1400, 2600), 4},
		{"unsorted", at(700, 0, 600, 500), 4},
	} {
		if got := maxInWindow(c.times, time.Second); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

func TestParseLog(t *testing.T) {
	out := []byte(`START RequestId:abc
{"time":"x","level":"INFO","msg":"starting","config":"..."}
{"time":"x","level":"DEBUG","msg":"contact outcome","contact":{"name":"a","email":"a***@example.com"},"code":"Success","id":1,"existing":false,"attempts":1,"duration_ms":12.5}
not json {
{"time":"x","level":"INFO","msg":"contact outcome","code":"Success","id":2,"existing":true,"attempts":3,"duration_ms":1500}
{"time":"x","level":"INFO","msg":"invocation","outcome":"Success","duration_ms":2}
{"truncated":
END RequestId:abc
Report RequestId:abc Duration:0.48ms`)
	got := parseLog(out, msgContactOutcome)
	want := []logLine{
		{Msg: msgContactOutcome, Level: "DEBUG", Code: "Success", Attempts: 1, DurationMS: 12.5},
		{Msg: msgContactOutcome, Level: "INFO", Code: "Success", Attempts: 3, Existing: true, DurationMS: 1500},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("contact outcome lines (-want +got):\n%s", diff)
	}
	if d := durations(got); d[0] != ms(12.5) || d[1] != 1500*time.Millisecond {
		t.Errorf("durations: %v", d)
	}
	if inv := parseLog(out, msgInvocation); len(inv) != 1 || inv[0].Outcome != "Success" {
		t.Errorf("invocation lines: %+v", inv)
	}
}

func TestParseFlags(t *testing.T) {
	for _, args := range [][]string{
		{"extra"},
		{"--batch", "1"},
		{"--fault-rate", "1.5"},
		{"--warm", "0"},
		{"--no-such-flag"},
	} {
		var stderr bytes.Buffer
		if _, err := parseFlags(args, &stderr); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	o, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil || o.batch != 200 || o.rps != 20 || o.timeout != 120*time.Second || o.out != "bench/REPORT.md" {
		t.Errorf("defaults: %+v %v", o, err)
	}
}

// goldenReport is a fixed set of figures: one fault scenario passes, one
// fails, so that both renderings are covered.
func goldenReport() report {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var accepted []time.Time
	for i := range 200 {
		accepted = append(accepted, t0.Add(time.Duration(i)*50500*time.Microsecond))
	}
	var lat []time.Duration
	for i := range 200 {
		lat = append(lat, ms(400+float64(i)))
	}
	ok := faultRun{Duration: 14 * time.Second, Succeeded: 200, Requests: map[string]int64{"AddUserContact": 280}, Codes: map[string]int64{"OK": 200, "InternalError": 80}, Retried: 70}
	bad := faultRun{Duration: 120 * time.Second, Succeeded: 190, Failed: 10, FailedCodes: map[string]int{"DeadlineExceeded": 10},
		Requests: map[string]int64{"AddUserContact": 300, "DescribeAllUserContact": 40}, Codes: map[string]int64{"OK": 230, "Dropped": 110}, Existing: 40}
	return report{
		Machine: machine{GOOS: "linux", GOARCH: "amd64", NumCPU: 4, CPUModel: "Test CPU", GoVersion: "go1.26.0", FunctionGoVersion: "go1.26.0", Date: t0},
		Options: options{bin: "dist/main", rps: 20, timeout: 120 * time.Second, seed: 1, faultBatch: 200},
		Command: "go run ./cmd/bench --bin dist/main --zip dist/function.zip --out bench/REPORT.md",
		Sizes:   sizesResult{Binary: 10 << 20, Zip: 4 << 20},
		Cold:    coldResult{Inits: []time.Duration{ms(6), ms(5), ms(9)}},
		Batch: batchResult{
			Contacts: 200, Limit: 20, Timeout: 120 * time.Second, Duration: 10100 * time.Millisecond, Succeeded: 200, FailedCodes: map[string]int{},
			Accepted: len(accepted), CallRate: callRate(accepted), Offered: 200,
			MaxWindowAccepted: maxInWindow(accepted, time.Second), MaxWindowOffered: maxInWindow(accepted, time.Second),
			Requests: map[string]int64{"AddUserContact": 200}, Codes: map[string]int64{"OK": 200},
			Latencies: lat, Attempts: map[int]int{1: 200}, PeakRSS: 14 << 20,
		},
		Warm: warmResult{
			Invocation: []time.Duration{ms(1.3), ms(1.2), ms(1.4)},
			Handler:    []time.Duration{ms(0.9), ms(0.8), ms(1)},
			Direct:     []time.Duration{ms(0.7), ms(0.8), ms(0.75)},
		},
		Faults: []faultScenario{
			{Name: "InternalError", Faults: emulator.Faults{InternalError: 0.3}, Runs: []faultRun{ok, ok}, Check: faultCheck{Listed: 200, Stored: 200}},
			{Name: "Drop (after create)", Faults: emulator.Faults{Drop: 0.3}, Runs: []faultRun{bad, ok},
				Check: faultCheck{Listed: 199, Stored: 199, Problems: []string{"fault_0007 is missing"}}},
		},
	}
}

func TestReportGolden(t *testing.T) {
	got := goldenReport().render()
	golden := filepath.Join("testdata", "report.golden")
	testsupport.Golden(t, golden, got, *update)
}

func TestFailedTargets(t *testing.T) {
	failed := goldenReport().failedTargets()
	if len(failed) != 1 || !strings.HasPrefix(failed[0], "Faults Drop") {
		t.Errorf("failed targets: %q", failed)
	}
}

// TestRun runs the whole bench, small, on the real function. It asserts
// only what does not depend on timing: the report is written, and every
// item of every run succeeded with each contact stored exactly once.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the function a dozen times")
	}
	out := filepath.Join(t.TempDir(), "report", "REPORT.md")
	logs := filepath.Join(t.TempDir(), "logs")
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"bench", "--bin", functionBin, "--zip", functionZip, "--out", out, "--logs", logs,
		"--batch", "5", "--fault-batch", "3", "--warm", "2", "--cold", "2", "--timeout", "60s"}, os.Getenv, &stdout, &stderr)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	if strings.TrimSpace(stdout.String()) != out {
		t.Errorf("stdout %q, want the report's path", stdout.String())
	}
	text, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| Batch: items succeeded | 5/5 | 5/5 | PASS |",
		"| Batch: RequestLimitExceeded surfaced in results | 0 | 0 | PASS |",
		"batch run twice: all items ok, same Id both runs, each contact exactly once | yes | yes (",
		"| Mixed | 3 | 3 | every contact exactly once, same Id in both runs |",
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(string(text), "each contact exactly once | yes | yes ("); n != 4 {
		t.Errorf("%d of 4 fault scenarios passed:\n%s", n, text)
	}
	if _, err := os.Stat(filepath.Join(logs, "batch.log")); err != nil {
		t.Errorf("no batch log: %v", err)
	}
}
