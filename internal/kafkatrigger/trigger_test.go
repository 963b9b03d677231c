package kafkatrigger

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The trigger is tested against kfake, a Kafka cluster in the test's
// process, on kfake's in-memory network inside a synctest bubble: the
// real protocol, consumer group and commits, on a fake clock, so that
// seconds of retries and idle time take none.

const (
	testTopic = "dba-onboarding"
	testGroup = "scf-local-test"
)

// invocation is one Invoke the fake function received.
type invocation struct {
	Partition  int32
	Instance   int // the instance's number, in launch order from 1
	Seen       int // how many times this batch (partition, first offset) had been invoked, this one included
	Records    []ckafkaMessage
	Event      string
	Start, End time.Time
	// Committed is the group's committed offset of the partition when the
	// invocation started, -1 for none.
	Committed int64
}

func (inv invocation) first() int64 { return inv.Records[0].Offset }

// fakeFunction launches instances whose invocations take work on the fake
// clock and answer as answer says (by default the batch envelope, every
// contact registered).
type fakeFunction struct {
	work    time.Duration
	answer  func(inv invocation) (Reply, error)
	launch  func(partition int32, n int) error // n: launches of the partition so far, this one included
	cluster *kfake.Cluster

	mu          sync.Mutex
	invocations []invocation
	seen        map[[2]int64]int
	launches    map[int32]int
	instances   int
	closed      int
	inflight    int
	maxInflight int
}

type fakeInstance struct {
	fn        *fakeFunction
	partition int32
	n         int
}

func (f *fakeFunction) Launch(_ context.Context, partition int32) (Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.launches == nil {
		f.launches, f.seen = map[int32]int{}, map[[2]int64]int{}
	}
	f.launches[partition]++
	if f.launch != nil {
		if err := f.launch(partition, f.launches[partition]); err != nil {
			return nil, err
		}
	}
	f.instances++
	return &fakeInstance{fn: f, partition: partition, n: f.instances}, nil
}

func (i *fakeInstance) Invoke(ctx context.Context, event []byte) (Reply, error) {
	f := i.fn
	var ev struct{ Records []ckafkaRecord }
	if err := json.Unmarshal(event, &ev); err != nil || len(ev.Records) == 0 {
		return Reply{}, fmt.Errorf("not a CKafka event (%v): %s", err, event)
	}
	inv := invocation{Partition: i.partition, Instance: i.n, Event: string(event), Start: time.Now(), Committed: -1}
	for _, r := range ev.Records {
		inv.Records = append(inv.Records, r.Ckafka)
	}
	if gi := f.cluster.GroupInfo(testGroup); gi != nil {
		if c, ok := gi.Commits[testTopic][i.partition]; ok {
			inv.Committed = c.Offset
		}
	}
	f.mu.Lock()
	key := [2]int64{int64(i.partition), inv.first()}
	f.seen[key]++
	inv.Seen = f.seen[key]
	f.inflight++
	f.maxInflight = max(f.maxInflight, f.inflight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inflight--
		f.mu.Unlock()
	}()
	select {
	case <-time.After(f.work):
	case <-ctx.Done():
		return Reply{}, ctx.Err()
	}
	inv.End = time.Now()
	f.mu.Lock()
	f.invocations = append(f.invocations, inv)
	f.mu.Unlock()
	if f.answer != nil {
		return f.answer(inv)
	}
	return Reply{Payload: envelope(len(inv.Records), 0)}, nil
}

func (i *fakeInstance) Close() error {
	i.fn.mu.Lock()
	i.fn.closed++
	i.fn.mu.Unlock()
	return nil
}

// calls returns the invocations that completed, in completion order.
func (f *fakeFunction) calls() []invocation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.invocations)
}

// envelope is the function's batch answer.
func envelope(ok, failed int) []byte {
	return fmt.Appendf(nil, `{"Response":{"Results":[],"SucceededCount":%d,"FailedCount":%d,"RequestId":"req"}}`, ok, failed)
}

// retryable is the function's answer asking for the batch again, having
// registered ok of its contacts.
func retryable(ok int) Reply {
	return Reply{Error: &FunctionError{Type: "RetryableError", Message: string(envelope(ok, 0))}}
}

// recordsFor makes n records for partition p, keyed and numbered.
func recordsFor(p int32, n int) []*kgo.Record {
	var out []*kgo.Record
	for i := range n {
		out = append(out, &kgo.Record{Partition: p, Key: fmt.Appendf(nil, "k%d-%d", p, i),
			Value: fmt.Appendf(nil, `{"Name":"c%d_%04d","ContactInfo":"c%d.%04d@example.com"}`, p, i, p, i)})
	}
	return out
}

// env is one test's cluster on kfake's in-memory network.
type env struct {
	t       *testing.T
	cluster *kfake.Cluster
	net     *kfake.VirtualNetwork
}

func newEnv(t *testing.T, partitions int) *env {
	t.Helper()
	e := &env{t: t, net: &kfake.VirtualNetwork{}}
	c, err := Embedded(testTopic, partitions, kfake.ListenFn(e.net.Listen), kfake.Ports(9092))
	if err != nil {
		t.Fatal(err)
	}
	e.cluster = c
	t.Cleanup(c.Close)
	return e
}

// conn reaches the cluster over the in-memory network.
func (e *env) conn(opts ...kgo.Opt) Conn {
	return Conn{Brokers: e.cluster.ListenAddrs(), Opts: append([]kgo.Opt{kgo.Dialer(e.net.DialContext)}, opts...)}
}

// publish writes records to the partitions they name.
func (e *env) publish(recs []*kgo.Record) {
	e.t.Helper()
	if err := Publish(context.Background(), e.conn(kgo.RecordPartitioner(kgo.ManualPartitioner())), testTopic, recs); err != nil {
		e.t.Fatal(err)
	}
}

// outcome is what one Run came to.
type outcome struct {
	stats   Stats
	results []BatchResult
	logs    []string
	commits map[int32]int64
}

// run runs a trigger over the cluster until it is idle for a second (or
// as mod sets), with f as the function.
func (e *env) run(f *fakeFunction, mod func(*Config)) outcome {
	e.t.Helper()
	f.cluster = e.cluster
	var o outcome
	var mu sync.Mutex
	cfg := Config{Conn: e.conn(), Topic: testTopic, Group: testGroup, Start: Earliest,
		MaxMsg: 10, Retry: DefaultRetry, UntilIdle: time.Second, Launcher: f,
		OnBatch: func(r BatchResult) { o.results = append(o.results, r) },
		Logf: func(format string, args ...any) {
			mu.Lock()
			o.logs = append(o.logs, fmt.Sprintf(format, args...))
			mu.Unlock()
		}}
	if mod != nil {
		mod(&cfg)
	}
	tr, err := New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour) // fake time: a hung run fails, not hangs
	defer cancel()
	if o.stats, err = tr.Run(ctx); err != nil {
		e.t.Fatal(err)
	}
	if ctx.Err() != nil {
		e.t.Fatal("the run did not become idle")
	}
	o.commits = map[int32]int64{}
	if gi := e.cluster.GroupInfo(cfg.Group); gi != nil {
		for p, c := range gi.Commits[testTopic] {
			o.commits[p] = c.Offset
		}
	}
	return o
}

// byPartition groups invocations by partition, in completion order.
func byPartition(invs []invocation) map[int32][]invocation {
	m := map[int32][]invocation{}
	for _, inv := range invs {
		m[inv.Partition] = append(m[inv.Partition], inv)
	}
	return m
}

// A partition's records arrive in batches of what it holds, up to MaxMsg,
// in the CKafka event's shape with their real coordinates; each batch is
// committed before the next is invoked, and the end is committed.
func TestBatchesUpToMaxMsg(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, 1)
		recs := recordsFor(0, 25)
		e.publish(recs)
		f := &fakeFunction{work: 100 * time.Millisecond}
		o := e.run(f, nil)
		calls := f.calls()
		var sizes []int
		for _, inv := range calls {
			sizes = append(sizes, len(inv.Records))
		}
		if !slices.Equal(sizes, []int{10, 10, 5}) {
			t.Fatalf("batch sizes %v, want [10 10 5]", sizes)
		}
		for i, inv := range calls {
			for j, m := range inv.Records {
				n := int64(i*10 + j)
				want := ckafkaMessage{Topic: testTopic, Partition: 0, Offset: n, MsgKey: string(recs[n].Key), MsgBody: string(recs[n].Value)}
				if m != want {
					t.Errorf("batch %d record %d: %+v, want %+v", i, j, m, want)
				}
			}
			if want := []int64{-1, 10, 20}[i]; inv.Committed != want {
				t.Errorf("batch %d invoked with offset %d committed, want %d", i, inv.Committed, want)
			}
		}
		if !strings.HasPrefix(calls[0].Event, `{"Records":[{"Ckafka":{"topic":"dba-onboarding","partition":0,"offset":0,"msgKey":"k0-0","msgBody":"{\"Name\"`) {
			t.Errorf("event shape: %.120s", calls[0].Event)
		}
		if o.commits[0] != 25 {
			t.Errorf("committed %v, want partition 0 at 25", o.commits)
		}
		s := o.stats
		if s.Batches != 3 || s.Records != 25 || s.Registered != 25 || !s.AllAcknowledged() || s.Partitions[0].Offset != 25 || s.Partitions[0].HighWater != 25 {
			t.Errorf("stats %+v", s)
		}
		if len(o.results) != 3 || o.results[2] != (BatchResult{Topic: testTopic, FirstOffset: 20, LastOffset: 24, Records: 5, Attempts: 1,
			Outcome: OutcomeAcknowledged, Committed: true, Succeeded: 5, RequestID: "req", DurationMs: 100}) {
			t.Errorf("results %+v", o.results)
		}
	})
}

// Each partition has an instance of its own and partitions run at the same
// time; within a partition records come in offset order, each once.
func TestPartitionsInParallelInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, 4)
		for p := range int32(4) {
			e.publish(recordsFor(p, 30))
		}
		f := &fakeFunction{work: time.Second}
		start := time.Now()
		o := e.run(f, nil)
		calls := f.calls()
		if f.maxInflight != 4 || f.instances != 4 {
			t.Errorf("%d invocations at once over %d instances, want 4 and 4", f.maxInflight, f.instances)
		}
		for p, invs := range byPartition(calls) {
			next := int64(0)
			for _, inv := range invs {
				if inv.Instance != invs[0].Instance {
					t.Errorf("partition %d: invoked on instances %d and %d", p, invs[0].Instance, inv.Instance)
				}
				for _, m := range inv.Records {
					if m.Offset != next || m.Partition != p {
						t.Fatalf("partition %d: got partition %d offset %d, want offset %d", p, m.Partition, m.Offset, next)
					}
					next++
				}
			}
			if next != 30 {
				t.Errorf("partition %d: %d records delivered, want 30", p, next)
			}
		}
		// Three one-second batches per partition, side by side.
		if end := slices.MaxFunc(calls, func(a, b invocation) int { return a.End.Compare(b.End) }).End; end.Sub(start) > 4*time.Second {
			t.Errorf("the last batch ended after %v: the partitions did not run in parallel", end.Sub(start))
		}
		if o.stats.Batches != 12 || o.stats.Records != 120 || len(o.commits) != 4 {
			t.Errorf("stats %+v, commits %v", o.stats, o.commits)
		}
	})
}

// After a function error the very same batch comes again while its
// partition waits; nothing is committed until it succeeds.
func TestRetriesTheWholeBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, 1)
		e.publish(recordsFor(0, 15))
		f := &fakeFunction{work: 100 * time.Millisecond, answer: func(inv invocation) (Reply, error) {
			if inv.first() == 0 && inv.Seen <= 2 {
				return retryable(3 * inv.Seen), nil
			}
			return Reply{Payload: envelope(len(inv.Records), 0)}, nil
		}}
		o := e.run(f, nil)
		calls := f.calls()
		if len(calls) != 4 {
			t.Fatalf("%d invocations, want 4", len(calls))
		}
		for i := range 3 {
			if calls[i].Event != calls[0].Event || calls[i].Committed != -1 {
				t.Errorf("attempt %d: another event, or offset %d committed before the batch succeeded", i+1, calls[i].Committed)
			}
		}
		if calls[3].first() != 10 || calls[3].Committed != 10 {
			t.Errorf("after the retried batch: offsets from %d with %d committed, want 10 and 10", calls[3].first(), calls[3].Committed)
		}
		s := o.stats
		if s.Retried != 1 || s.FailedAttempts != 2 || s.Batches != 2 || s.Registered != 15 || !s.AllAcknowledged() || s.Partitions[0].Retried != 1 || o.commits[0] != 15 {
			t.Errorf("stats %+v, commits %v", s, o.commits)
		}
		if r := o.results[0]; r.Attempts != 3 || r.Outcome != OutcomeAcknowledged || r.Error != "" {
			t.Errorf("first batch's result %+v", r)
		}
		if len(o.logs) != 1 || !strings.Contains(o.logs[0], "partition 0, offsets 0-9: attempt 1 failed (RetryableError: 3 succeeded, 0 failed or not attempted)") {
			t.Errorf("logs %q", o.logs)
		}
	})
}

// A batch that fails Retry+1 times is skipped, loudly, committed past, and
// the partition moves on; the run does not count as all acknowledged.
func TestSkipsAfterRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, 1)
		e.publish(recordsFor(0, 15))
		f := &fakeFunction{work: 10 * time.Millisecond, answer: func(inv invocation) (Reply, error) {
			if inv.first() == 0 {
				return Reply{Error: &FunctionError{Type: "RetryableError", Message: "AuthFailure"}}, nil
			}
			return Reply{Payload: envelope(len(inv.Records), 0)}, nil
		}}
		o := e.run(f, func(c *Config) { c.Retry = 2 })
		calls := f.calls()
		if len(calls) != 4 || calls[2].first() != 0 || calls[3].first() != 10 || calls[3].Committed != 10 {
			t.Fatalf("invocations %+v", calls)
		}
		s := o.stats
		if s.Skipped != 1 || s.SkippedRecords != 10 || s.Batches != 1 || s.AllAcknowledged() || s.Partitions[0].Skipped != 1 || o.commits[0] != 15 {
			t.Errorf("stats %+v, commits %v", s, o.commits)
		}
		if r := o.results[0]; r.Outcome != OutcomeSkipped || r.Attempts != 3 || !r.Committed || r.Error != "RetryableError: AuthFailure" {
			t.Errorf("skipped batch's result %+v", r)
		}
		if !slices.ContainsFunc(o.logs, func(l string) bool { return strings.Contains(l, "offsets 0-9: SKIPPED after 3 attempts (retry 2)") }) {
			t.Errorf("no SKIPPED line in %q", o.logs)
		}
	})
}

// An instance that dies mid-batch, times out or cannot start is a failed
// attempt: the next one goes to a fresh instance, with the same batch.
func TestReplacesAFailedInstance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, 1)
		e.publish(recordsFor(0, 5))
		f := &fakeFunction{work: 100 * time.Millisecond,
			launch: func(_ int32, n int) error {
				if n == 3 {
					return fmt.Errorf("init failed")
				}
				return nil
			},
			answer: func(inv invocation) (Reply, error) {
				switch inv.Seen {
				case 1:
					return Reply{}, fmt.Errorf("the process died: signal: killed")
				case 2:
					return Reply{Error: &FunctionError{Type: "TimeLimitReached", Message: "Task timed out after 3.00 seconds", TimedOut: true}}, nil
				}
				return Reply{Payload: envelope(len(inv.Records), 0)}, nil
			}}
		o := e.run(f, nil)
		calls := f.calls()
		var instances []int
		for _, inv := range calls {
			instances = append(instances, inv.Instance)
			if inv.Event != calls[0].Event {
				t.Errorf("instance %d got another batch", inv.Instance)
			}
		}
		// Launch 3 failed: the third attempt never reached an instance.
		if !slices.Equal(instances, []int{1, 2, 3}) || f.launches[0] != 4 || f.closed != 3 {
			t.Errorf("invoked on instances %v after %d launches, %d closed; want [1 2 3], 4, 3", instances, f.launches[0], f.closed)
		}
		if r := o.results[0]; r.Attempts != 4 || r.Outcome != OutcomeAcknowledged || o.stats.FailedAttempts != 3 || o.commits[0] != 5 {
			t.Errorf("result %+v, stats %+v, commits %v", r, o.stats, o.commits)
		}
	})
}

// A stalled partition holds only itself: the others go on, and its fetching
// pauses while a full batch waits, without losing or repeating a record.
func TestStalledPartitionDoesNotHoldOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, 2)
		// Published ten at a time and fetched a record batch at a time, so
		// that partition 0's queue fills while it is stalled.
		recs := slices.Concat(recordsFor(0, 300), recordsFor(1, 300))
		for chunk := range slices.Chunk(recs, 10) {
			e.publish(chunk)
		}
		f := &fakeFunction{work: 10 * time.Millisecond, answer: func(inv invocation) (Reply, error) {
			if inv.Partition == 0 && inv.first() == 0 && inv.Seen <= 100 {
				return retryable(0), nil
			}
			return Reply{Payload: envelope(len(inv.Records), 0)}, nil
		}}
		o := e.run(f, func(c *Config) {
			c.UntilIdle = 5 * time.Second
			c.Conn = e.conn(kgo.FetchMaxPartitionBytes(1))
		})
		parts := byPartition(f.calls())
		var recovered time.Time
		for _, inv := range parts[0] {
			if inv.first() == 0 && inv.Seen == 101 {
				recovered = inv.End
			}
		}
		if last := parts[1][len(parts[1])-1]; !last.End.Before(recovered) {
			t.Errorf("partition 1 finished at %v, after partition 0 recovered at %v", last.End, recovered)
		}
		for p, invs := range parts {
			var offsets []int64
			for _, inv := range invs {
				if inv.Seen > 1 {
					continue
				}
				for _, m := range inv.Records {
					offsets = append(offsets, m.Offset)
				}
			}
			if len(offsets) != 300 || !slices.IsSorted(offsets) || slices.Compact(offsets)[299] != 299 {
				t.Errorf("partition %d: %d records delivered, want 0..299 once each", p, len(offsets))
			}
		}
		if o.stats.Records != 600 || !o.stats.AllAcknowledged() || o.commits[0] != 300 || o.commits[1] != 300 {
			t.Errorf("stats %+v, commits %v", o.stats, o.commits)
		}
	})
}

// --until-idle: the run ends once nothing happened for that long, records
// published meanwhile are delivered, and batches that are progressing are
// waited for.
func TestUntilIdle(t *testing.T) {
	t.Run("acknowledged", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t, 1)
			e.publish(recordsFor(0, 5))
			f := &fakeFunction{work: 100 * time.Millisecond}
			go func() {
				time.Sleep(1500 * time.Millisecond) // within the idle time after the first batch
				e.publish(recordsFor(0, 5))
			}()
			o := e.run(f, func(c *Config) { c.UntilIdle = 2 * time.Second })
			calls := f.calls()
			idle := time.Since(calls[len(calls)-1].End)
			if len(calls) != 2 || !o.stats.AllAcknowledged() || o.commits[0] != 10 {
				t.Fatalf("%d invocations, stats %+v, commits %v", len(calls), o.stats, o.commits)
			}
			if idle < 2*time.Second || idle > 2100*time.Millisecond {
				t.Errorf("ended %v after the last batch, want 2s", idle)
			}
		})
	})
	t.Run("progressing", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t, 1)
			e.publish(recordsFor(0, 10))
			// Each attempt registers one more contact, over 5 s in all,
			// five times the idle time.
			f := &fakeFunction{work: 500 * time.Millisecond, answer: func(inv invocation) (Reply, error) {
				if inv.Seen < 10 {
					return retryable(inv.Seen), nil
				}
				return Reply{Payload: envelope(10, 0)}, nil
			}}
			o := e.run(f, nil)
			if len(f.calls()) != 10 || !o.stats.AllAcknowledged() || o.stats.Registered != 10 || o.commits[0] != 10 {
				t.Errorf("%d invocations, stats %+v, commits %v", len(f.calls()), o.stats, o.commits)
			}
		})
	})
	t.Run("stalled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t, 2)
			e.publish(recordsFor(0, 5))
			e.publish(recordsFor(1, 5))
			f := &fakeFunction{work: 100 * time.Millisecond, answer: func(inv invocation) (Reply, error) {
				if inv.Partition == 0 {
					return retryable(2), nil // two registered, the rest never
				}
				return Reply{Payload: envelope(5, 0)}, nil
			}}
			start := time.Now()
			o := e.run(f, nil)
			s := o.stats
			if s.Failing != 1 || s.AllAcknowledged() || s.Registered != 7 || !s.Partitions[0].Failing || s.Partitions[0].Attempts < 10 {
				t.Errorf("stats %+v", s)
			}
			if _, ok := o.commits[0]; ok || o.commits[1] != 5 {
				t.Errorf("commits %v, want partition 1 only", o.commits)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("the run took %v to give up on a stalled partition, want about 1s after its first failure", took)
			}
			if !slices.ContainsFunc(o.results, func(r BatchResult) bool { return r.Partition == 0 && r.Outcome == OutcomeUnfinished }) {
				t.Errorf("no unfinished batch in %+v", o.results)
			}
		})
	})
}

// A new run of the same group resumes after the last committed offset, so a
// batch that was in flight is delivered again; a new group starts where
// --offset says.
func TestResumesFromCommittedOffset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, 1)
		e.publish(recordsFor(0, 20))
		failSecond := &fakeFunction{work: 100 * time.Millisecond, answer: func(inv invocation) (Reply, error) {
			if inv.first() == 10 {
				return Reply{}, fmt.Errorf("killed")
			}
			return Reply{Payload: envelope(len(inv.Records), 0)}, nil
		}}
		if o := e.run(failSecond, nil); o.commits[0] != 10 || o.stats.Failing != 1 {
			t.Fatalf("first run: stats %+v, commits %v", o.stats, o.commits)
		}
		again := &fakeFunction{work: 100 * time.Millisecond}
		if o := e.run(again, nil); len(again.calls()) != 1 || again.calls()[0].first() != 10 || o.commits[0] != 20 {
			t.Errorf("same group: invocations %+v, commits %v; want offsets 10-19 once", again.calls(), o.commits)
		}
		earliest := &fakeFunction{work: 100 * time.Millisecond}
		e.run(earliest, func(c *Config) { c.Group = "another" })
		if calls := earliest.calls(); len(calls) != 2 || calls[0].first() != 0 {
			t.Errorf("new group at earliest: invocations %+v, want offsets 0-19", calls)
		}
		latest := &fakeFunction{work: 100 * time.Millisecond}
		go func() {
			time.Sleep(500 * time.Millisecond) // after the group has joined
			e.publish(recordsFor(0, 3))
		}()
		e.run(latest, func(c *Config) { c.Group, c.Start = "a-third", Latest })
		if calls := latest.calls(); len(calls) != 1 || calls[0].first() != 20 || len(calls[0].Records) != 3 {
			t.Errorf("new group at latest: invocations %+v, want offsets 20-22", calls)
		}
	})
}

func TestRunFailsWithoutTheTopic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, 1)
		tr, err := New(Config{Conn: e.conn(), Topic: "missing", Group: testGroup, Launcher: &fakeFunction{}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "UNKNOWN_TOPIC_OR_PARTITION") {
			t.Errorf("Run: %v, want the unknown topic", err)
		}
	})
}

// A cluster that does not answer (here, to a wrong password) fails Publish
// and Run after Conn.Timeout, with the likely causes, rather than hang.
func TestConnectTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		vnet := &kfake.VirtualNetwork{}
		c, err := Embedded(testTopic, 1, kfake.ListenFn(vnet.Listen), kfake.Ports(9092), kfake.EnableSASL(), kfake.Superuser("PLAIN", "ckafka-x#user", "right"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conn := Conn{Brokers: c.ListenAddrs(), Timeout: 2 * time.Second,
			Opts: append(Security("ckafka-x#user", "wrong", false), kgo.Dialer(vnet.DialContext))}
		want := "no answer from Kafka at " + c.ListenAddrs()[0] + " within 2s: check the address, the SASL user and password, and TLS"
		start := time.Now()
		if err := Publish(context.Background(), conn, testTopic, recordsFor(0, 1)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Publish: %v", err)
		}
		tr, err := New(Config{Conn: conn, Topic: testTopic, Group: testGroup, Launcher: &fakeFunction{}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Run(context.Background()); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Run: %v", err)
		}
		if took := time.Since(start); took != 4*time.Second {
			t.Errorf("took %v, want 2s each", took)
		}
	})
}

func TestNewRefuses(t *testing.T) {
	ok := Config{Conn: Conn{Brokers: []string{"127.0.0.1:9092"}}, Topic: "t", Group: "g", Launcher: &fakeFunction{}}
	for name, mod := range map[string]func(*Config){
		"no brokers":     func(c *Config) { c.Conn.Brokers = nil },
		"no launcher":    func(c *Config) { c.Launcher = nil },
		"max-msg":        func(c *Config) { c.MaxMsg = MaxMaxMsg + 1 },
		"negative retry": func(c *Config) { c.Retry = -1 },
	} {
		c := ok
		mod(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted %+v", name, c)
		}
	}
	if _, err := New(ok); err != nil {
		t.Error(err)
	}
	for s, want := range map[string]StartOffset{"earliest": Earliest, "latest": Latest} {
		if got, err := ParseStartOffset(s); err != nil || got != want || got.String() != s {
			t.Errorf("ParseStartOffset(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseStartOffset("newest"); err == nil {
		t.Error("ParseStartOffset accepted newest")
	}
}

// An event never exceeds SCF's 6 MB, but always holds one record.
func TestBuildEventStaysWithinTheLimit(t *testing.T) {
	big := strings.Repeat("x", 2<<20)
	var batch []*kgo.Record
	for i := range 5 {
		batch = append(batch, &kgo.Record{Topic: "t", Offset: int64(i), Value: []byte(big)})
	}
	ev, fit := buildEvent(batch)
	if fit != 2 || len(ev) > 6<<20 || !json.Valid(ev) {
		t.Errorf("fit %d, %d bytes, valid %t", fit, len(ev), json.Valid(ev))
	}
	huge := []*kgo.Record{{Value: []byte(strings.Repeat("y", 7<<20))}}
	if _, fit := buildEvent(huge); fit != 1 {
		t.Errorf("a record over the limit: fit %d, want 1", fit)
	}
	if ev, _ := buildEvent([]*kgo.Record{{Key: []byte("k"), Value: []byte("not \xff UTF-8")}}); !json.Valid(ev) {
		t.Errorf("invalid JSON for invalid UTF-8: %s", ev)
	}
}

func TestReadCounts(t *testing.T) {
	for in, want := range map[string]counts{
		`{"Response":{"Results":[],"SucceededCount":3,"FailedCount":1,"RequestId":"r"}}`: {succeeded: 3, failed: 1, requestID: "r", batch: true},
		`{"Response":{"Error":{"Code":"AuthFailure","Message":"no"},"RequestId":"r"}}`:   {requestID: "r", errorText: "AuthFailure: no"},
		`Task timed out`: {},
	} {
		if got := readCounts([]byte(in)); got != want {
			t.Errorf("readCounts(%s) = %+v, want %+v", in, got, want)
		}
	}
	fe := &FunctionError{Type: "RetryableError", Message: `{"Response":{"Results":[{}],"SucceededCount":3,"FailedCount":1}}`}
	if got := describe(fe, readCounts([]byte(fe.Message))); got != "RetryableError: 3 succeeded, 1 failed or not attempted" {
		t.Errorf("describe = %q", got)
	}
	if !isPowerOf10(1) || !isPowerOf10(1000) || isPowerOf10(20) || isPowerOf10(0) {
		t.Error("isPowerOf10")
	}
	if got := clip("héllo", 2); got != "h…" {
		t.Errorf("clip = %q", got)
	}
}
