package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"

	"github.com/scf-dbbrain/addusercontact/internal/config"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/emulator"
	"github.com/scf-dbbrain/addusercontact/internal/scflocal"
	"github.com/scf-dbbrain/addusercontact/internal/testsupport"
)

const (
	// limit is the account's AddUserContact limit, which the emulator
	// enforces at its default and every ratio is taken against.
	limit = dbbrain.RateLimit
	// functionTimeout is serverless.yml's timeout.
	functionTimeout = 120 * time.Second
	// functionAccount owns the function instances' keys; benchAccount the
	// key of the bench's own calls, so that these never take a slot of the
	// function's rate window.
	functionAccount = scflocal.DefaultUin
	benchAccount    = "100000000002"
	// maxInvocations bounds how often a batch is invoked again after a
	// retryable failure, as the platform would.
	maxInvocations = 5
)

// deployedEnv is the function's configuration as serverless.yml deploys it,
// pointed at the emulator.
func deployedEnv(endpoint string) map[string]string {
	return map[string]string{
		config.EnvRegion:      dbbrain.DefaultRegion,
		config.EnvEndpoint:    endpoint,
		config.EnvRPS:         "20",
		config.EnvConcurrency: "10",
		config.EnvMargin:      "500ms",
		config.EnvLogLevel:    "info",
	}
}

// upstream is one scenario's emulator on 127.0.0.1, with a temporary key per
// function instance (one account) and one for the bench (another account).
type upstream struct {
	*emulator.Running
	fnKeys   []emulator.Key
	benchKey emulator.Key
	timeout  time.Duration // the functions' time limit; 0 means functionTimeout
}

// startUpstream starts an emulator at the default limit with faults, stopped
// when tb ends.
func startUpstream(tb testing.TB, instances int, faults emulator.Faults) *upstream {
	tb.Helper()
	u := &upstream{benchKey: emulator.NewTemporaryKey(benchAccount)}
	for range instances {
		u.fnKeys = append(u.fnKeys, emulator.NewTemporaryKey(functionAccount))
	}
	keys := append(slices.Clone(u.fnKeys), u.benchKey)
	run, err := emulator.Start(context.Background(), "127.0.0.1:0", emulator.Config{Keys: keys, Seed: 1, Faults: faults})
	if err != nil {
		tb.Fatalf("starting the emulator: %v", err)
	}
	tb.Cleanup(func() {
		if err := run.Stop(); err != nil {
			tb.Errorf("stopping the emulator: %v", err)
		}
	})
	u.Running = run
	return u
}

// function is one instance of the built function, a process of its own.
type function struct {
	rt  *scflocal.Runtime
	out *testsupport.Buffer
}

// startFunction starts instance i of the function, signing with fnKeys[i].
// The configuration is in its process environment, as SCF sets a
// function's variables at start; the role's keys come with each invocation.
// It is stopped when tb ends (before the emulator, which started first), and
// its output is shown if tb failed.
func (u *upstream) startFunction(tb testing.TB, i int) *function {
	tb.Helper()
	f := &function{out: &testsupport.Buffer{}}
	env := deployedEnv(u.URL)
	cfg := scflocal.Config{Binary: binary, Timeout: cmp.Or(u.timeout, functionTimeout), Uin: functionAccount, Stderr: f.out}
	cfg.ProcessEnv = scflocal.BaseProcessEnv(cfg)
	for _, k := range slices.Sorted(maps.Keys(env)) {
		cfg.ProcessEnv = append(cfg.ProcessEnv, k+"="+env[k])
	}
	key := u.fnKeys[i]
	env[config.EnvRoleSecretID], env[config.EnvRoleSecretKey], env[config.EnvRoleToken] = key.SecretID, key.SecretKey, key.Token
	cfg.Env = env
	rt, err := scflocal.Start(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("starting the function: %v", err)
	}
	f.rt = rt
	tb.Cleanup(func() {
		if err := rt.Close(); err != nil { // the process is gone once it returns
			tb.Errorf("stopping function instance %d: %v", i, err)
		}
		if tb.Failed() {
			tb.Logf("output of function instance %d:\n%s", i, tail(f.out.String(), 4<<10))
		}
	})
	return f
}

// client returns a DBbrain client signing with the bench's own key, and a
// function that releases its connections.
func (u *upstream) client(tb testing.TB) (*dbbrain.Client, common.CredentialIface, func()) {
	tb.Helper()
	ep, err := dbbrain.ResolveEndpoint(dbbrain.DefaultRegion, u.URL)
	if err != nil {
		tb.Fatal(err)
	}
	tr := dbbrain.NewTransport(2)
	k := u.benchKey
	return dbbrain.NewClient(dbbrain.DefaultRegion, ep, tr), common.NewTokenCredential(k.SecretID, k.SecretKey, k.Token), tr.CloseIdleConnections
}

// errorBody is the Error of an envelope or a batch result.
type errorBody struct{ Code, Message string }

// answer is the function's envelope: a batch's results, a single contact's
// Id, or an error.
type answer struct {
	Response struct {
		Results []struct {
			Name  string
			ID    *int64 `json:"Id"`
			Error *errorBody
		}
		SucceededCount, FailedCount int
		ID                          *int64 `json:"Id"`
		Error                       *errorBody
	}
}

// invocation is one invocation's result.
type invocation struct {
	answer
	res *scflocal.Result
	// retryable is set when the function returned the envelope as a
	// function error: something failed that a new invocation can fix.
	retryable bool
}

// invoke sends payload; an invocation that gave no envelope (a timeout, a
// crash, a panic) is an error. It may run on any goroutine.
func (f *function) invoke(payload []byte) (invocation, error) {
	res, err := f.rt.Invoke(context.Background(), payload)
	if err != nil {
		return invocation{}, fmt.Errorf("invoking the function: %w", err)
	}
	inv := invocation{res: res}
	body := res.Payload
	if fe := res.FunctionError; fe != nil {
		if res.TimedOut {
			return inv, fmt.Errorf("the function timed out after %s", res.Timeout)
		}
		body, inv.retryable = []byte(fe.Message), true
	}
	if err := json.Unmarshal(body, &inv.answer); err != nil {
		return inv, fmt.Errorf("the answer is not an envelope (%w): %.300s", err, body)
	}
	return inv, nil
}

// batchRun is a batch invoked until it no longer asks to be retried, as the
// platform redelivers a failed invocation.
type batchRun struct {
	last        invocation
	invocations int
	duration    time.Duration    // all invocations together
	ids         map[string]int64 // every contact any invocation registered
}

func (f *function) invokeUntilDone(payload []byte) (batchRun, error) {
	r := batchRun{ids: map[string]int64{}}
	for r.invocations == 0 || (r.last.retryable && r.invocations < maxInvocations) {
		inv, err := f.invoke(payload)
		if err != nil {
			return r, err
		}
		r.last, r.invocations, r.duration = inv, r.invocations+1, r.duration+inv.res.Duration
		for _, it := range inv.Response.Results {
			if it.ID != nil {
				r.ids[it.Name] = *it.ID
			}
		}
	}
	return r, nil
}

// contactIn is one contact as a caller sends it.
type contactIn struct{ Name, ContactInfo, Product string }

// newContacts returns n distinct valid contacts named after prefix. Every
// fifth name is Chinese, as the API page's own example is. Names are
// fixed-width, so that none is a substring of another, which
// DescribeAllUserContact's fuzzy match would also return.
func newContacts(prefix string, n int) []contactIn {
	out := make([]contactIn, n)
	for i := range out {
		name := fmt.Sprintf("%s_%04d", prefix, i+1)
		if i%5 == 4 {
			name = "联系人_" + name
		}
		out[i] = contactIn{Name: name, ContactInfo: fmt.Sprintf("%s.%04d@example.com", prefix, i+1), Product: dbbrain.Product}
	}
	return out
}

func batchPayload(cs []contactIn) []byte {
	b, _ := json.Marshal(struct{ Contacts []contactIn }{cs}) // strings only: cannot fail
	return b
}

// callRate is the rate of calls from their arrival times: n-1 intervals over
// the span from the first to the last; 0 for fewer than two.
func callRate(times []time.Time) float64 {
	if len(times) < 2 {
		return 0
	}
	s := sortedTimes(times)
	if span := s[len(s)-1].Sub(s[0]).Seconds(); span > 0 {
		return float64(len(s)-1) / span
	}
	return 0
}

// maxInWindow is the most arrivals in any one-second window (t-1s, t], the
// emulator's own rule; the maximum is reached at an arrival, so only those
// windows are checked.
func maxInWindow(times []time.Time) int {
	s := sortedTimes(times)
	best, lo := 0, 0
	for hi, t := range s {
		for !s[lo].After(t.Add(-time.Second)) {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

// perSecond counts times in whole seconds from start, over seconds buckets.
func perSecond(times []time.Time, start time.Time, seconds int) []int {
	out := make([]int, seconds)
	for _, t := range times {
		if s := int(t.Sub(start) / time.Second); !t.Before(start) && s < seconds {
			out[s]++
		}
	}
	return out
}

func sortedTimes(times []time.Time) []time.Time {
	s := slices.Clone(times)
	slices.SortFunc(s, time.Time.Compare)
	return s
}

// requests is how many requests for action reached the emulator between two
// snapshots of its Stats.
func requests(before, after emulator.Stats, action string) int {
	return int(after.Actions[action].Requests - before.Actions[action].Requests)
}

// refused counts the calls the emulator's rate limiter refused, each
// answered with RequestLimitExceeded.
func refused(st emulator.Stats) int {
	n := 0
	for _, a := range st.Actions {
		n += len(a.Refused)
	}
	return n
}

// checkStored compares the emulator's contacts with the batch: every contact
// exactly once, with its email and with the Id each run answered, and
// nothing else. It lists through the API with the bench's key, and
// cross-checks the emulator's own store.
func (u *upstream) checkStored(tb testing.TB, cs []contactIn, runs ...map[string]int64) []string {
	tb.Helper()
	c, cred, release := u.client(tb)
	defer release()
	listed, err := c.DescribeAllUserContact(context.Background(), cred, nil)
	if err != nil {
		tb.Fatalf("listing the contacts: %v", err)
	}
	var problems []string
	byName := map[string][]dbbrain.Contact{}
	for _, c := range listed.Contacts {
		byName[c.Name] = append(byName[c.Name], c)
	}
	for _, want := range cs {
		got := byName[want.Name]
		delete(byName, want.Name)
		switch {
		case len(got) == 0:
			problems = append(problems, want.Name+" is missing")
			continue
		case len(got) > 1:
			problems = append(problems, fmt.Sprintf("%s exists %d times", want.Name, len(got)))
		case !strings.EqualFold(got[0].Mail, want.ContactInfo):
			problems = append(problems, want.Name+" has another email")
		}
		for i, ids := range runs {
			if id, ok := ids[want.Name]; !ok || id != got[0].ID {
				problems = append(problems, fmt.Sprintf("%s: run %d answered Id %d (ok %t), DBbrain lists %d", want.Name, i+1, id, ok, got[0].ID))
			}
		}
	}
	for name := range byName {
		problems = append(problems, "unexpected contact "+name)
	}
	if stored := u.Server.Contacts(); len(stored) != len(listed.Contacts) {
		problems = append(problems, fmt.Sprintf("the API lists %d contacts, the emulator stores %d", len(listed.Contacts), len(stored)))
	}
	return problems
}

// tail returns the last n bytes of s, from a line start.
func tail(s string, n int) string {
	if len(s) > n {
		s = s[len(s)-n:]
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	return s
}
