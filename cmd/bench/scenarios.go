package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/emulator"
)

// deployedEnv is the function's configuration as serverless.yml deploys it,
// except LOG_LEVEL, which each scenario sets.
func deployedEnv(rps int) map[string]string {
	return map[string]string{
		"DBBRAIN_REGION":          region,
		"DBBRAIN_RPS":             strconv.Itoa(rps),
		"DBBRAIN_CONCURRENCY":     "10",
		"DBBRAIN_DEADLINE_MARGIN": "500ms",
	}
}

// bench holds what every scenario needs.
type bench struct {
	opts   options
	stderr io.Writer
}

func (b *bench) progress(format string, args ...any) {
	fmt.Fprintf(b.stderr, "bench: "+format+"\n", args...)
}

// withScenario starts a fresh emulator and a function instance pointed at
// it, runs fn, and stops both whatever happens.
func (b *bench) withScenario(ctx context.Context, name string, emu emulator.Config, logLevel string, fn func(*upstream, *function) error) (err error) {
	up, err := startUpstream(ctx, emu)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, up.Close()) }()
	tee, closeTee, err := openLog(b.opts.logs, name)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeTee()) }()
	env := deployedEnv(b.opts.rps)
	env["LOG_LEVEL"] = logLevel
	maps.Copy(env, up.functionEnv())
	f, err := startFunction(ctx, functionSpec{bin: b.opts.bin, timeout: b.opts.timeout, env: env, tee: tee})
	if err != nil {
		return err
	}
	// Closed before up, so that no call is in flight when the emulator
	// stops; fn may close it earlier to read the complete output.
	defer func() { err = errors.Join(err, f.Close()) }()
	return fn(up, f)
}

// coldResult holds the instances' start-up times.
type coldResult struct {
	Inits []time.Duration
}

// cold starts the function n times and records, for each, the time from
// process start to its first answer to Function.Ping.
func (b *bench) cold(ctx context.Context) (coldResult, error) {
	var out coldResult
	err := b.withScenario(ctx, "cold", emulator.Config{RPS: b.opts.rps}, "info", func(up *upstream, first *function) error {
		out.Inits = append(out.Inits, first.rt.InitDuration())
		env := deployedEnv(b.opts.rps)
		maps.Copy(env, up.functionEnv())
		for len(out.Inits) < b.opts.cold {
			f, err := startFunction(ctx, functionSpec{bin: b.opts.bin, timeout: b.opts.timeout, env: env})
			if err != nil {
				return err
			}
			out.Inits = append(out.Inits, f.rt.InitDuration())
			if err := f.Close(); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// batchResult is the measured 200-contact batch.
type batchResult struct {
	Contacts int
	Limit    int
	Timeout  time.Duration
	// Duration is the invocation's, from the runtime's request to the
	// function's answer.
	Duration time.Duration
	// Failure is set when the invocation did not answer normally.
	Failure     string
	Succeeded   int
	Failed      int
	FailedCodes map[string]int
	// Accepted is the AddUserContact calls the emulator admitted;
	// CallRate their rate, (n-1)/(last-first).
	Accepted int
	CallRate float64
	// Offered is every AddUserContact call that reached the server,
	// admitted or not.
	Offered           int
	MaxWindowAccepted int
	MaxWindowOffered  int
	// Requests and Codes are the emulator's counts: by action, by answer.
	Requests map[string]int64
	Codes    map[string]int64
	// RLESeen counts RequestLimitExceeded answers the emulator gave;
	// RLESurfaced the items whose result carries that code.
	RLESeen     int64
	RLESurfaced int
	// Latencies are the per-item durations from the registrar's
	// "contact outcome" lines; Attempts counts items by attempts made.
	Latencies []time.Duration
	Attempts  map[int]int
	PeakRSS   int64
}

// ItemsPerSecond is the end-to-end throughput: contacts over the
// invocation's duration.
func (r batchResult) ItemsPerSecond() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Contacts) / r.Duration.Seconds()
}

func (b *bench) batch(ctx context.Context) (batchResult, error) {
	out := batchResult{Contacts: b.opts.batch, Limit: b.opts.rps, Timeout: b.opts.timeout}
	err := b.withScenario(ctx, "batch", emulator.Config{RPS: b.opts.rps, Seed: b.opts.seed}, "debug", func(up *upstream, f *function) error {
		contacts := newContacts("bench", b.opts.batch)
		start := time.Now()
		inv, err := f.invoke(ctx, batchPayload(contacts))
		if err != nil {
			return err
		}
		// The process's output is complete only once it has exited.
		if err := f.Close(); err != nil {
			return err
		}
		out.Duration = inv.res.Duration
		out.PeakRSS = inv.res.MaxMemoryUsedBytes
		out.Failure = inv.failure()
		out.Succeeded, out.Failed, out.FailedCodes = tally(inv, len(contacts))
		for _, r := range inv.answer.Response.Results {
			if r.Error != nil && strings.HasPrefix(r.Error.Code, "RequestLimitExceeded") {
				out.RLESurfaced++
			}
		}
		st := up.emu.Stats()
		accepted := st.Actions[emulator.ActionAddUserContact].Accepted
		offered := up.offered.since(emulator.ActionAddUserContact, start)
		out.Accepted, out.Offered = len(accepted), len(offered)
		out.CallRate = callRate(accepted)
		out.MaxWindowAccepted = maxInWindow(accepted, time.Second)
		out.MaxWindowOffered = maxInWindow(offered, time.Second)
		out.Requests, out.Codes = requests(st), st.Codes
		out.RLESeen = rleCount(st.Codes)
		lines := parseLog(f.logs.Bytes(), msgContactOutcome)
		out.Latencies = durations(lines)
		out.Attempts = map[int]int{}
		for _, l := range lines {
			out.Attempts[l.Attempts]++
		}
		return nil
	})
	return out, err
}

// tally counts an invocation's items by outcome; when the invocation gave
// no batch answer at all, every item counts as failed with the reason.
func tally(inv invocation, n int) (ok, failed int, codes map[string]int) {
	codes = map[string]int{}
	if f := inv.failure(); f != "" || inv.answer.Response.Results == nil {
		code := "NoBatchAnswer"
		switch {
		case inv.res.TimedOut:
			code = "TimeLimitReached"
		case inv.answer.Response.Error != nil:
			code = inv.answer.Response.Error.Code
		}
		codes[code] = n
		return 0, n, codes
	}
	for _, r := range inv.answer.Response.Results {
		if r.Error != nil {
			failed++
			codes[r.Error.Code]++
		} else if r.ID != nil {
			ok++
		}
	}
	return ok, failed, codes
}

func requests(st emulator.Stats) map[string]int64 {
	out := map[string]int64{}
	for action, a := range st.Actions {
		out[action] = a.Requests
	}
	return out
}

func rleCount(codes map[string]int64) int64 {
	var n int64
	for c, k := range codes {
		if strings.HasPrefix(c, "RequestLimitExceeded") {
			n += k
		}
	}
	return n
}

// warmResult compares warm single-contact invocations with the same call
// made directly.
type warmResult struct {
	// Invocation holds each warm invocation's duration as the runtime
	// measures it (request sent to answer received); Handler the
	// handler's own duration_ms from its "invocation" log line; Direct the
	// duration of the bench's own AddUserContact call through the same
	// internal/dbbrain client.
	Invocation []time.Duration
	Handler    []time.Duration
	Direct     []time.Duration
	// Failures lists calls that did not succeed at the first attempt.
	Failures []string
}

// Overhead is the warm overhead: median invocation minus median direct call.
func (w warmResult) Overhead() time.Duration {
	return percentile(w.Invocation, 50) - percentile(w.Direct, 50)
}

// warmSpacing separates the calls of the warm comparison so that neither
// the function's limiter (one call per 1/(0.99*rps) s) nor the emulator's
// window ever delays or refuses one: only the work is measured.
const warmSpacing = 120 * time.Millisecond

func (b *bench) warm(ctx context.Context) (warmResult, error) {
	var out warmResult
	err := b.withScenario(ctx, "warm", emulator.Config{RPS: b.opts.rps, Seed: b.opts.seed}, "info", func(up *upstream, f *function) error {
		fnContacts := newContacts("warm", b.opts.warm+1)
		directContacts := newContacts("direct", b.opts.warm+1)
		client, cred := up.client()
		// The first of each warms up: the instance's first invocation and
		// the bench's first connection.
		for i := range b.opts.warm + 1 {
			next := time.Now().Add(warmSpacing)
			inv, err := f.invoke(ctx, singlePayload(fnContacts[i]))
			if err != nil {
				return err
			}
			if fail := inv.failure(); fail != "" || inv.answer.Response.ID == nil {
				out.Failures = append(out.Failures, fmt.Sprintf("invocation %d: %s %v", i, fail, inv.answer.Response.Error))
			} else if i > 0 {
				out.Invocation = append(out.Invocation, inv.res.Duration)
			}
			if err := sleepUntil(ctx, next); err != nil {
				return err
			}
			next = time.Now().Add(warmSpacing)
			c := directContacts[i]
			t0 := time.Now()
			_, err = client.AddUserContact(ctx, cred, c.Name, c.ContactInfo, c.Product)
			d := time.Since(t0)
			if err != nil {
				out.Failures = append(out.Failures, fmt.Sprintf("direct call %d: %v", i, err))
			} else if i > 0 {
				out.Direct = append(out.Direct, d)
			}
			if err := sleepUntil(ctx, next); err != nil {
				return err
			}
		}
		if err := f.Close(); err != nil {
			return err
		}
		lines := parseLog(f.logs.Bytes(), msgInvocation)
		if len(lines) > 1 {
			out.Handler = durations(lines[1:])
		}
		return nil
	})
	return out, err
}

func sleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// faultScenario is one fault kind: the batch twice on one emulator, then
// the checks.
type faultScenario struct {
	Name   string
	Faults emulator.Faults
	Runs   []faultRun
	Check  faultCheck
}

// faultRun is one invocation of the batch.
type faultRun struct {
	Duration    time.Duration
	Failure     string
	Succeeded   int
	Failed      int
	FailedCodes map[string]int
	// Requests and Codes are this run's share of the emulator's counts.
	Requests map[string]int64
	Codes    map[string]int64
	// Retried counts items that took more than one AddUserContact call;
	// Existing those found already registered by the idempotency check.
	Retried  int
	Existing int
	PeakRSS  int64
	ids      map[string]int64
}

// faultCheck is what the emulator holds after both runs.
type faultCheck struct {
	// Listed is DescribeAllUserContact's TotalCount; Stored the count of
	// Contacts().
	Listed int
	Stored int
	// Problems lists every contact missing, duplicated, with a wrong email
	// or id, unexpected, or answered with different ids by the two runs.
	Problems []string
}

// OK reports whether every contact exists exactly once and both runs
// agreed.
func (c faultCheck) OK() bool { return len(c.Problems) == 0 }

func faultKinds(rate float64) []faultScenario {
	return []faultScenario{
		{Name: "InternalError", Faults: emulator.Faults{InternalError: rate}},
		{Name: "Unavailable (HTTP 503)", Faults: emulator.Faults{Unavailable: rate}},
		{Name: "Drop (after create)", Faults: emulator.Faults{Drop: rate}},
		{Name: "Mixed", Faults: emulator.Faults{InternalError: rate / 3, Unavailable: rate / 3, Drop: rate / 3}},
	}
}

// fault runs the batch twice against one emulator that keeps the same
// faults throughout, as a retried invocation meets the same flaky service,
// then lifts the faults and checks what the emulator holds through the API
// and cross-checks with Contacts().
func (b *bench) fault(ctx context.Context, sc faultScenario, logName string) (faultScenario, error) {
	err := b.withScenario(ctx, logName, emulator.Config{RPS: b.opts.rps, Seed: b.opts.seed, Faults: sc.Faults}, "debug", func(up *upstream, f *function) error {
		contacts := newContacts("fault", b.opts.faultBatch)
		payload := batchPayload(contacts)
		logged := 0
		for run := range 2 {
			before := up.emu.Stats()
			inv, err := f.invoke(ctx, payload)
			if err != nil {
				return err
			}
			after := up.emu.Stats()
			r := faultRun{Duration: inv.res.Duration, Failure: inv.failure(), PeakRSS: inv.res.MaxMemoryUsedBytes, ids: map[string]int64{}}
			r.Succeeded, r.Failed, r.FailedCodes = tally(inv, len(contacts))
			for _, it := range inv.answer.Response.Results {
				if it.ID != nil {
					r.ids[it.Name] = *it.ID
				}
			}
			r.Requests, r.Codes = diffRequests(before, after), diffCodes(before.Codes, after.Codes)
			// The lines of this run: the output may trail the answer
			// slightly, so wait for the run's lines for up to a second.
			lines := waitForLines(ctx, f.logs, logged+len(contacts), time.Second)
			for _, l := range lines[min(logged, len(lines)):] {
				if l.Attempts > 1 {
					r.Retried++
				}
				if l.Existing {
					r.Existing++
				}
			}
			logged = len(lines)
			sc.Runs = append(sc.Runs, r)
			b.progress("  %s run %d: %d ok, %d failed, %d calls, %s", sc.Name, run+1, r.Succeeded, r.Failed, total(r.Requests), r.Duration.Round(time.Millisecond))
		}
		if err := up.emu.SetFaults(emulator.Faults{}); err != nil {
			return err
		}
		check, err := verify(ctx, up, contacts, sc.Runs)
		sc.Check = check
		return err
	})
	return sc, err
}

// waitForLines returns the "contact outcome" lines so far once there are at
// least n of them, or whatever there is after wait.
func waitForLines(ctx context.Context, logs *logBuffer, n int, wait time.Duration) []logLine {
	deadline := time.Now().Add(wait)
	for {
		lines := parseLog(logs.Bytes(), msgContactOutcome)
		if len(lines) >= n || time.Now().After(deadline) || ctx.Err() != nil {
			return lines
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// verify checks, through a signed DescribeAllUserContact call, that every
// contact exists exactly once with its email and the id both runs answered,
// that nothing else exists, and that the emulator's own store agrees.
func verify(ctx context.Context, up *upstream, contacts []contactIn, runs []faultRun) (faultCheck, error) {
	client, cred := up.client()
	res, err := client.DescribeAllUserContact(ctx, cred, nil)
	if err != nil {
		return faultCheck{}, fmt.Errorf("listing the contacts: %w", err)
	}
	var check faultCheck
	check.Listed = int(res.TotalCount)
	stored := up.emu.Contacts()
	check.Stored = len(stored)
	problem := func(format string, args ...any) {
		check.Problems = append(check.Problems, fmt.Sprintf(format, args...))
	}
	byName := map[string][]int{}
	for i, c := range res.Contacts {
		byName[c.Name] = append(byName[c.Name], i)
	}
	want := map[string]bool{}
	for _, c := range contacts {
		want[c.Name] = true
		found := byName[c.Name]
		switch {
		case len(found) == 0:
			problem("%s is missing", c.Name)
			continue
		case len(found) > 1:
			problem("%s exists %d times", c.Name, len(found))
		}
		got := res.Contacts[found[0]]
		if !strings.EqualFold(got.Mail, c.ContactInfo) {
			problem("%s has another email", c.Name)
		}
		for i, r := range runs {
			if id, ok := r.ids[c.Name]; ok && id != got.ID {
				problem("%s: run %d answered Id %d, DBbrain lists %d", c.Name, i+1, id, got.ID)
			}
		}
	}
	for name := range byName {
		if !want[name] {
			problem("unexpected contact %s", name)
		}
	}
	if int(res.TotalCount) != len(res.Contacts) {
		problem("TotalCount %d but %d contacts listed", res.TotalCount, len(res.Contacts))
	}
	type row struct {
		id         int64
		name, mail string
	}
	var listed, inStore []row
	for _, c := range res.Contacts {
		listed = append(listed, row{c.ID, c.Name, c.Mail})
	}
	for _, c := range stored {
		inStore = append(inStore, row{c.Id, c.Name, c.Mail})
	}
	byID := func(a, b row) int { return cmp.Compare(a.id, b.id) }
	slices.SortFunc(listed, byID)
	slices.SortFunc(inStore, byID)
	if !slices.Equal(listed, inStore) {
		problem("DescribeAllUserContact (%d contacts) and the emulator's store (%d) disagree", len(listed), len(inStore))
	}
	return check, nil
}

func diffRequests(before, after emulator.Stats) map[string]int64 {
	out := map[string]int64{}
	for action, a := range after.Actions {
		if n := a.Requests - before.Actions[action].Requests; n > 0 {
			out[action] = n
		}
	}
	return out
}

func diffCodes(before, after map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for code, n := range after {
		if d := n - before[code]; d > 0 {
			out[code] = d
		}
	}
	return out
}

func total(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
