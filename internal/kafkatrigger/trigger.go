// Package kafkatrigger runs Tencent Cloud SCF's CKafka trigger on this
// machine, against a real Kafka protocol: it consumes a topic as a consumer
// group (franz-go) and feeds each partition's records to a function instance
// of its own, in order, in batches of up to MaxMsg records shaped as the
// CKafka event ({"Records":[{"Ckafka":{...}}]}). Partitions run in
// parallel. As the trigger does, it delivers a batch again after a function
// error (a returned error, a timeout, an instance that died), up to Retry
// times, while its partition waits, and commits a batch's offsets only once
// the function succeeded with it, or once it was skipped after the last
// retry.
//
// The package starts no process: instances come from a Launcher, so that
// tests drive it with a fake and scf-local with the built binary.
package kafkatrigger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The trigger's limits, as serverless.yml's ckafka parameters document them.
const (
	DefaultMaxMsg = 100    // maxMsgNum's default in the toolkit
	MaxMaxMsg     = 10000  // the largest maxMsgNum
	DefaultRetry  = 10_000 // retry's default
)

// fetchMaxWait bounds how long a fetch waits for new records. Kafka's 5 s
// default would also delay a resumed partition by as much, since resuming
// waits for the fetch in flight.
const fetchMaxWait = 250 * time.Millisecond

// commitTimeout bounds one offset commit. A commit is not cancelled when the
// run stops, so that a batch that just succeeded is not delivered again.
const commitTimeout = 10 * time.Second

// DefaultConnectTimeout is Conn.Timeout's default.
const DefaultConnectTimeout = 15 * time.Second

// StartOffset is where a consumer group without committed offsets starts
// in each partition, the trigger's "offset" parameter.
type StartOffset int

// The start offsets.
const (
	Latest   StartOffset = iota // only records published from now on, the trigger's default
	Earliest                    // every record the topic still holds
)

// ParseStartOffset reads "earliest" or "latest".
func ParseStartOffset(s string) (StartOffset, error) {
	switch s {
	case "earliest":
		return Earliest, nil
	case "latest":
		return Latest, nil
	}
	return 0, fmt.Errorf("offset %q: want earliest or latest", s)
}

// String names the offset as ParseStartOffset reads it.
func (o StartOffset) String() string {
	if o == Earliest {
		return "earliest"
	}
	return "latest"
}

// Launcher starts function instances: one for each partition, and a fresh
// one after an instance timed out or died.
type Launcher interface {
	Launch(ctx context.Context, partition int32) (Instance, error)
}

// Instance is one function instance, which serves one invocation at a time.
type Instance interface {
	// Invoke sends one event. It fails when the invocation could not be
	// carried out (the process died, ctx ended): the trigger then counts
	// the attempt as failed and launches a fresh instance.
	Invoke(ctx context.Context, event []byte) (Reply, error)
	// Close stops the instance.
	Close() error
}

// Reply is what the function made of one invocation.
type Reply struct {
	Payload []byte         // its answer, when it succeeded
	Error   *FunctionError // set when it failed
}

// FunctionError is a failed invocation as SCF reports it.
type FunctionError struct {
	Type    string // the error's type, e.g. RetryableError, TimeLimitReached
	Message string // its text: for this function, the batch envelope
	// TimedOut reports that the function used its whole time limit and its
	// instance was stopped.
	TimedOut bool
}

// Config configures a Trigger. Conn.Brokers, Topic, Group and Launcher are
// required.
type Config struct {
	Conn  Conn
	Topic string
	Group string // the consumer group, whose committed offsets say where to resume
	Start StartOffset
	// MaxMsg is the most records in a batch: 1 to MaxMaxMsg, 0 meaning
	// DefaultMaxMsg. A batch is what the partition holds at the time, up
	// to MaxMsg; it never waits to fill.
	MaxMsg int
	// Retry is how many times a failed batch is delivered again before it is
	// skipped; 0 skips it after one failure.
	Retry int
	// UntilIdle, when positive, ends Run once every partition of the
	// member has been idle that long: nothing new fetched, no batch in
	// flight, or a batch whose attempts have registered nothing more for
	// that long.
	UntilIdle time.Duration
	Launcher  Launcher
	// OnBatch, if set, gets every batch once it is done with: acknowledged,
	// skipped, or left unfinished when Run ends. Calls are serialised.
	OnBatch func(BatchResult)
	// Logf, if set, gets what a person watching should know: a batch's
	// first failure, a skipped batch, a failed commit, a fetch error.
	// Calls may come from several goroutines.
	Logf func(format string, args ...any)
}

// Trigger is the local CKafka trigger of one topic. Run it once.
type Trigger struct {
	cfg     Config
	running atomic.Bool

	// workCtx is set by Run before the client exists, for the group's
	// callbacks; cl right after, and only code that runs after the first
	// poll (which Run starts later) uses it.
	cl      *kgo.Client
	workCtx context.Context

	workers  sync.WaitGroup
	resultMu sync.Mutex // serialises OnBatch

	mu       sync.Mutex
	parts    map[int32]*partition // the member's assigned partitions
	stats    map[int32]*PartitionStats
	totals   Stats // the counters of Stats; its slices stay nil
	started  time.Time
	joinedAt time.Time
	stopping bool
}

// New checks cfg and returns a trigger; nothing connects until Run.
func New(cfg Config) (*Trigger, error) {
	switch {
	case len(cfg.Conn.Brokers) == 0 || cfg.Topic == "" || cfg.Group == "" || cfg.Launcher == nil:
		return nil, errors.New("kafkatrigger: Conn.Brokers, Topic, Group and Launcher are required")
	case cfg.MaxMsg < 0 || cfg.MaxMsg > MaxMaxMsg:
		return nil, fmt.Errorf("kafkatrigger: MaxMsg %d: want 1 to %d", cfg.MaxMsg, MaxMaxMsg)
	case cfg.Retry < 0:
		return nil, fmt.Errorf("kafkatrigger: Retry %d must not be negative", cfg.Retry)
	}
	if cfg.MaxMsg == 0 {
		cfg.MaxMsg = DefaultMaxMsg
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &Trigger{cfg: cfg, parts: map[int32]*partition{}, stats: map[int32]*PartitionStats{}}, nil
}

// Run consumes until ctx ends or, with UntilIdle, until every partition is
// idle, and returns the final Stats. An in-flight invocation is abandoned
// when it stops; its batch is neither committed nor counted as failed. The
// error reports only what kept it from consuming: the cluster unreachable,
// the topic missing.
func (t *Trigger) Run(ctx context.Context) (Stats, error) {
	if !t.running.CompareAndSwap(false, true) {
		return Stats{}, errors.New("kafkatrigger: Run called twice")
	}
	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	t.workCtx = workCtx
	t.mu.Lock()
	t.started = time.Now()
	t.mu.Unlock()
	reset := kgo.NewOffset().AtEnd()
	if t.cfg.Start == Earliest {
		reset = kgo.NewOffset().AtStart()
	}
	cl, err := t.cfg.Conn.client(
		kgo.ConsumerGroup(t.cfg.Group),
		kgo.ConsumeTopics(t.cfg.Topic),
		kgo.ConsumeResetOffset(reset),
		kgo.DisableAutoCommit(),
		// Records are queued per partition right after a poll, so a
		// rebalance never waits long; blocking it keeps every commit
		// within the partition's ownership.
		kgo.BlockRebalanceOnPoll(),
		kgo.FetchMaxWait(fetchMaxWait),
		kgo.OnPartitionsAssigned(t.assigned),
		kgo.OnPartitionsRevoked(t.revoked),
		kgo.OnPartitionsLost(t.revoked),
	)
	if err != nil {
		return Stats{}, err
	}
	t.cl = cl
	n, err := t.cfg.Conn.partitions(ctx, cl, t.cfg.Topic)
	if err != nil {
		t.stop()
		cl.Close()
		return Stats{}, err
	}
	t.mu.Lock()
	for p := range int32(n) {
		t.statsOf(p)
	}
	t.mu.Unlock()

	polled := make(chan struct{})
	go func() {
		defer close(polled)
		t.poll(workCtx)
	}()
	t.waitIdle(workCtx)
	t.stop()
	stopWork()
	<-polled
	t.workers.Wait()
	// Taken before Close, whose revocation would forget the failing
	// batches.
	final := t.Stats()
	cl.Close()
	return final, nil
}

// stop keeps partitions assigned from now on from starting workers, so that
// Run's wait for the workers is final.
func (t *Trigger) stop() {
	t.mu.Lock()
	t.stopping = true
	t.mu.Unlock()
}

// poll fetches records and queues them per partition until ctx ends.
func (t *Trigger) poll(ctx context.Context) {
	lastErr := map[int32]string{}
	for {
		fs := t.cl.PollRecords(ctx, 0)
		if ctx.Err() != nil || fs.IsClientClosed() {
			t.cl.AllowRebalance()
			return
		}
		fs.EachError(func(topic string, p int32, err error) {
			// kgo retries what can be retried; the same error on every
			// poll is said once.
			if msg := err.Error(); lastErr[p] != msg {
				lastErr[p] = msg
				t.cfg.Logf("fetching %s partition %d: %v", topic, p, err)
			}
		})
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			t.enqueue(p.Partition, p.Records, p.HighWatermark)
		})
		t.cl.AllowRebalance()
	}
}

// waitIdle returns when ctx ends or, with UntilIdle, once the member is idle.
func (t *Trigger) waitIdle(ctx context.Context) {
	d := t.cfg.UntilIdle
	if d <= 0 {
		<-ctx.Done()
		return
	}
	tick := time.NewTicker(min(max(d/20, 5*time.Millisecond), 250*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if t.idle(now) {
				return
			}
		}
	}
}

// idle reports whether the member has joined its group and every
// partition it owns has been idle for UntilIdle. A stalled partition counts
// as idle even while it tries again: waiting on it would wait for Retry
// attempts.
func (t *Trigger) idle(now time.Time) bool {
	d := t.cfg.UntilIdle
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.joinedAt.IsZero() || now.Sub(t.joinedAt) < d {
		return false
	}
	for _, pt := range t.parts {
		if pt.stalled {
			continue
		}
		if len(pt.queue) > 0 || pt.pending > 0 || now.Sub(pt.since) < d {
			return false
		}
	}
	return true
}

// assigned starts a worker for each partition the group gave the member.
func (t *Trigger) assigned(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.joinedAt.IsZero() {
		t.joinedAt = now
	}
	if t.stopping {
		return
	}
	for _, p := range m[t.cfg.Topic] {
		if t.parts[p] != nil {
			continue
		}
		// Invocations end with the run; a commit outlives it (bounded by
		// commitTimeout) but not the partition's revocation.
		invokeCtx, stopInvoke := context.WithCancel(t.workCtx)
		commitCtx, stopCommit := context.WithCancel(context.WithoutCancel(t.workCtx))
		pt := &partition{id: p, wake: make(chan struct{}, 1), done: make(chan struct{}), since: now,
			stopInvoke: stopInvoke, stopCommit: stopCommit}
		t.parts[p] = pt
		st := t.statsOf(p)
		st.Assigned = true
		t.workers.Add(1)
		go t.work(invokeCtx, commitCtx, pt)
	}
}

// revoked stops the workers of partitions the member no longer owns and
// waits for them: their in-flight invocations are abandoned, uncommitted,
// for the new owner to deliver again.
func (t *Trigger) revoked(_ context.Context, cl *kgo.Client, m map[string][]int32) {
	var gone []*partition
	t.mu.Lock()
	for _, p := range m[t.cfg.Topic] {
		if pt := t.parts[p]; pt != nil {
			gone = append(gone, pt)
			delete(t.parts, p)
		}
	}
	t.mu.Unlock()
	var paused []int32
	for _, pt := range gone {
		pt.stopInvoke()
		pt.stopCommit()
		<-pt.done
		t.mu.Lock()
		st := t.statsOf(pt.id)
		st.Assigned = false
		if !t.stopping && st.Failing {
			st.Failing, st.Attempts = false, 0
			t.totals.Failing--
		}
		if pt.paused {
			paused = append(paused, pt.id)
		}
		t.mu.Unlock()
	}
	// A pause outlives the assignment; a partition given back later must
	// be fetched again.
	if len(paused) > 0 {
		cl.ResumeFetchPartitions(map[string][]int32{t.cfg.Topic: paused})
	}
}

// enqueue appends fetched records to their partition's queue and pauses
// fetching it once a full batch waits, so that a stalled partition holds at
// most about one batch and one fetch in memory while the others go on.
func (t *Trigger) enqueue(p int32, recs []*kgo.Record, highWater int64) {
	t.mu.Lock()
	st := t.statsOf(p)
	st.HighWater = max(st.HighWater, highWater)
	pt := t.parts[p]
	if pt == nil || len(recs) == 0 {
		t.mu.Unlock()
		return
	}
	if st.Offset < 0 {
		st.Offset = recs[0].Offset
	}
	pt.queue = append(pt.queue, recs...)
	pt.since = time.Now()
	if !pt.paused && len(pt.queue) >= t.cfg.MaxMsg {
		// Under mu, so that a worker's resume cannot overtake it.
		t.cl.PauseFetchPartitions(map[string][]int32{t.cfg.Topic: {p}})
		pt.paused = true
	}
	t.mu.Unlock()
	select {
	case pt.wake <- struct{}{}:
	default:
	}
}

// statsOf returns partition p's counters, made on first use. Call with mu
// held.
func (t *Trigger) statsOf(p int32) *PartitionStats {
	st := t.stats[p]
	if st == nil {
		st = &PartitionStats{Partition: p, Offset: -1, HighWater: -1}
		t.stats[p] = st
	}
	return st
}

// Stats returns a snapshot of the counters; it may be called while Run runs.
func (t *Trigger) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.totals
	s.Topic = t.cfg.Topic
	s.Joined = !t.joinedAt.IsZero()
	if !t.started.IsZero() {
		s.Elapsed = time.Since(t.started)
	}
	for _, st := range t.stats {
		s.Partitions = append(s.Partitions, *st)
	}
	slices.SortFunc(s.Partitions, func(a, b PartitionStats) int { return int(a.Partition - b.Partition) })
	for _, pt := range t.parts {
		s.Registered += pt.best
	}
	return s
}

// result hands a finished batch to OnBatch.
func (t *Trigger) result(r BatchResult) {
	if t.cfg.OnBatch == nil {
		return
	}
	t.resultMu.Lock()
	defer t.resultMu.Unlock()
	t.cfg.OnBatch(r)
}
