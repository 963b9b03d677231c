package main

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// reportTemplate lays the report out; render fills it.
//
//go:embed report.md.tmpl
var reportTemplate string

// results is what the benchmark output holds. Benchmarks are named without
// their Benchmark prefix and -GOMAXPROCS suffix: "Faults/Drop".
type results struct {
	env     map[string]string   // go test's header: goos, goarch, cpu, pkg
	metrics map[string]float64  // by "benchmark:unit", e.g. "Faults/Drop:run1-s"
	logs    map[string][]string // log lines by "benchmark:first-word", the other words
}

// parse reads go test output. It fails unless the run passed: a failed or
// interrupted run has no complete set of figures.
func parse(r io.Reader) (*results, error) {
	res := &results{env: map[string]string{}, metrics: map[string]float64{}, logs: map[string][]string{}}
	passed, failed, bench := false, false, ""
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case f[0] == "PASS" || f[0] == "ok":
			passed = true
		case f[0] == "FAIL" || f[0] == "---" && len(f) > 1 && f[1] == "FAIL:":
			failed = true
		case f[0] == "---" && len(f) > 2 && f[1] == "BENCH:":
			bench = benchName(f[2])
		case strings.HasPrefix(f[0], "Benchmark") && len(f) >= 4 && len(f)%2 == 0:
			for i := 2; i < len(f); i += 2 {
				if v, err := strconv.ParseFloat(f[i], 64); err == nil {
					res.metrics[benchName(f[0])+":"+f[i+1]] = v
				}
			}
		case line[0] != ' ' && len(f) >= 2 && strings.HasSuffix(f[0], ":"):
			res.env[strings.TrimSuffix(f[0], ":")] = strings.Join(f[1:], " ")
		case bench != "" && len(f) >= 2: // a log line: "    file_test.go:12: message"
			res.logs[bench+":"+f[1]] = f[2:]
		}
	}
	switch {
	case sc.Err() != nil:
		return nil, fmt.Errorf("reading the benchmark output: %w", sc.Err())
	case failed || !passed:
		return nil, errors.New("the benchmarks failed or did not finish; the report is left as it was")
	case len(res.metrics) == 0:
		return nil, errors.New("no benchmark results in the input")
	}
	return res, nil
}

// gomaxprocs is go test's suffix of a benchmark's name, "-2".
var gomaxprocs = regexp.MustCompile(`-[0-9]+$`)

// benchName strips "Benchmark" and the -GOMAXPROCS suffix.
func benchName(s string) string {
	return gomaxprocs.ReplaceAllString(strings.TrimPrefix(s, "Benchmark"), "")
}

// row is one figure of the summary: its metrics, how to show them, and the
// target they must meet.
type row struct {
	figure, target string
	keys           string // the metrics, "benchmark:unit" separated by spaces
	show           func(v []float64) string
	meets          func(v []float64) bool // nil: no target, recorded to compare runs
}

func rows() []row {
	rs := []row{
		{"Batch (1 instance, 200 contacts): accepted AddUserContact calls/s ÷ limit", "≥ 0.97", "Batch:accepted/limit Batch:accepted/s", show("%.3f (%.2f calls/s)"), ge(0.97)},
		{"Batch: most accepted AddUserContact calls in any 1-s window", "≤ 20", "Batch:max-window", show("%.0f"), le(20)},
		{"Batch: RequestLimitExceeded answered to the function", "", "Batch:rle-answered", show("%.0f"), nil},
		{"Batch: RequestLimitExceeded surfaced in results", "0", "Batch:rle-surfaced", show("%.0f"), le(0)},
		{"Batch: items ok", "all", "Batch:items-ok Batch:items", show("%.0f/%.0f"), func(v []float64) bool { return v[0] == v[1] }},
		{"Batch: peak RSS of the function process", "< 128 MB (memorySize)", "Batch:peak-rss-MiB", show("%.1f MiB"), func(v []float64) bool { return v[0] < 128 }},
		{"Batch: end-to-end items/s ÷ limit", "", "Batch:items/limit Batch:items Batch:batch-s", show("%.3f (%.0f items in %.2f s)"), nil},
		{"Binary size (dist/main)", "", "Artifacts:bin-bytes", mib, nil},
		{"Package size (dist/function.zip)", "", "Artifacts:zip-bytes", mib, nil},
		{"Cold start, process start to first Ping answer: median (max)", "", "ColdStart:cold-median-ms ColdStart:cold-max-ms ColdStart:cold-starts", show("%.2f ms (%.2f ms) over %.0f starts"), nil},
		{"Warm overhead of a single-contact invocation", "", "WarmOverhead:warm-overhead-us WarmOverhead:warm-invoke-us WarmOverhead:warm-direct-us",
			show("%.0f µs (median invocation %.0f µs − median direct call %.0f µs)"), nil},
	}
	for _, k := range faultKinds() {
		rs = append(rs, row{"Faults " + k + ", batch run twice: every contact once, same Id in both runs", "yes",
			strings.ReplaceAll("F:fault-ok F:run1-ok F:fault-items F:run1-s F:run1-invocations F:run2-ok F:run2-s F:run2-invocations", "F:", "Faults/"+k+":"),
			func(v []float64) string {
				return pick(v[0] == 1, "yes", "no") + show(" (run 1: %.0f/%.0f ok in %.1f s, %.0f invocation(s); run 2: %.0f ok in %.1f s, %.0f invocation(s))")(v[1:])
			}, ge(1)})
	}
	rs = append(rs,
		row{fmt.Sprintf("Fleet (4 instances × 100 contacts at once), %d runs: end-to-end rate ÷ limit of each run", fleetRuns), "each ≥ 0.93",
			fleetKeys("fleet-ratio"), func(v []float64) string { return joinf("%.3f", v) }, func(v []float64) bool { return slices.Min(v) >= 0.93 }},
		row{"Fleet: the worst run", "≥ 0.93 (stretch ≥ 0.95)", fleetKeys("fleet-ratio") + " " + fleetKeys("fleet-contacts") + " " + fleetKeys("fleet-s"), func(v []float64) string {
			w := worst(v[:fleetRuns])
			return fmt.Sprintf("%.3f, run %d (%.0f contacts in %.2f s; stretch %s)", v[w], w+1, v[fleetRuns+w], v[2*fleetRuns+w], pick(v[w] >= 0.95, "met", "missed"))
		}, func(v []float64) bool { return slices.Min(v[:fleetRuns]) >= 0.93 }},
		row{"Fleet: RequestLimitExceeded answers received, each run", "≤ 10% of the contacts", fleetKeys("fleet-refused") + " " + fleetKeys("fleet-contacts"),
			func(v []float64) string {
				refused, contacts := v[:fleetRuns], v[fleetRuns:]
				i := slices.Index(refused, slices.Max(refused))
				return fmt.Sprintf("%s (most: %.1f%% of %.0f)", joinf("%.0f", refused), 100*refused[i]/contacts[i], contacts[i])
			}, func(v []float64) bool {
				for i := range fleetRuns {
					if v[i] > 0.1*v[fleetRuns+i] {
						return false
					}
				}
				return true
			}},
		row{"Fleet: failures surfaced, all runs", "0", fleetKeys("fleet-failed"), sum, func(v []float64) bool { return slices.Max(v) == 0 }},
		row{"Fleet: contacts created twice, all runs", "0", fleetKeys("fleet-duplicates"), sum, func(v []float64) bool { return slices.Max(v) == 0 }},
		row{"Store checks (fleet runs, redelivery, half-registered): every contact once, with the Id answered", "yes",
			fleetKeys("fleet-stored-ok") + " Redelivery:redeliver-stored-ok HalfRegistered:half-stored-ok",
			func(v []float64) string { return pick(slices.Min(v) == 1, "yes", "no") }, func(v []float64) bool { return slices.Min(v) == 1 }},
		row{"Redelivery of a registered 100-contact batch: upstream calls", "≤ 5", "Redelivery:redeliver-calls Redelivery:redeliver-lookups Redelivery:redeliver-adds",
			show("%.0f (%.0f DescribeAllUserContact, %.0f AddUserContact)"), le(5)},
		row{"Redelivery: duration", "≤ 1.5 s", "Redelivery:redeliver-s", show("%.3f s"), le(1.5)},
		row{"Half-registered 100-contact batch: lookups + adds", "lookups ≤ 3, adds = the 50 missing", "HalfRegistered:half-lookups HalfRegistered:half-adds HalfRegistered:half-items",
			show("%.0f lookups + %.0f adds (%.0f contacts)"), func(v []float64) bool { return v[0] <= 3 && v[1] == v[2]/2 }},
	)
	rs = append(rs, floodRow("Direct", "Key flood, direct event (a contact, then unknown keys)", "keys"),
		floodRow("FunctionURL", "Key flood, Function URL event (a contact, query string of unknown keys)", "keys"),
		floodRow("RecordContacts", "Record flood, CKafka delivery of valid contacts (10-s invocation, most not attempted)", "contacts"),
		floodRow("RecordInvalid", "Record flood, CKafka delivery of invalid contacts", "contacts"))
	rs = append(rs, topicRows("Topic", "topic-", "Topic (4 partitions × 250 contacts through the CKafka trigger, an instance each)", "Topic")...)
	rs = append(rs, topicRows("TopicKill", "kill-", "Topic with partition 0's instance killed (kill -9) 2 s into its second batch", "Topic with the kill")...)
	return append(rs, row{"Topic with the kill: partition 0's committed offset when its instance was killed; the first offset delivered next", "",
		"TopicKill:kill-committed-offset TopicKill:kill-redelivered-from", show("%.0f; delivered again from %.0f"), nil})
}

// floodRow is the peak memory of BenchmarkKeyFlood's event name, of about
// 6 MB, made of what (keys or contacts).
func floodRow(name, title, what string) row {
	k := "KeyFlood/" + name + ":"
	return row{title + ": peak RSS of the function process", "≤ 64 MB",
		k + "flood-peak-rss-MiB " + k + "flood-keys " + k + "flood-event-bytes",
		show("%.1f MiB (%.0f " + what + " in %.0f bytes)"), le(64)}
}

// topicRows are the figures of a BenchmarkTopic scenario: bench names it,
// p prefixes its units; the first row's figure starts with title, the
// others with short.
func topicRows(bench, p, title, short string) []row {
	k := func(units string) string { return strings.ReplaceAll(units, "P:", bench+":"+p) }
	return []row{
		// Recorded without a target: the share a topic's partitions leave
		// the fleet depends on how the records spread over them.
		{title + ": end-to-end rate ÷ limit", "", k("P:ratio P:contacts P:s P:accepted/limit"),
			show("%.3f (%.0f contacts in %.2f s; accepted AddUserContact calls/s ÷ limit %.3f)"), nil},
		{short + ": RequestLimitExceeded answers received", "≤ 10% of the contacts", k("P:refused P:contacts"),
			func(v []float64) string { return fmt.Sprintf("%.0f (%.1f%% of %.0f)", v[0], 100*v[0]/v[1], v[1]) },
			func(v []float64) bool { return v[0] <= 0.1*v[1] }},
		{short + ": contacts created twice", "0", k("P:duplicates"), show("%.0f"), le(0)},
		{short + ": every contact stored once, with its email, and every batch acknowledged", "yes", k("P:stored-ok P:batches P:batches-retried P:failed-attempts"),
			func(v []float64) string {
				return pick(v[0] == 1, "yes", "no") + show(" (%.0f batches, %.0f retried, %.0f failed attempt(s))")(v[1:])
			}, ge(1)},
	}
}

// fleetRuns is how many times BenchmarkFleet runs its scenario, each a
// sub-benchmark "Fleet/runN".
const fleetRuns = 5

// fleetKeys names unit in every fleet run.
func fleetKeys(unit string) string {
	keys := make([]string, fleetRuns)
	for i := range keys {
		keys[i] = fmt.Sprintf("Fleet/run%d:%s", i+1, unit)
	}
	return strings.Join(keys, " ")
}

// worst is the index of the lowest value, the first of equals.
func worst(v []float64) int { return slices.Index(v, slices.Min(v)) }

func joinf(format string, v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf(format, x)
	}
	return strings.Join(s, ", ")
}

func sum(v []float64) string {
	t := 0.0
	for _, x := range v {
		t += x
	}
	return fmt.Sprintf("%.0f", t)
}

// faultKinds are BenchmarkFaults' sub-benchmarks, in the report's order.
func faultKinds() []string { return []string{"InternalError", "Unavailable", "Drop", "Mixed"} }

func show(format string) func([]float64) string {
	return func(v []float64) string {
		args := make([]any, len(v))
		for i, x := range v {
			args[i] = x
		}
		return fmt.Sprintf(format, args...)
	}
}

func mib(v []float64) string { return fmt.Sprintf("%.2f MiB (%.0f bytes)", v[0]/(1<<20), v[0]) }

func le(x float64) func([]float64) bool { return func(v []float64) bool { return v[0] <= x } }
func ge(x float64) func([]float64) bool { return func(v []float64) bool { return v[0] >= x } }

func pick(b bool, yes, no string) string { return map[bool]string{true: yes, false: no}[b] }

// values returns the metrics named by keys, or false when one is missing.
func (r *results) values(keys string) ([]float64, bool) {
	var v []float64
	for _, k := range strings.Fields(keys) {
		x, ok := r.metrics[k]
		if !ok {
			return nil, false
		}
		v = append(v, x)
	}
	return v, true
}

// render fills the template; the report depends on the input alone.
func (r *results) render() ([]byte, error) {
	type line struct{ Figure, Target, Measured, Result string }
	d := struct {
		Env, Meta                 map[string]string
		Rows                      []line
		Seconds, Faults, Problems []string
		TopicSeconds              []string
		Ends, TopicEnd            string
		Runs, Worst               int
	}{Env: r.env, Meta: map[string]string{}, Runs: fleetRuns}
	// The per-second table is the worst run's: the one that says most.
	if v, ok := r.values(fleetKeys("fleet-ratio")); ok {
		d.Worst = worst(v) + 1
		run := fmt.Sprintf("Fleet/run%d:", d.Worst)
		d.Ends = strings.Join(r.logs[run+"fleet-instance-s"], ", ")
		for _, s := range r.logs[run+"fleet-per-second"] {
			d.Seconds = append(d.Seconds, strings.ReplaceAll(s, ",", " | "))
		}
	}
	// BenchmarkTopic's, without the kill: the steady run.
	for _, s := range r.logs["Topic:topic-per-second"] {
		d.TopicSeconds = append(d.TopicSeconds, strings.ReplaceAll(s, ",", " | "))
	}
	if v, ok := r.values("Topic:topic-s"); ok {
		d.TopicEnd = fmt.Sprintf("%.2f", v[0])
	}
	for _, kv := range r.logs["Artifacts:meta"] {
		k, v, _ := strings.Cut(kv, "=")
		d.Meta[k] = v
	}
	for _, row := range rows() {
		l := line{row.figure, row.target, "not measured", "—"} // the template shows no target as —
		if v, ok := r.values(row.keys); ok {
			l.Measured = row.show(v)
			if row.meets != nil {
				l.Result = pick(row.meets(v), "PASS", "FAIL")
			}
		}
		d.Rows = append(d.Rows, l)
	}
	for _, k := range faultKinds() {
		for run := 1; run <= 2; run++ {
			if v, ok := r.values(strings.ReplaceAll("R-invocations R-ok R-adds R-lookups R-s", "R-", fmt.Sprintf("Faults/%s:run%d-", k, run))); ok {
				d.Faults = append(d.Faults, fmt.Sprintf("| %s | %d | %.0f | %.0f | %.0f | %.0f | %.2f s |", k, run, v[0], v[1], v[2], v[3], v[4]))
			}
		}
	}
	for k, words := range r.logs {
		if bench, ok := strings.CutSuffix(k, ":problems"); ok && len(words) > 0 {
			d.Problems = append(d.Problems, fmt.Sprintf("%s (%s): %s", bench, strings.TrimSuffix(words[0], ":"), strings.Join(words[1:], " ")))
		}
	}
	slices.Sort(d.Problems)
	var b bytes.Buffer
	err := template.Must(template.New("report").Parse(reportTemplate)).Execute(&b, d) // the tests render it
	return b.Bytes(), err
}
