// Package bench measures the built function the way SCF runs it: the real
// binary under internal/scflocal, configured as serverless.yml deploys it,
// against the DBbrain emulator at the account's limit of 20 calls per second.
//
// Each scenario is a benchmark that runs once (-benchtime=1x) and reports its
// figures with b.ReportMetric; cmd/benchreport turns the `go test -bench`
// output into bench/REPORT.md (make bench does both). TestScenarios runs
// small versions of the same scenarios, so that make test keeps this code
// working; the targets are judged in the report only, never by a test.
package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/scf-dbbrain/addusercontact/internal/testsupport"
)

// binary is the function built for this machine by TestMain, as make build
// builds it for SCF; it is only read afterwards.
var binary string

// TestMain builds the function once for every scenario, and checks that
// none leaves a goroutine behind.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary, err = testsupport.Build("../function", filepath.Join(dir, "main"), []string{"-trimpath", "-ldflags=-s -w"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		_ = os.RemoveAll(dir)
		os.Exit(code)
	}))
}
