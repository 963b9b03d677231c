package bench

import (
	"debug/buildinfo"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/emulator"
)

// The scenario benchmarks. Each runs its scenario once and reports the
// figures under the units cmd/benchreport knows; series go to one log line
// each, under a fixed first word (go test keeps only ten lines of a
// benchmark's log).
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 30m ./bench | go run ./cmd/benchreport

// The SCF build that make build and make package write, measured for size.
const (
	distBinary  = "../dist/main"
	distPackage = "../dist/function.zip"
)

// once makes sure a scenario runs once per benchmark: its figures are per
// run, and a larger b.N would repeat minutes of work to no purpose.
func once(b *testing.B) {
	b.Helper()
	if b.N != 1 {
		b.Fatalf("b.N is %d: scenario benchmarks run once, with -benchtime 1x", b.N)
	}
	b.ReportMetric(0, "ns/op") // the scenario's wall time is not a per-operation cost
}

// logProblems logs what a correctness check found, the first few in full.
func logProblems(b *testing.B, problems []string) {
	if len(problems) > 0 {
		b.Logf("problems %d: %s", len(problems), strings.Join(problems[:min(3, len(problems))], "; "))
	}
}

// BenchmarkArtifacts reports the sizes of the SCF build and logs the machine
// the run happens on.
func BenchmarkArtifacts(b *testing.B) {
	once(b)
	meta := fmt.Sprintf("meta date=%s go=%s cpus=%d", time.Now().UTC().Format("2006-01-02T15:04Z"), runtime.Version(), runtime.NumCPU())
	if info, err := buildinfo.ReadFile(distBinary); err == nil {
		meta += " function-go=" + info.GoVersion
	}
	b.Log(meta)
	for path, unit := range map[string]string{distBinary: "bin-bytes", distPackage: "zip-bytes"} {
		fi, err := os.Stat(path)
		if err != nil {
			b.Fatalf("%v (make build package writes it)", err)
		}
		b.ReportMetric(float64(fi.Size()), unit)
	}
}

// BenchmarkBatch is one instance registering a 200-contact batch at the
// account's limit.
func BenchmarkBatch(b *testing.B) {
	once(b)
	r := runBatch(b, 200)
	b.ReportMetric(r.rate/limit, "accepted/limit")
	b.ReportMetric(r.rate, "accepted/s")
	b.ReportMetric(float64(r.maxWindow), "max-window")
	b.ReportMetric(float64(r.refused), "rle-answered")
	b.ReportMetric(float64(r.surfaced), "rle-surfaced")
	b.ReportMetric(float64(r.ok), "items-ok")
	b.ReportMetric(float64(r.items), "items")
	b.ReportMetric(float64(r.peakRSS)/(1<<20), "peak-rss-MiB")
	b.ReportMetric(float64(r.items)/r.duration.Seconds()/limit, "items/limit")
	b.ReportMetric(r.duration.Seconds(), "batch-s")
}

// BenchmarkColdStart starts 10 instances, each timed from process start to
// its first Function.Ping answer.
func BenchmarkColdStart(b *testing.B) {
	once(b)
	inits := coldStarts(b, 10)
	b.ReportMetric(ms(median(inits)), "cold-median-ms")
	b.ReportMetric(ms(slices.Max(inits)), "cold-max-ms")
	b.ReportMetric(float64(len(inits)), "cold-starts")
}

// BenchmarkWarmOverhead compares 30 warm single-contact invocations with the
// same AddUserContact call made directly through internal/dbbrain.
func BenchmarkWarmOverhead(b *testing.B) {
	once(b)
	r := runWarm(b, 30)
	inv, direct := median(r.invocations), median(r.direct)
	b.ReportMetric(us(inv-direct), "warm-overhead-us")
	b.ReportMetric(us(inv), "warm-invoke-us")
	b.ReportMetric(us(direct), "warm-direct-us")
	b.ReportMetric(float64(len(r.invocations)), "warm-samples")
}

// BenchmarkFaults invokes a 200-contact batch twice against injected faults,
// each time again until it no longer asks for a retry, and checks that
// every contact exists exactly once with the Id both runs answered.
func BenchmarkFaults(b *testing.B) {
	for _, k := range []struct {
		name   string
		faults emulator.Faults
	}{
		{"InternalError", emulator.Faults{InternalError: 0.3}},
		{"Unavailable", emulator.Faults{Unavailable: 0.3}},
		{"Drop", emulator.Faults{Drop: 0.3}},
		{"Mixed", emulator.Faults{InternalError: 0.1, Unavailable: 0.1, Drop: 0.1}},
	} {
		b.Run(k.name, func(b *testing.B) {
			once(b)
			const n = 200
			r := runFaults(b, k.faults, n)
			for i, run := range r.runs {
				p := fmt.Sprintf("run%d-", i+1)
				b.ReportMetric(run.duration.Seconds(), p+"s")
				b.ReportMetric(float64(run.invocations), p+"invocations")
				b.ReportMetric(float64(run.last.Response.SucceededCount), p+"ok")
				b.ReportMetric(float64(r.adds[i]), p+"adds")
				b.ReportMetric(float64(r.lookups[i]), p+"lookups")
			}
			b.ReportMetric(n, "fault-items")
			b.ReportMetric(pass(len(r.problems) == 0), "fault-ok")
			logProblems(b, r.problems)
		})
	}
}

// fleetRuns is how many times BenchmarkFleet runs its scenario: how the
// instances fall into step varies from run to run, and the fleet's target
// holds for every run, so the report shows each and the worst.
const fleetRuns = 5

// BenchmarkFleet runs 4 instances, separate processes with their own keys of
// one account, each registering 100 contacts at the same moment, fleetRuns
// times, each run a sub-benchmark with a fresh emulator and fresh processes.
func BenchmarkFleet(b *testing.B) {
	for run := range fleetRuns {
		b.Run(fmt.Sprintf("run%d", run+1), func(b *testing.B) {
			once(b)
			r := runFleet(b, 4, 100)
			b.ReportMetric(float64(r.contacts)/r.duration.Seconds()/limit, "fleet-ratio")
			b.ReportMetric(r.duration.Seconds(), "fleet-s")
			b.ReportMetric(float64(r.contacts), "fleet-contacts")
			b.ReportMetric(float64(r.refused), "fleet-refused")
			b.ReportMetric(float64(r.ok), "fleet-ok")
			b.ReportMetric(float64(r.failed), "fleet-failed")
			b.ReportMetric(float64(r.retryable), "fleet-function-errors")
			b.ReportMetric(float64(r.duplicates), "fleet-duplicates")
			b.ReportMetric(pass(len(r.problems) == 0), "fleet-stored-ok")
			var secs, ends []string
			for _, s := range r.seconds {
				secs = append(secs, fmt.Sprintf("%d,%d,%d,%d", s[0], s[1], s[2], s[3]))
			}
			for _, d := range r.perInstance {
				ends = append(ends, fmt.Sprintf("%.3f", d.Seconds()))
			}
			b.Log("fleet-per-second " + strings.Join(secs, " "))
			b.Log("fleet-instance-s " + strings.Join(ends, " "))
			logProblems(b, r.problems)
		})
	}
}

// BenchmarkKeyFlood invokes a fresh instance with an event of about 6 MB
// and reports the process's peak RSS: a direct event of a contact followed
// by unknown members, a Function URL event whose query string carries the
// keys, and two CKafka deliveries, of 79,920 valid contacts (10 s to
// register them) and of 360,000 invalid ones.
func BenchmarkKeyFlood(b *testing.B) {
	for _, k := range []struct {
		name    string
		keys    int
		event   func(int) []byte
		timeout time.Duration
	}{
		{"Direct", floodDirectKeys, directKeyFlood, 0},
		{"FunctionURL", floodQueryKeys, functionURLKeyFlood, 0},
		{"RecordContacts", floodRecords * floodContactsPerMsg, recordContactsFlood, 10 * time.Second},
		{"RecordInvalid", floodInvalidMessages * floodInvalidPerMsg, recordInvalidFlood, 0},
	} {
		b.Run(k.name, func(b *testing.B) {
			once(b)
			r := runKeyFlood(b, k.event(k.keys), k.timeout)
			b.ReportMetric(float64(r.peakRSS)/(1<<20), "flood-peak-rss-MiB")
			b.ReportMetric(float64(r.bytes), "flood-event-bytes")
			b.ReportMetric(float64(k.keys), "flood-keys")
			b.ReportMetric(r.duration.Seconds(), "flood-s")
			b.Log("flood-answer " + r.answer)
		})
	}
}

// BenchmarkRedelivery invokes a 100-contact batch twice and measures the
// second, a redelivery of contacts all registered already.
func BenchmarkRedelivery(b *testing.B) {
	once(b)
	r := runRerun(b, 100, func(int) bool { return true })
	b.ReportMetric(float64(r.adds+r.lookups), "redeliver-calls")
	b.ReportMetric(float64(r.adds), "redeliver-adds")
	b.ReportMetric(float64(r.lookups), "redeliver-lookups")
	b.ReportMetric(r.duration.Seconds(), "redeliver-s")
	b.ReportMetric(float64(r.ok), "redeliver-ok")
	b.ReportMetric(float64(r.items), "redeliver-items")
	b.ReportMetric(pass(len(r.problems) == 0), "redeliver-stored-ok")
	logProblems(b, r.problems)
}

// BenchmarkHalfRegistered invokes a 100-contact batch of which every other
// contact is registered already.
func BenchmarkHalfRegistered(b *testing.B) {
	once(b)
	r := runRerun(b, 100, func(i int) bool { return i%2 == 0 })
	b.ReportMetric(float64(r.lookups), "half-lookups")
	b.ReportMetric(float64(r.adds), "half-adds")
	b.ReportMetric(float64(r.ok), "half-ok")
	b.ReportMetric(float64(r.items), "half-items")
	b.ReportMetric(r.duration.Seconds(), "half-s")
	b.ReportMetric(pass(len(r.problems) == 0), "half-stored-ok")
	logProblems(b, r.problems)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// pass reports a check as a metric: 1 passed, 0 failed.
func pass(ok bool) float64 {
	if ok {
		return 1
	}
	return 0
}
