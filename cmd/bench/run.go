package main

import (
	"bufio"
	"context"
	"debug/buildinfo"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// options are the parsed flags.
type options struct {
	bin, zip, out string
	logs          string
	rps           int
	batch         int
	faultBatch    int
	faultRate     float64
	warm          int
	cold          int
	timeout       time.Duration
	seed          int64
	strict        bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: bench [flags]

Runs the built function through internal/scflocal against the in-process DBbrain
emulator at its rate limit and writes a markdown report. Progress goes to stderr,
the report's path to stdout.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.bin, "bin", "dist/main", "the built function `binary` (make build)")
	fs.StringVar(&o.zip, "zip", "dist/function.zip", "the function's `package` (make package), for its size")
	fs.StringVar(&o.out, "out", "bench/REPORT.md", "the report `file` to write")
	fs.StringVar(&o.logs, "logs", "", "also write each scenario's function output to a file in this `directory`")
	fs.IntVar(&o.rps, "rps", 20, "the emulator's AddUserContact limit per second, and the function's DBBRAIN_RPS")
	fs.IntVar(&o.batch, "batch", 200, "contacts in the throughput batch")
	fs.IntVar(&o.faultBatch, "fault-batch", 200, "contacts in each fault scenario's batch")
	fs.Float64Var(&o.faultRate, "fault-rate", 0.3, "the probability of the injected fault per request (split in three for the mixed scenario)")
	fs.IntVar(&o.warm, "warm", 50, "warm single-contact invocations (and as many direct calls) for the overhead")
	fs.IntVar(&o.cold, "cold", 10, "cold starts to time")
	fs.DurationVar(&o.timeout, "timeout", 120*time.Second, "the function's time limit per invocation (serverless.yml: 120s)")
	fs.Int64Var(&o.seed, "seed", 1, "the emulator's fault seed")
	fs.BoolVar(&o.strict, "strict", false, "exit with status 1 when a target is missed (the report is written either way)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.rps < 1 || o.batch < 2 || o.faultBatch < 1 || o.warm < 1 || o.cold < 1 || o.timeout <= 0:
		return o, errors.New("--rps, --fault-batch, --warm, --cold and --timeout must be positive, --batch at least 2")
	case !(o.faultRate >= 0 && o.faultRate <= 1):
		return o, errors.New("--fault-rate must be in [0,1]")
	}
	return o, nil
}

// run is the whole program; main only wires the process to it. It reads no
// environment variable (the getenv slot is the house signature): every
// setting is a flag, so the report's command line reproduces the run.
func run(ctx context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args[1:], stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	rep := report{Machine: describeMachine(o.bin), Options: o, Command: commandLine(args)}
	if rep.Sizes, err = sizes(o.bin, o.zip); err != nil {
		return err
	}
	b := &bench{opts: o, stderr: stderr}

	b.progress("cold starts: %d", o.cold)
	if rep.Cold, err = b.cold(ctx); err != nil {
		return fmt.Errorf("cold starts: %w", err)
	}
	b.progress("batch of %d at %d rps", o.batch, o.rps)
	if rep.Batch, err = b.batch(ctx); err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	b.progress("  %d ok, %d failed in %s (%.2f calls/s accepted)", rep.Batch.Succeeded, rep.Batch.Failed, rep.Batch.Duration.Round(time.Millisecond), rep.Batch.CallRate)
	b.progress("warm overhead: %d single-contact invocations and direct calls", o.warm)
	if rep.Warm, err = b.warm(ctx); err != nil {
		return fmt.Errorf("warm overhead: %w", err)
	}
	for i, sc := range faultKinds(o.faultRate) {
		b.progress("faults %s: batch of %d, twice", sc.Name, o.faultBatch)
		done, err := b.fault(ctx, sc, fmt.Sprintf("fault-%d", i+1))
		if err != nil {
			return fmt.Errorf("faults %s: %w", sc.Name, err)
		}
		rep.Faults = append(rep.Faults, done)
	}
	rep.Machine.Date = time.Now().UTC()

	text := rep.render()
	if err := writeFile(o.out, text); err != nil {
		return err
	}
	failed := rep.failedTargets()
	for _, f := range failed {
		b.progress("FAIL: %s", f)
	}
	b.progress("%d targets, %d failed", len(rep.rows()), len(failed))
	fmt.Fprintln(stdout, o.out)
	if o.strict && len(failed) > 0 {
		return fmt.Errorf("%d targets missed; see %s", len(failed), o.out)
	}
	return nil
}

// writeFile replaces path atomically, so that an interrupted run never
// leaves half a report.
func writeFile(path, text string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating the report's directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".report-*")
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.WriteString(text); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing the report: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing the report: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

// machine describes where the figures were measured.
type machine struct {
	GOOS, GOARCH string
	NumCPU       int
	CPUModel     string
	GoVersion    string
	// FunctionGoVersion is the toolchain that built the binary.
	FunctionGoVersion string
	Date              time.Time
}

func describeMachine(bin string) machine {
	m := machine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, NumCPU: runtime.NumCPU(), GoVersion: runtime.Version(), CPUModel: cpuModel()}
	if info, err := buildinfo.ReadFile(bin); err == nil {
		m.FunctionGoVersion = info.GoVersion
	}
	return m
}

// cpuModel reads the processor's name on Linux; "" elsewhere.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// sizesResult holds the artefact sizes in bytes.
type sizesResult struct {
	Binary, Zip int64
}

func sizes(bin, zip string) (sizesResult, error) {
	b, err := os.Stat(bin)
	if err != nil {
		return sizesResult{}, fmt.Errorf("the function binary (run make build): %w", err)
	}
	z, err := os.Stat(zip)
	if err != nil {
		return sizesResult{}, fmt.Errorf("the function package (run make package): %w", err)
	}
	return sizesResult{Binary: b.Size(), Zip: z.Size()}, nil
}

func commandLine(args []string) string {
	parts := []string{"go run ./cmd/bench"}
	for _, a := range args[1:] {
		if strings.ContainsAny(a, " \t'\"$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}
