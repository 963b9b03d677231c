package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/scf-dbbrain/addusercontact/internal/config"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/emulator"
	"github.com/scf-dbbrain/addusercontact/internal/kafkatrigger"
	"github.com/scf-dbbrain/addusercontact/internal/scflocal"
	"github.com/scf-dbbrain/addusercontact/internal/testsupport"
)

// The fleet scenario driven through a topic: contacts published to an
// embedded Kafka topic (kfake, on 127.0.0.1), one message each, and the
// local CKafka trigger (internal/kafkatrigger) feeding each partition's
// batches to an instance of its own, as serverless.yml's trigger does
// (maxMsgNum 100, retry 10000, timeout 120 s).

const (
	topicName  = "dba-onboarding"
	topicGroup = "bench"
	// topicIdle ends a run once every partition has been idle this long.
	topicIdle = 3 * time.Second
)

// topicResult is one run of the trigger over a topic.
type topicResult struct {
	contacts   int
	duration   time.Duration // from the trigger's start to the last batch acknowledged
	stats      kafkatrigger.Stats
	accepted   float64  // accepted AddUserContact calls per second
	seconds    [][2]int // per second from the start: AddUserContact calls accepted, refused
	refused    int      // RequestLimitExceeded answered, over both actions
	duplicates int      // contacts stored more than once
	problems   []string

	// With a kill: the partition's committed offset when its instance was
	// killed, and the first offset the trigger delivered next.
	killed                     bool
	committedAt, redeliveredAt int64
}

// topicLauncher starts instance processes of the real binary, each with the
// key of its partition (one account), and can kill one mid-invocation.
type topicLauncher struct {
	u   *upstream
	out *testsupport.Buffer

	mu        sync.Mutex
	instances []*scflocal.Runtime
	// onInvoke, if set, sees every invocation as it starts.
	onInvoke func(partition int32, rt *scflocal.Runtime, event []byte)
}

func (l *topicLauncher) Launch(ctx context.Context, partition int32) (kafkatrigger.Instance, error) {
	env := deployedEnv(l.u.URL)
	cfg := scflocal.Config{Binary: binary, Timeout: functionTimeout, Uin: functionAccount, Stderr: l.out}
	cfg.ProcessEnv = scflocal.BaseProcessEnv(cfg)
	for _, k := range slices.Sorted(maps.Keys(env)) {
		cfg.ProcessEnv = append(cfg.ProcessEnv, k+"="+env[k])
	}
	key := l.u.fnKeys[int(partition)%len(l.u.fnKeys)]
	env[config.EnvRoleSecretID], env[config.EnvRoleSecretKey], env[config.EnvRoleToken] = key.SecretID, key.SecretKey, key.Token
	cfg.Env = env
	rt, err := scflocal.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.instances = append(l.instances, rt)
	l.mu.Unlock()
	return &topicInstance{l: l, partition: partition, rt: rt}, nil
}

// close stops every instance still running.
func (l *topicLauncher) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, rt := range l.instances {
		_ = rt.Close() // a killed instance reports how it died
	}
}

type topicInstance struct {
	l         *topicLauncher
	partition int32
	rt        *scflocal.Runtime
}

func (i *topicInstance) Invoke(ctx context.Context, event []byte) (kafkatrigger.Reply, error) {
	if i.l.onInvoke != nil {
		i.l.onInvoke(i.partition, i.rt, event)
	}
	res, err := i.rt.Invoke(ctx, event)
	if err != nil {
		return kafkatrigger.Reply{}, err
	}
	if fe := res.FunctionError; fe != nil {
		return kafkatrigger.Reply{Error: &kafkatrigger.FunctionError{Type: fe.Type, Message: fe.Message, TimedOut: res.TimedOut}}, nil
	}
	return kafkatrigger.Reply{Payload: res.Payload}, nil
}

func (i *topicInstance) Close() error {
	_ = i.rt.Close() // a killed instance reports how it died, which the trigger has seen
	return nil
}

// topicKill says when to kill partition 0's instance: after this long
// into its invocation number batch (from 1). A zero batch kills nothing.
type topicKill struct {
	batch int
	after time.Duration
}

// runTopic publishes each contacts to each of partitions partitions and
// runs the trigger until it is idle, killing an instance (SIGKILL) as kill
// says.
func runTopic(tb testing.TB, partitions, each int, kill topicKill) topicResult {
	u := startUpstream(tb, partitions, emulator.Faults{})
	cluster, err := kafkatrigger.Embedded(topicName, partitions)
	if err != nil {
		tb.Fatal(err)
	}
	defer cluster.Close()
	var all []contactIn
	var recs []*kgo.Record
	for p := range partitions {
		cs := newContacts(fmt.Sprintf("t%d", p+1), each)
		all = append(all, cs...)
		for _, c := range cs {
			msg, _ := json.Marshal(c) // strings only: cannot fail
			recs = append(recs, &kgo.Record{Partition: int32(p), Key: []byte(c.Name), Value: msg})
		}
	}
	ctx := context.Background()
	manual := kafkatrigger.Conn{Brokers: cluster.ListenAddrs(), Opts: []kgo.Opt{kgo.RecordPartitioner(kgo.ManualPartitioner())}}
	if err := kafkatrigger.Publish(ctx, manual, topicName, recs); err != nil {
		tb.Fatal(err)
	}

	l := &topicLauncher{u: u, out: &testsupport.Buffer{}}
	defer l.close()
	defer func() {
		if tb.Failed() {
			tb.Logf("output of the function instances:\n%s", tail(l.out.String(), 4<<10))
		}
	}()
	r := topicResult{contacts: partitions * each, committedAt: -1, redeliveredAt: -1}
	var mu sync.Mutex
	var kills sync.WaitGroup
	defer kills.Wait()
	if kill.batch > 0 {
		invoked := 0
		l.onInvoke = func(p int32, rt *scflocal.Runtime, event []byte) {
			if p != 0 {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			invoked++
			switch invoked {
			case kill.batch:
				kills.Go(func() {
					time.Sleep(kill.after)
					committed := committedOffset(cluster, 0)
					if pid := rt.PID(); pid > 0 && syscall.Kill(pid, syscall.SIGKILL) == nil {
						mu.Lock()
						r.killed, r.committedAt = true, committed
						mu.Unlock()
					}
				})
			case kill.batch + 1:
				r.redeliveredAt = firstOffset(event)
			}
		}
	}
	var lastAck time.Time
	tr, err := kafkatrigger.New(kafkatrigger.Config{Conn: kafkatrigger.Conn{Brokers: cluster.ListenAddrs()}, Topic: topicName, Group: topicGroup,
		Start: kafkatrigger.Earliest, MaxMsg: kafkatrigger.DefaultMaxMsg, Retry: kafkatrigger.DefaultRetry, UntilIdle: topicIdle, Launcher: l,
		OnBatch: func(b kafkatrigger.BatchResult) {
			if b.Outcome == kafkatrigger.OutcomeAcknowledged {
				lastAck = time.Now()
			}
		},
		Logf: func(format string, args ...any) { fmt.Fprintf(l.out, "trigger: "+format+"\n", args...) }})
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	if r.stats, err = tr.Run(ctx); err != nil {
		tb.Fatal(err)
	}
	r.duration = lastAck.Sub(start)
	st := u.Server.Stats()
	add := st.Actions[dbbrain.ActionAddUserContact]
	r.accepted = callRate(add.Accepted)
	n := int(r.duration/time.Second) + 1
	acc, ref := perSecond(add.Accepted, start, n), perSecond(add.Refused, start, n)
	for i := range n {
		r.seconds = append(r.seconds, [2]int{acc[i], ref[i]})
	}
	r.refused = refused(st)
	names := map[string]bool{}
	for _, c := range u.Server.Contacts() {
		if names[c.Name] {
			r.duplicates++
		}
		names[c.Name] = true
	}
	r.problems = u.checkStored(tb, all)
	if !r.stats.AllAcknowledged() {
		r.problems = append(r.problems, fmt.Sprintf("not every batch was acknowledged: %+v", r.stats))
	}
	mu.Lock()
	defer mu.Unlock()
	if kill.batch > 0 && (!r.killed || r.redeliveredAt != max(r.committedAt, 0)) {
		r.problems = append(r.problems, fmt.Sprintf("killed %t with offset %d committed; redelivered from %d", r.killed, r.committedAt, r.redeliveredAt))
	}
	return r
}

// committedOffset is the group's committed offset of partition p, -1 for
// none.
func committedOffset(c *kfake.Cluster, p int32) int64 {
	if gi := c.GroupInfo(topicGroup); gi != nil {
		if co, ok := gi.Commits[topicName][p]; ok {
			return co.Offset
		}
	}
	return -1
}

// firstOffset reads the first record's offset of a CKafka event.
func firstOffset(event []byte) int64 {
	var ev struct {
		Records []struct{ Ckafka struct{ Offset int64 } }
	}
	if json.Unmarshal(event, &ev) != nil || len(ev.Records) == 0 {
		return -1
	}
	return ev.Records[0].Ckafka.Offset
}

// BenchmarkTopic is the fleet through a topic: 4 partitions × 250
// contacts, one instance per partition, at the account's limit.
func BenchmarkTopic(b *testing.B) {
	once(b)
	reportTopic(b, "topic-", runTopic(b, 4, 250, topicKill{}))
}

// BenchmarkTopicKill is BenchmarkTopic with partition 0's instance killed
// (kill -9) 2 s into its second batch (offsets 100-199), which the trigger
// delivers again from the last committed offset (100) to a fresh instance.
func BenchmarkTopicKill(b *testing.B) {
	once(b)
	r := runTopic(b, 4, 250, topicKill{batch: 2, after: 2 * time.Second})
	reportTopic(b, "kill-", r)
	b.ReportMetric(float64(r.committedAt), "kill-committed-offset")
	b.ReportMetric(float64(r.redeliveredAt), "kill-redelivered-from")
}

func reportTopic(b *testing.B, p string, r topicResult) {
	b.ReportMetric(float64(r.contacts)/r.duration.Seconds()/limit, p+"ratio")
	b.ReportMetric(r.accepted/limit, p+"accepted/limit")
	b.ReportMetric(r.duration.Seconds(), p+"s")
	b.ReportMetric(float64(r.contacts), p+"contacts")
	b.ReportMetric(float64(r.refused), p+"refused")
	b.ReportMetric(float64(r.duplicates), p+"duplicates")
	b.ReportMetric(float64(r.stats.Batches), p+"batches")
	b.ReportMetric(float64(r.stats.Retried), p+"batches-retried")
	b.ReportMetric(float64(r.stats.FailedAttempts), p+"failed-attempts")
	b.ReportMetric(pass(len(r.problems) == 0), p+"stored-ok")
	var secs []string
	for _, s := range r.seconds {
		secs = append(secs, fmt.Sprintf("%d,%d", s[0], s[1]))
	}
	b.Log(p + "per-second " + strings.Join(secs, " "))
	logProblems(b, r.problems)
}

// TestTopic runs both topic scenarios small, so that make test keeps them
// working.
func TestTopic(t *testing.T) {
	t.Run("fleet", func(t *testing.T) {
		t.Parallel()
		r := runTopic(t, 2, 10, topicKill{})
		if len(r.problems) > 0 || r.duplicates != 0 || r.stats.Records != 20 {
			t.Errorf("2 x 10 through a topic: %+v; problems: %s", r, strings.Join(r.problems, "; "))
		}
	})
	t.Run("kill", func(t *testing.T) {
		t.Parallel()
		r := runTopic(t, 2, 10, topicKill{batch: 1, after: 100 * time.Millisecond})
		if len(r.problems) > 0 || r.duplicates != 0 || r.stats.FailedAttempts == 0 {
			t.Errorf("2 x 10 with a kill: %+v; problems: %s", r, strings.Join(r.problems, "; "))
		}
	})
}
