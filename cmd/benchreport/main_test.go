package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/scf-dbbrain/addusercontact/internal/testsupport"
)

var update = flag.Bool("update", false, "rewrite the golden reports under testdata/")

// TestMain checks that no test leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// runCLI runs the command as main would, with stdin as its input.
func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"benchreport"}, args...), func(string) string { return "" }, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

// TestGolden renders each recorded benchmark output under testdata/ (a
// whole make bench run, and a partial one with problems) and compares the
// report with its golden file; go test -update rewrites them.
func TestGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/*.txt")
	if len(inputs) < 2 {
		t.Fatalf("want at least 2 inputs under testdata/, found %v", inputs)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "REPORT.md")
			stdout, _, err := runCLI(t, string(raw), "--out", out)
			if err != nil {
				t.Fatal(err)
			}
			report, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			testsupport.Golden(t, strings.TrimSuffix(in, ".txt")+".md.golden", string(report), *update)
			// The input passes through first, so that a long run shows
			// its progress; the report follows.
			if want := string(raw) + "\n" + string(report); stdout != want {
				t.Errorf("stdout is not the input, then the report:\n%s", stdout)
			}
		})
	}
}

// TestFailedRun checks that a run that failed or stopped early leaves the
// last report alone.
func TestFailedRun(t *testing.T) {
	for name, input := range map[string]string{
		"failed benchmark": "BenchmarkBatch-2 \t 1 \t 0.5 accepted/limit\n--- FAIL: BenchmarkFleet-2\nFAIL\n",
		"interrupted":      "goos: linux\nBenchmarkBatch-2 \t 1 \t 0.5 accepted/limit\n",
		"no results":       "PASS\nok \tgithub.com/scf-dbbrain/addusercontact/bench\t0.1s\n",
	} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "REPORT.md")
			if _, _, err := runCLI(t, input, "--out", out); err == nil {
				t.Error("no error")
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a report was written (%v)", err)
			}
		})
	}
}

// TestUsage checks the command line's errors and -h.
func TestUsage(t *testing.T) {
	if _, _, err := runCLI(t, "", "stray"); err == nil || !strings.Contains(err.Error(), "stray") {
		t.Errorf("stray argument: %v", err)
	}
	if _, stderr, err := runCLI(t, "", "-h"); err != nil || !strings.Contains(stderr, "-out") {
		t.Errorf("-h: %v, %q", err, stderr)
	}
}

// TestInterrupted checks that a run stopped by a signal writes no report,
// even when what was read so far passed.
func TestInterrupted(t *testing.T) {
	raw, err := os.ReadFile("testdata/partial.txt")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(t.TempDir(), "REPORT.md")
	err = run(ctx, []string{"benchreport", "--out", out}, os.Getenv, bytes.NewReader(raw), io.Discard, io.Discard)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a report was written (%v)", err)
	}
}
