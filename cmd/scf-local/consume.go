package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/emulator"
	"github.com/scf-dbbrain/addusercontact/internal/kafkatrigger"
	"github.com/scf-dbbrain/addusercontact/internal/redact"
	"github.com/scf-dbbrain/addusercontact/internal/scflocal"
)

const consumeUsage = `Usage: scf-local consume [flags]: the CKafka trigger, run locally against a real
Kafka protocol. It consumes a topic as a consumer group and invokes the function
with each partition's records in the CKafka event shape: one instance per
partition, partitions in parallel, records in order within a partition, batches
of up to --max-msg; after a function error (a timeout, a dead process) the same
batch again on a fresh instance, up to --retry times, while the partition
waits; offsets committed only after the function succeeded.

  scf-local consume --embedded-kafka --emulator --produce contacts.txt --until-idle 3s
  scf-local consume --brokers HOST:PORT --topic T --sasl-user ID#USER --tls --env-file E

Progress and a summary go to stderr; the function's own output only with
--function-log; one JSON line per batch with --results.
`

const consumeStatuses = `Exit status: 0 every batch acknowledged; 1 scf-local failed (Kafka unreachable, no
such topic, no binary); 2 bad usage (a --produce file that cannot be read
included); 3 a batch was skipped after its retries, or still failing when
--until-idle ended the run, or left unfinished in flight by an interrupt, or the
first instance died starting.
`

// consumeFlags are consume's own flags; the function's are functionFlags.
type consumeFlags struct {
	brokers, topic, group     string
	saslUser, saslPassword    string
	tls, embedded             bool
	partitions, maxMsg, retry int
	generate                  int
	offset, produce, results  string
	functionLog               string
	untilIdle, progressEvery  time.Duration
	explicit                  map[string]bool // the flags given on the command line
	start                     kafkatrigger.StartOffset
	messages                  []*kgo.Record // --produce's, read before anything starts
	published                 []string      // the contacts' names in them
	connectTimeout            time.Duration
	conn                      kafkatrigger.Conn
}

// The defaults of --topic (with --embedded-kafka) and --group.
const (
	consumeTopic = "dba-onboarding"
	consumeGroup = "scf-local"
)

// saslPasswordVar is read when --sasl-password is not given, so that the
// password need not show in the process list.
const saslPasswordVar = "SCF_LOCAL_SASL_PASSWORD"

func (c *consumeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.brokers, "brokers", "", "the Kafka cluster's bootstrap `HOST:PORT[,…]` (a CKafka instance's public access point)")
	fs.StringVar(&c.topic, "topic", "", "the `topic` to consume (default "+consumeTopic+" with --embedded-kafka)")
	fs.StringVar(&c.group, "group", consumeGroup, "the consumer `group`, the trigger's consumerGroupName: its committed offsets say where a run resumes")
	fs.StringVar(&c.saslUser, "sasl-user", "", "SASL PLAIN `user`; for CKafka, INSTANCEID#USERNAME")
	fs.StringVar(&c.saslPassword, "sasl-password", "", "SASL PLAIN `password` (default $"+saslPasswordVar+"; prefer the variable: arguments show in process lists)")
	fs.BoolVar(&c.tls, "tls", false, "connect over TLS (SASL_SSL), trusting the system's roots")
	fs.DurationVar(&c.connectTimeout, "connect-timeout", kafkatrigger.DefaultConnectTimeout, "how long the cluster may take to answer the first request; a wrong address or password fails then")
	fs.BoolVar(&c.embedded, "embedded-kafka", false, "start an in-process Kafka cluster on a free loopback port, print its address, and stop it with the command")
	fs.IntVar(&c.partitions, "partitions", 4, "with --embedded-kafka: the topic's `number` of partitions")
	fs.StringVar(&c.produce, "produce", "", "publish this `file` first (- for stdin): one message per line, a contact or a {\"Contacts\":[…]} batch, keyed by the contact's name so that they spread over the partitions")
	fs.IntVar(&c.generate, "generate", 0, "publish `N` generated contacts first (onboard_0001 …), one message each, keyed by name")
	fs.IntVar(&c.maxMsg, "max-msg", kafkatrigger.DefaultMaxMsg, fmt.Sprintf("most records in a batch, the trigger's maxMsgNum: 1 to %d", kafkatrigger.MaxMaxMsg))
	fs.IntVar(&c.retry, "retry", kafkatrigger.DefaultRetry, "how many times a failed batch is delivered again before it is skipped, the trigger's retry")
	fs.StringVar(&c.offset, "offset", "", "where a consumer group without committed offsets starts: `earliest|latest` (default latest, the trigger's; earliest with --embedded-kafka or --produce)")
	fs.DurationVar(&c.untilIdle, "until-idle", 0, "stop once every partition has been idle this `long` (default: run until interrupted)")
	fs.StringVar(&c.results, "results", "", "write one JSON line per batch to this `file` (- for stdout)")
	fs.StringVar(&c.functionLog, "function-log", "", "write the function's output and the platform lines (START, END, Report) to this `file` (- for stderr); by default they are dropped")
	fs.DurationVar(&c.progressEvery, "progress", 2*time.Second, "print progress this `often` (0: only the summary)")
}

func (c *consumeFlags) check(fs *flag.FlagSet, getenv func(string) string) error {
	c.explicit = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { c.explicit[f.Name] = true })
	switch {
	case c.embedded == (c.brokers != ""):
		return usageError("give either --brokers (with --topic) or --embedded-kafka")
	case !c.embedded && c.topic == "":
		return usageError("--brokers needs --topic")
	case c.embedded && (c.saslUser != "" || c.explicit["sasl-password"] || c.tls):
		return usageError("--sasl-user, --sasl-password and --tls are for --brokers; the embedded cluster takes neither")
	case !c.embedded && c.explicit["partitions"]:
		return usageError("--partitions is for --embedded-kafka; a cluster's topic has its own")
	case c.partitions < 1 || c.partitions > 1000:
		return usageError("--partitions must be 1 to 1000")
	case c.maxMsg < 1 || c.maxMsg > kafkatrigger.MaxMaxMsg:
		return usageError("--max-msg must be 1 to %d", kafkatrigger.MaxMaxMsg)
	case c.retry < 0 || c.untilIdle < 0 || c.progressEvery < 0 || c.connectTimeout <= 0:
		return usageError("--retry, --until-idle and --progress must not be negative, --connect-timeout must be positive")
	case c.generate < 0 || c.generate > 1_000_000:
		return usageError("--generate must be 0 to 1000000")
	case c.generate > 0 && c.produce != "":
		return usageError("give --generate or --produce, not both")
	case c.saslPassword != "" && c.saslUser == "":
		return usageError("--sasl-password needs --sasl-user")
	}
	if c.topic == "" {
		c.topic = consumeTopic
	}
	if c.saslUser != "" && c.saslPassword == "" {
		c.saslPassword = getenv(saslPasswordVar)
	}
	c.start = kafkatrigger.Latest
	switch {
	case c.offset != "":
		o, err := kafkatrigger.ParseStartOffset(c.offset)
		if err != nil {
			return usageError("--offset: %v", err)
		}
		c.start = o
	case c.embedded || c.produce != "" || c.generate > 0:
		// Their messages are published before the group starts, which
		// "latest" would skip.
		c.start = kafkatrigger.Earliest
	}
	c.conn = kafkatrigger.Conn{Opts: kafkatrigger.Security(c.saslUser, c.saslPassword, c.tls), Timeout: c.connectTimeout}
	for b := range strings.SplitSeq(c.brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			c.conn.Brokers = append(c.conn.Brokers, b)
		}
	}
	return nil
}

func runConsume(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) (err error) {
	var f functionFlags
	var c consumeFlags
	fs := newFlags("consume", consumeUsage+functionUsage+consumeStatuses, stderr)
	f.register(fs, getenv)
	c.register(fs)
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	if err := c.check(fs, getenv); err != nil {
		return err
	}
	if c.produce != "" {
		if c.messages, c.published, err = readTopicMessages(c.produce, stdin); err != nil {
			return err
		}
	}
	if c.generate > 0 {
		c.messages, c.published = generateContacts(c.generate)
	}
	fnLog, closeLog, err := openOutput(c.functionLog, stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	if fnLog == nil {
		fnLog = io.Discard
	}
	results, closeResults, err := openOutput(c.results, stdout)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeResults(); cerr != nil && err == nil {
			err = fmt.Errorf("--results: %w", cerr)
		}
	}()

	if c.embedded {
		cluster, err := kafkatrigger.Embedded(c.topic, c.partitions)
		if err != nil {
			return err
		}
		defer cluster.Close()
		c.conn.Brokers = cluster.ListenAddrs()
		fmt.Fprintf(stderr, "scf-local: embedded Kafka at %s: topic %s with %d partitions (any Kafka client can publish to it while this runs)\n",
			strings.Join(c.conn.Brokers, ","), c.topic, c.partitions)
	}
	emu, err := startConsumeEmulator(ctx, &f, fnLog, stderr)
	if err != nil {
		return err
	}
	defer emu.stop()
	if c.functionLog == "" {
		fmt.Fprintln(stderr, "scf-local: the function's own output is not shown; --function-log FILE keeps it")
	}
	// One instance now, so that a binary that cannot start fails the
	// command at once; the first partition gets it.
	rt, stopFirst, err := f.start(ctx, getenv, fnLog)
	if err != nil {
		return err
	}
	launcher := &consumeLauncher{f: f, getenv: getenv, log: fnLog, spare: &consumeInstance{rt: rt, stop: stopFirst}}
	defer launcher.close()

	if len(c.messages) > 0 {
		if c.start == kafkatrigger.Latest {
			fmt.Fprintln(stderr, "scf-local: note: with --offset latest, a group without committed offsets skips what is published before it joins, this file included")
		}
		if err := kafkatrigger.Publish(ctx, c.conn, c.topic, c.messages); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "scf-local: published %d messages to %s\n", len(c.messages), c.topic)
	}
	var resultsErr error
	var enc *json.Encoder
	if results != nil {
		enc = json.NewEncoder(results)
	}
	// Stats counts no abandoned batch, so they are kept here, by partition
	// and first offset, until one of the partition's batches is done with:
	// the summary needs those the run left in flight.
	abandoned := map[int32]map[int64]kafkatrigger.BatchResult{}
	cfg := kafkatrigger.Config{Conn: c.conn, Topic: c.topic, Group: c.group, Start: c.start,
		MaxMsg: c.maxMsg, Retry: c.retry, UntilIdle: c.untilIdle, Launcher: launcher,
		Logf: func(format string, args ...any) { fmt.Fprintf(stderr, "scf-local: "+format+"\n", args...) },
		OnBatch: func(r kafkatrigger.BatchResult) {
			switch {
			case r.Outcome != kafkatrigger.OutcomeUnfinished:
				delete(abandoned, r.Partition)
			case abandoned[r.Partition] == nil:
				abandoned[r.Partition] = map[int64]kafkatrigger.BatchResult{r.FirstOffset: r}
			default:
				abandoned[r.Partition][r.FirstOffset] = r
			}
			if enc == nil {
				return
			}
			if err := enc.Encode(r); err != nil && resultsErr == nil {
				resultsErr = err
			}
		}}
	tr, err := kafkatrigger.New(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "scf-local: consuming %s as group %s (a new group starts at the %s offset), batches of up to %d, retry %d\n",
		c.topic, c.group, c.start, c.maxMsg, c.retry)
	prog := &consumeProgress{w: stderr, emu: emu.server}
	stopProgress := prog.every(c.progressEvery, tr.Stats)
	stats, err := tr.Run(ctx)
	stopProgress()
	if err != nil {
		return err
	}
	// Run returns once its workers have stopped: abandoned is complete.
	end := endOf(stats, abandoned, ctx.Err() != nil)
	prog.summary(stats, end, c.published)
	if resultsErr != nil {
		return fmt.Errorf("--results: %w", resultsErr)
	}
	if !end.acknowledged(stats) {
		return &exitError{code: exitFunctionError}
	}
	return nil
}

// consumeEnd is how a run ended, beyond the trigger's Stats: whether a
// signal ended it, and the batches it left unfinished, in flight when it
// ended (still failing, or cut off by the interrupt). Those are delivered
// again by the next run, from the committed offsets.
type consumeEnd struct {
	interrupted bool
	batches     int                // unfinished
	records     int                // in them
	offsets     map[int32][2]int64 // each partition's first and last unfinished offset
}

// endOf counts the unfinished batches: those abandoned after a partition's
// last batch done with, in the partitions the member still owned at the
// end. An interrupt can abandon more than one batch of a partition: the
// one in flight and the next, already taken. A batch abandoned because a
// rebalance gave its partition to another member is that member's to
// deliver, and is not counted, unless the partition came back and the run
// ended before it was done with.
func endOf(s kafkatrigger.Stats, abandoned map[int32]map[int64]kafkatrigger.BatchResult, interrupted bool) consumeEnd {
	end := consumeEnd{interrupted: interrupted, offsets: map[int32][2]int64{}}
	for _, ps := range s.Partitions {
		if !ps.Assigned || len(abandoned[ps.Partition]) == 0 {
			continue
		}
		first, last := int64(math.MaxInt64), int64(-1)
		for _, r := range abandoned[ps.Partition] {
			end.batches++
			end.records += r.Records
			first, last = min(first, r.FirstOffset), max(last, r.LastOffset)
		}
		end.offsets[ps.Partition] = [2]int64{first, last}
	}
	return end
}

// acknowledged reports whether the run acknowledged every batch it took:
// none skipped, none failing, none left unfinished. An interrupt with
// nothing in flight is a clean stop, the way a run without --until-idle
// ends.
func (e consumeEnd) acknowledged(s kafkatrigger.Stats) bool {
	return s.AllAcknowledged() && e.batches == 0
}

// readTopicMessages reads --produce's file: one message per non-blank line,
// sent as it is (a line that is not a contact is the poison record it
// looks like). A contact is keyed by its name, so that one person's
// messages stay in order on one partition; other lines by their number.
// names are the contacts' names, a batch's included.
func readTopicMessages(name string, stdin io.Reader) (recs []*kgo.Record, names []string, err error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			// A file that cannot be read is a bad argument, as for
			// invoke's --event.
			return nil, nil, &exitError{code: exitUsage, err: fmt.Errorf("--produce: %w", err)}
		}
		defer f.Close()
		r = f
	}
	type contactLine struct {
		Name     *string
		Contacts []struct{ Name string }
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20) // Kafka's default largest message
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		key := fmt.Sprintf("line-%d", n)
		var cl contactLine
		if json.Unmarshal([]byte(line), &cl) == nil {
			if cl.Name != nil {
				key = *cl.Name
				names = append(names, *cl.Name)
			}
			for _, c := range cl.Contacts {
				names = append(names, c.Name)
			}
		}
		recs = append(recs, &kgo.Record{Key: []byte(key), Value: []byte(line)})
	}
	switch err := sc.Err(); {
	case err != nil && name != "-":
		// A directory opens, and fails at the first read.
		return nil, nil, &exitError{code: exitUsage, err: fmt.Errorf("--produce %s: %w", name, err)}
	case err != nil:
		return nil, nil, fmt.Errorf("--produce %s: %w", name, err)
	}
	if len(recs) == 0 {
		return nil, nil, usageError("--produce %s: no messages", name)
	}
	return recs, names, nil
}

// generateContacts makes n contacts, one message each, keyed by name. The
// names have a fixed width, so that none is a substring of another, which
// DescribeAllUserContact's fuzzy match would also return.
func generateContacts(n int) (recs []*kgo.Record, names []string) {
	width := len(fmt.Sprint(n))
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("onboard_%0*d", max(width, 4), i)
		line, _ := json.Marshal(map[string]string{"Name": name, "ContactInfo": fmt.Sprintf("onboard.%0*d@example.com", max(width, 4), i)}) // strings only: cannot fail
		recs, names = append(recs, &kgo.Record{Key: []byte(name), Value: line}), append(names, name)
	}
	return recs, names
}

// openOutput opens an optional output: "" is none (nil), "-" the given
// stream, anything else a file created afresh.
func openOutput(name string, std io.Writer) (io.Writer, func() error, error) {
	switch name {
	case "":
		return nil, func() error { return nil }, nil
	case "-":
		return std, func() error { return nil }, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}

// consumeEmulator is the DBbrain emulator that --emulator starts, shared by
// every instance; server is nil without --emulator.
type consumeEmulator struct {
	server *emulator.Server
	stop   func()
}

// startConsumeEmulator starts one emulator for all instances, where
// functionFlags.start would start one per instance, and hands its key and
// address to the instances as --env entries. As for invoke, --env-file
// values win over the emulator's, and --env values over both.
func startConsumeEmulator(ctx context.Context, f *functionFlags, log, stderr io.Writer) (consumeEmulator, error) {
	if !f.emulator {
		return consumeEmulator{stop: func() {}}, nil
	}
	key := emulator.NewTemporaryKey(f.cfg.Uin)
	emu, err := emulator.Start(ctx, "127.0.0.1:0", emulator.Config{Keys: []emulator.Key{key}, StatePath: f.state,
		Logger: redact.NewLogger(log, slog.LevelInfo).With("component", "dbbrain-local")})
	if err != nil {
		return consumeEmulator{}, fmt.Errorf("start the DBbrain emulator: %w", err)
	}
	fmt.Fprintf(stderr, "scf-local: DBbrain emulator at %s (temporary key %s)\n", emu.URL, key.SecretID)
	fromFiles := map[string]bool{}
	for _, path := range f.envFiles {
		entries, _ := readEnvFile(path) // an unreadable file fails the instance's start, with its error
		for k := range entries {
			fromFiles[k] = true
		}
	}
	var env [][2]string
	for _, kv := range [][2]string{{envSecretID, key.SecretID}, {envSecretKey, key.SecretKey}, {envToken, key.Token}, {"DBBRAIN_ENDPOINT", emu.URL}} {
		if !fromFiles[kv[0]] {
			env = append(env, kv)
		}
	}
	f.env, f.emulator = append(env, f.env...), false
	return consumeEmulator{server: emu.Server, stop: func() {
		if err := emu.Stop(); err != nil {
			fmt.Fprintf(stderr, "scf-local: stop the emulator: %v\n", err)
		}
	}}, nil
}

// consumeLauncher starts the trigger's instances as invoke starts its one.
type consumeLauncher struct {
	f      functionFlags
	getenv func(string) string
	log    io.Writer

	mu    sync.Mutex
	spare *consumeInstance // started up front, for the first partition
}

// Launch starts an instance for a partition.
func (l *consumeLauncher) Launch(ctx context.Context, _ int32) (kafkatrigger.Instance, error) {
	l.mu.Lock()
	in := l.spare
	l.spare = nil
	l.mu.Unlock()
	if in != nil {
		return in, nil
	}
	rt, stop, err := l.f.start(ctx, l.getenv, l.log)
	if err != nil {
		return nil, err
	}
	return &consumeInstance{rt: rt, stop: stop}, nil
}

// close stops the spare instance, if no partition took it.
func (l *consumeLauncher) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.spare != nil {
		l.spare.stop()
		l.spare = nil
	}
}

// consumeInstance is one scflocal instance as the trigger sees it.
type consumeInstance struct {
	rt   *scflocal.Runtime
	stop func()
}

// Invoke sends one CKafka event; the process dying is an error, as it is
// for the trigger.
func (i *consumeInstance) Invoke(ctx context.Context, event []byte) (kafkatrigger.Reply, error) {
	res, err := i.rt.Invoke(ctx, event)
	if err != nil {
		return kafkatrigger.Reply{}, err
	}
	if fe := res.FunctionError; fe != nil {
		return kafkatrigger.Reply{Error: &kafkatrigger.FunctionError{Type: fe.Type, Message: fe.Message, TimedOut: res.TimedOut}}, nil
	}
	return kafkatrigger.Reply{Payload: res.Payload}, nil
}

// Close stops the instance's process.
func (i *consumeInstance) Close() error {
	i.stop()
	return nil
}

// consumeProgress prints the trigger's progress and summary for a person
// watching: per partition the offset reached and the batches retried, over
// all the contacts registered and failed for good, and the pace against
// the account's limit: AddUserContact calls when the emulator runs here,
// else contacts answered registered per second.
type consumeProgress struct {
	w   io.Writer
	emu *emulator.Server // nil without --emulator
}

// rateWindow is how far back the progress line's rate of calls looks.
const rateWindow = 5 * time.Second

// every prints a progress line every d until the returned stop is called.
func (p *consumeProgress) every(d time.Duration, stats func() kafkatrigger.Stats) (stop func()) {
	if d <= 0 {
		return func() {}
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(d)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				fmt.Fprintln(p.w, p.line(stats(), now))
			}
		}
	}()
	return sync.OnceFunc(func() {
		close(done)
		<-stopped
	})
}

// line is one progress line.
func (p *consumeProgress) line(s kafkatrigger.Stats, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "scf-local: %s", s.Elapsed.Round(time.Second))
	if !s.Joined {
		b.WriteString("  joining the consumer group…")
	}
	for _, ps := range s.Partitions {
		if !ps.Assigned {
			continue
		}
		fmt.Fprintf(&b, "  p%d %s", ps.Partition, partitionPosition(ps))
		var notes []string
		if ps.Retried > 0 {
			notes = append(notes, fmt.Sprintf("%d retried", ps.Retried))
		}
		if ps.Skipped > 0 {
			notes = append(notes, fmt.Sprintf("%d skipped", ps.Skipped))
		}
		if ps.Failing {
			notes = append(notes, fmt.Sprintf("failing, attempt %d", ps.Attempts))
		}
		if len(notes) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(notes, ", "))
		}
	}
	fmt.Fprintf(&b, " | contacts registered %d, failed for good %d", s.Registered, s.FailedForGood)
	if p.emu != nil {
		st := p.emu.Stats().Actions[dbbrain.ActionAddUserContact]
		var recent int
		for _, at := range st.Accepted {
			if now.Sub(at) < rateWindow {
				recent++
			}
		}
		rate := float64(recent) / min(rateWindow, max(s.Elapsed, time.Second)).Seconds()
		fmt.Fprintf(&b, " | AddUserContact %.1f/s = %.2f of the %d/s limit, %d refused", rate, rate/dbbrain.RateLimit, dbbrain.RateLimit, len(st.Refused))
	} else if s.Elapsed > 0 {
		// Answers come in bursts, at the end of invocations: only the
		// whole run's average says something. It is not a rate of calls:
		// a contact found registered already costs none.
		rate := float64(s.Registered) / s.Elapsed.Seconds()
		fmt.Fprintf(&b, " | %.1f contacts/s over the run, against a limit of %d calls/s", rate, dbbrain.RateLimit)
	}
	return b.String()
}

// partitionPosition is "offset/end", or what is known of it.
func partitionPosition(ps kafkatrigger.PartitionStats) string {
	switch {
	case ps.Offset < 0 && ps.HighWater < 0:
		return "-"
	case ps.Offset < 0:
		return fmt.Sprintf("-/%d", ps.HighWater)
	case ps.HighWater < 0:
		return fmt.Sprint(ps.Offset)
	}
	return fmt.Sprintf("%d/%d", ps.Offset, ps.HighWater)
}

// summary prints the end of the run. published are the contacts --produce
// or --generate sent, which the emulator, when it runs here, must hold once
// each.
func (p *consumeProgress) summary(s kafkatrigger.Stats, end consumeEnd, published []string) {
	w := p.w
	verdict := "every batch acknowledged"
	if !end.acknowledged(s) {
		verdict = fmt.Sprintf("batches skipped %d (%d records), still failing %d", s.Skipped, s.SkippedRecords, s.Failing)
		if end.batches > 0 {
			// The failing ones are among them: they are in flight too.
			verdict += fmt.Sprintf(", unfinished %d (%d records), delivered again by the next run", end.batches, end.records)
		}
		verdict += fmt.Sprintf(": exit status %d", exitFunctionError)
	}
	if end.interrupted {
		verdict = "interrupted; " + verdict
	}
	fmt.Fprintf(w, "scf-local: summary after %s: %d records in %d batches; %s\n", s.Elapsed.Round(10*time.Millisecond), s.Records, s.Batches+s.Skipped, verdict)
	for _, ps := range s.Partitions {
		var unfinished string
		if o, ok := end.offsets[ps.Partition]; ok {
			unfinished = fmt.Sprintf(", unfinished offsets %d-%d", o[0], o[1])
		}
		fmt.Fprintf(w, "scf-local:   partition %d: offset %s; batches %d, retried %d, skipped %d%s\n", ps.Partition, partitionPosition(ps), ps.Batches, ps.Retried, ps.Skipped, unfinished)
	}
	fmt.Fprintf(w, "scf-local: contacts registered %d, failed for good %d; batches retried %d (failed attempts %d)\n",
		s.Registered, s.FailedForGood, s.Retried, s.FailedAttempts)
	if p.emu == nil {
		return
	}
	st := p.emu.Stats()
	add, look := st.Actions[dbbrain.ActionAddUserContact], st.Actions[dbbrain.ActionDescribeAllUserContact]
	rate := acceptedRate(add.Accepted)
	fmt.Fprintf(w, "scf-local: DBbrain emulator: AddUserContact %d accepted at %.1f/s = %.2f of the %d/s limit, %d refused; DescribeAllUserContact %d accepted, %d refused\n",
		len(add.Accepted), rate, rate/dbbrain.RateLimit, dbbrain.RateLimit, len(add.Refused), len(look.Accepted), len(look.Refused))
	if len(published) == 0 {
		return
	}
	stored := map[string]int{}
	for _, c := range p.emu.Contacts() {
		stored[c.Name]++
	}
	var missing, twice []string
	names := slices.Compact(slices.Sorted(slices.Values(published)))
	for _, name := range names {
		switch stored[name] {
		case 0:
			missing = append(missing, name)
		case 1:
		default:
			twice = append(twice, name)
		}
	}
	n := len(names)
	if len(missing) == 0 && len(twice) == 0 {
		fmt.Fprintf(w, "scf-local: every published contact is registered once: %d of %d\n", n, n)
		return
	}
	fmt.Fprintf(w, "scf-local: of %d published contacts, %d are not registered (%s) and %d are registered more than once (%s)\n",
		n, len(missing), strings.Join(missing[:min(3, len(missing))], ", "), len(twice), strings.Join(twice[:min(3, len(twice))], ", "))
}

// acceptedRate is calls per second from their arrival times: n-1 intervals
// over the span from the first to the last.
func acceptedRate(times []time.Time) float64 {
	if len(times) < 2 {
		return 0
	}
	s := slices.SortedFunc(slices.Values(times), time.Time.Compare)
	if span := s[len(s)-1].Sub(s[0]).Seconds(); span > 0 {
		return float64(len(s)-1) / span
	}
	return 0
}
