package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/scf-dbbrain/addusercontact/internal/kafkatrigger"
	"github.com/scf-dbbrain/addusercontact/internal/testsupport"
)

// consumeMessages is a --produce file: four contacts, a batch of two, a
// blank line and a poison record.
const consumeMessages = `{"Name":"kafka_0001","ContactInfo":"kafka.0001@example.com"}
{"Name":"kafka_0002","ContactInfo":"kafka.0002@example.com"}

not a contact
{"Contacts":[{"Name":"kafka_0003","ContactInfo":"kafka.0003@example.com"},{"Name":"kafka_0004","ContactInfo":"kafka.0004@example.com"}]}
{"Name":"kafka_0005","ContactInfo":"kafka.0005@example.com"}
{"Name":"kafka_0006","ContactInfo":"kafka.0006@example.com"}
`

// The try-out end to end: an embedded topic, the emulator, a file
// published and consumed by the real function, one result line per batch,
// and a summary that finds every contact registered once. A second run of
// a new group over the same contacts registers nothing new.
func TestConsumeEmbedded(t *testing.T) {
	bin := realFunction(t)
	dir := t.TempDir()
	file := writeFile(t, "contacts.txt", consumeMessages)
	state := filepath.Join(dir, "contacts.json")
	results := filepath.Join(dir, "results.jsonl")
	o := runCLI(t, nil, "", "consume", "--embedded-kafka", "--partitions", "2", "--emulator", "--emulator-state", state,
		"--bin", bin, "--produce", file, "--until-idle", "1s", "--progress", "200ms", "--results", results, "--timeout", "10s")
	if o.code != 0 {
		t.Fatalf("exit %d: %v\n%s", o.code, o.err, o.stderr)
	}
	for _, want := range []string{
		"scf-local: embedded Kafka at 127.0.0.1:",
		"topic dba-onboarding with 2 partitions",
		"published 6 messages to dba-onboarding",
		"a new group starts at the earliest offset",
		"every batch acknowledged",
		"contacts registered 6, failed for good 1",
		"AddUserContact 6 accepted",
		"every published contact is registered once: 6 of 6",
	} {
		if !strings.Contains(o.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, o.stderr)
		}
	}
	if !regexp.MustCompile(`(?m)^scf-local: \d+s  p0 `).MatchString(o.stderr) {
		t.Errorf("no progress line:\n%s", o.stderr)
	}
	if o.stdout != "" {
		t.Errorf("stdout %q, want nothing without --results -", o.stdout)
	}
	var records int
	for _, line := range strings.Split(strings.TrimSpace(consumeReadFile(t, results)), "\n") {
		var r kafkatrigger.BatchResult
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.Outcome != kafkatrigger.OutcomeAcknowledged || !r.Committed {
			t.Errorf("result line %s (%v)", line, err)
		}
		records += r.Records
	}
	if records != 6 {
		t.Errorf("results cover %d records, want 6", records)
	}

	again := runCLI(t, nil, "", "consume", "--embedded-kafka", "--partitions", "2", "--emulator", "--emulator-state", state,
		"--bin", bin, "--produce", file, "--until-idle", "1s", "--progress", "0", "--group", "another", "--offset", "earliest", "--results", "-")
	if again.code != 0 || !strings.Contains(again.stderr, "AddUserContact 0 accepted") || !strings.Contains(again.stderr, "every published contact is registered once: 6 of 6") {
		t.Errorf("second run: exit %d, want 0 and no AddUserContact:\n%s", again.code, again.stderr)
	}
	if n := strings.Count(again.stdout, `"outcome":"acknowledged"`); n == 0 || n != strings.Count(again.stdout, "\n") {
		t.Errorf("--results - wrote %q", again.stdout)
	}
}

// A batch the function keeps failing (here its keys are wrong, a failure a
// redelivery might fix) is skipped after --retry, loudly, with exit 3.
func TestConsumeSkipsWithExit3(t *testing.T) {
	o := runCLI(t, nil, "", "consume", "--embedded-kafka", "--partitions", "1", "--emulator", "--env", envSecretKey+"=wrong",
		"--bin", realFunction(t), "--generate", "3", "--retry", "1", "--until-idle", "1s", "--progress", "0")
	if o.code != exitFunctionError {
		t.Fatalf("exit %d, want %d:\n%s", o.code, exitFunctionError, o.stderr)
	}
	for _, want := range []string{"offsets 0-2: SKIPPED after 2 attempts (retry 1)", "batches skipped 1 (3 records)", "AddUserContact 0 accepted"} {
		if !strings.Contains(o.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, o.stderr)
		}
	}
}

// Any cluster, here one that wants SASL PLAIN: --brokers, --topic and the
// password from the environment; a wrong password fails the command.
func TestConsumeBrokersWithSASL(t *testing.T) {
	c, err := kafkatrigger.Embedded("hr-events", 1, kfake.EnableSASL(), kfake.Superuser("PLAIN", "ckafka-x#hr", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()[0]
	args := []string{"consume", "--brokers", brokers, "--topic", "hr-events", "--sasl-user", "ckafka-x#hr", "--emulator",
		"--bin", realFunction(t), "--generate", "2", "--until-idle", "1s", "--progress", "0"}
	o := runCLI(t, map[string]string{saslPasswordVar: "s3cret"}, "", args...)
	if o.code != 0 || !strings.Contains(o.stderr, "every published contact is registered once: 2 of 2") {
		t.Fatalf("exit %d: %v\n%s", o.code, o.err, o.stderr)
	}
	start := time.Now()
	bad := runCLI(t, nil, "", append(args, "--sasl-password", "wrong", "--connect-timeout", "1s")...)
	if bad.code != exitFailure || !strings.Contains(bad.stderr, "no answer from Kafka at "+brokers+" within 1s") || time.Since(start) > 10*time.Second {
		t.Errorf("wrong password: exit %d after %v:\n%s", bad.code, time.Since(start), bad.stderr)
	}
}

func TestConsumeUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--brokers", "127.0.0.1:9092"},
		{"--brokers", "127.0.0.1:9092", "--topic", "t", "--embedded-kafka"},
		{"--embedded-kafka", "--tls"},
		{"--embedded-kafka", "--sasl-user", "u"},
		{"--brokers", "127.0.0.1:9092", "--topic", "t", "--partitions", "3"},
		{"--embedded-kafka", "--max-msg", "0"},
		{"--embedded-kafka", "--max-msg", "10001"},
		{"--embedded-kafka", "--retry", "-1"},
		{"--embedded-kafka", "--offset", "newest"},
		{"--embedded-kafka", "--generate", "2", "--produce", "f"},
		{"--brokers", "127.0.0.1:9092", "--topic", "t", "--sasl-password", "p"},
		{"--embedded-kafka", "stray"},
	} {
		o := runCLI(t, nil, "", append([]string{"consume"}, args...)...)
		if o.code != exitUsage {
			t.Errorf("consume %q: exit %d, want %d:\n%s", args, o.code, exitUsage, o.stderr)
		}
	}
	o := runCLI(t, nil, "", "consume", "--embedded-kafka", "--produce", "-", "--bin", fixtureBin)
	if o.code != exitUsage || !strings.Contains(o.stderr, "no messages") {
		t.Errorf("an empty --produce: exit %d:\n%s", o.code, o.stderr)
	}
	// A --produce file that cannot be read is a bad argument, as invoke's
	// --event is: a missing file, and a directory, which opens but fails to
	// read.
	for file, want := range map[string]string{filepath.Join(t.TempDir(), "absent.txt"): "no such file", t.TempDir(): "is a directory"} {
		o := runCLI(t, nil, "", "consume", "--embedded-kafka", "--produce", file, "--bin", fixtureBin)
		if o.code != exitUsage || !strings.Contains(o.stderr, "--produce") || !strings.Contains(o.stderr, want) {
			t.Errorf("--produce %s: exit %d, want %d and %q:\n%s", file, o.code, exitUsage, want, o.stderr)
		}
	}
	if o := runCLI(t, nil, "", "consume", "-h"); o.code != 0 || !strings.Contains(o.stderr, "--until-idle") || !strings.Contains(o.stderr, "Exit status: 0 every batch acknowledged") {
		t.Errorf("consume -h: exit %d:\n%s", o.code, o.stderr)
	}
}

// Interrupted (SIGINT cancels run's context) with a batch in flight on each
// partition, consume says so, counts those batches unfinished, and exits
// 3: every batch the run took was not acknowledged. The next run delivers
// them again from the committed offsets.
func TestConsumeInterruptedWithBatchesInFlight(t *testing.T) {
	bin := realFunction(t)
	ctx, interrupt := context.WithCancel(t.Context())
	defer interrupt()
	var stdout, stderr testsupport.Buffer
	done := make(chan error, 1)
	go func() {
		// 200 contacts at the emulator's 20 calls per second take seconds:
		// the batches are still in flight when the test interrupts.
		done <- run(ctx, []string{"scf-local", "consume", "--embedded-kafka", "--partitions", "2", "--emulator", "--bin", bin,
			"--generate", "200", "--timeout", "120s", "--progress", "0", "--function-log", "-", "--results", "-"},
			func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
	}()
	for deadline := time.Now().Add(30 * time.Second); strings.Count(stderr.String(), "START RequestId:") < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			interrupt()
			<-done
			t.Fatalf("no invocation on both partitions:\n%s", stderr.String())
		}
	}
	interrupt()
	err := <-done
	var reported bytes.Buffer
	if code := exitCode(err, &reported); code != exitFunctionError {
		t.Errorf("exit %d (%v), want %d", code, err, exitFunctionError)
	}
	out := stderr.String()
	if strings.Contains(out, "every batch acknowledged") {
		t.Errorf("an interrupted run with batches in flight says every batch was acknowledged:\n%s", out)
	}
	for _, want := range []string{
		"0 records in 0 batches; interrupted; batches skipped 0 (0 records), still failing 0, unfinished ",
		" (200 records), delivered again by the next run: exit status 3",
		"partition 0: offset 0/", "partition 1: offset 0/",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
	}
	if n := regexp.MustCompile(`, unfinished offsets 0-\d+\n`).FindAllString(out, -1); len(n) != 2 {
		t.Errorf("%d partitions with unfinished offsets, want 2:\n%s", len(n), out)
	}
	var records int
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var r kafkatrigger.BatchResult
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.Outcome != kafkatrigger.OutcomeUnfinished || r.Committed {
			t.Errorf("result line %s (%v), want unfinished and not committed", line, err)
		}
		records += r.Records
	}
	if records != 200 {
		t.Errorf("the results' unfinished batches hold %d records, want 200:\n%s", records, stdout.String())
	}
}

// The end of a run as the summary and the exit status see it: an
// interrupt with nothing in flight is a clean stop; a batch abandoned in a
// partition a rebalance took away is the new owner's; the batches a
// partition abandoned after its last one done with are unfinished.
func TestConsumeEnd(t *testing.T) {
	unfinished := func(p int32, first, last int64) kafkatrigger.BatchResult {
		return kafkatrigger.BatchResult{Partition: p, FirstOffset: first, LastOffset: last, Records: int(last - first + 1), Outcome: kafkatrigger.OutcomeUnfinished}
	}
	s := kafkatrigger.Stats{Records: 10, Batches: 1, Partitions: []kafkatrigger.PartitionStats{
		{Partition: 0, Assigned: true, Offset: 10, HighWater: 10, Batches: 1},
		{Partition: 1, Assigned: false, Offset: 0, HighWater: 50},
		{Partition: 2, Assigned: true, Offset: 0, HighWater: 30},
	}}
	summary := func(end consumeEnd) string {
		var b bytes.Buffer
		(&consumeProgress{w: &b}).summary(s, end, nil)
		return b.String()
	}

	clean := endOf(s, map[int32]map[int64]kafkatrigger.BatchResult{1: {0: unfinished(1, 0, 49)}}, true)
	if !clean.acknowledged(s) {
		t.Errorf("a batch of a revoked partition counted as this run's: %+v", clean)
	}
	if got := summary(clean); !strings.Contains(got, "10 records in 1 batches; interrupted; every batch acknowledged\n") {
		t.Errorf("a clean interrupt's summary:\n%s", got)
	}

	cut := endOf(s, map[int32]map[int64]kafkatrigger.BatchResult{2: {0: unfinished(2, 0, 19), 20: unfinished(2, 20, 29)}}, true)
	if cut.acknowledged(s) || cut.batches != 2 || cut.records != 30 {
		t.Errorf("two batches abandoned in partition 2: %+v", cut)
	}
	got := summary(cut)
	for _, want := range []string{
		"10 records in 1 batches; interrupted; batches skipped 0 (0 records), still failing 0, unfinished 2 (30 records), delivered again by the next run: exit status 3\n",
		"partition 0: offset 10/10; batches 1, retried 0, skipped 0\n",
		"partition 2: offset 0/30; batches 0, retried 0, skipped 0, unfinished offsets 0-29\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
}

func TestReadTopicMessages(t *testing.T) {
	recs, names, err := readTopicMessages("-", strings.NewReader(consumeMessages))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range recs {
		keys = append(keys, string(r.Key))
	}
	if want := "kafka_0001 kafka_0002 line-4 line-5 kafka_0005 kafka_0006"; strings.Join(keys, " ") != want {
		t.Errorf("keys %q, want %q", keys, want)
	}
	if string(recs[2].Value) != "not a contact" {
		t.Errorf("the poison record is %q", recs[2].Value)
	}
	if want := "kafka_0001 kafka_0002 kafka_0003 kafka_0004 kafka_0005 kafka_0006"; strings.Join(names, " ") != want {
		t.Errorf("names %q", names)
	}
	gen, gnames := generateContacts(12)
	if len(gen) != 12 || gnames[11] != "onboard_0012" || string(gen[0].Value) != `{"ContactInfo":"onboard.0001@example.com","Name":"onboard_0001"}` {
		t.Errorf("generated %d, last %q, first %s", len(gen), gnames[11], gen[0].Value)
	}
}

func TestConsumeProgressLine(t *testing.T) {
	var p consumeProgress
	s := kafkatrigger.Stats{Elapsed: 12 * time.Second, Joined: true, Registered: 240, FailedForGood: 1, Partitions: []kafkatrigger.PartitionStats{
		{Partition: 0, Assigned: true, Offset: 125, HighWater: 250, Retried: 2},
		{Partition: 1, Assigned: true, Offset: 100, HighWater: 250, Retried: 1, Failing: true, Attempts: 3},
		{Partition: 2, Assigned: true, Offset: -1, HighWater: -1},
		{Partition: 3},
	}}
	want := "scf-local: 12s  p0 125/250 (2 retried)  p1 100/250 (1 retried, failing, attempt 3)  p2 - | contacts registered 240, failed for good 1 | 20.0 contacts/s over the run, against a limit of 20 calls/s"
	if got := p.line(s, time.Now()); got != want {
		t.Errorf("progress line\n got %s\nwant %s", got, want)
	}
}

func consumeReadFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
