package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/emulator"
)

// The scenarios, shared by the benchmarks (full size) and TestScenarios
// (small). Each starts its own emulator and function processes, which tb's
// cleanup stops, also on failure.

// batchResult is one instance registering one batch.
type batchResult struct {
	items, ok int
	duration  time.Duration // the invocation's, request sent to answer
	rate      float64       // accepted AddUserContact calls per second
	maxWindow int           // most accepted AddUserContact calls in a second
	refused   int           // RequestLimitExceeded answered to the function
	surfaced  int           // results that carry RequestLimitExceeded
	peakRSS   int64         // of the function process, in bytes
}

func runBatch(tb testing.TB, n int) batchResult {
	u := startUpstream(tb, 1, emulator.Faults{})
	f := u.startFunction(tb, 0)
	inv, err := f.invoke(batchPayload(newContacts("b", n)))
	if err != nil {
		tb.Fatal(err)
	}
	st := u.Server.Stats()
	accepted := st.Actions[dbbrain.ActionAddUserContact].Accepted
	r := batchResult{items: n, ok: inv.Response.SucceededCount, duration: inv.res.Duration, rate: callRate(accepted),
		maxWindow: maxInWindow(accepted), refused: refused(st), peakRSS: inv.res.MaxMemoryUsedBytes}
	for _, it := range inv.Response.Results {
		if it.Error != nil && apierror.Family(it.Error.Code) == apierror.RequestLimitExceeded {
			r.surfaced++
		}
	}
	return r
}

// coldStarts starts n instances one after another and returns, for each,
// the time from process start to its first Function.Ping answer.
func coldStarts(tb testing.TB, n int) []time.Duration {
	u := startUpstream(tb, n, emulator.Faults{})
	var out []time.Duration
	for i := range n {
		f := u.startFunction(tb, i)
		// An empty event is answered without calling DBbrain.
		inv, err := f.invoke([]byte(`{}`))
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, inv.res.InitDuration)
		if err := f.rt.Close(); err != nil { // one instance at a time, as each start is timed alone
			tb.Fatal(err)
		}
	}
	return out
}

// warmResult holds warm single-contact invocations and the same call made
// directly, n of each.
type warmResult struct {
	invocations, direct []time.Duration
}

// warmSpacing separates the calls so that neither the function's pace nor
// the emulator's window delays any: only the work is measured.
const warmSpacing = 120 * time.Millisecond

func runWarm(tb testing.TB, n int) warmResult {
	u := startUpstream(tb, 1, emulator.Faults{})
	f := u.startFunction(tb, 0)
	c, cred, release := u.client(tb)
	defer release()
	fn, direct := newContacts("w", n+1), newContacts("d", n+1)
	var r warmResult
	// The first of each warms up: the instance's first invocation, the
	// bench's first connection.
	for i := range n + 1 {
		payload, _ := json.Marshal(fn[i]) // strings only: cannot fail
		inv, err := f.invoke(payload)
		if err == nil && inv.Response.ID == nil {
			err = fmt.Errorf("invocation %d answered no Id: %+v", i, inv.Response.Error)
		}
		if err != nil {
			tb.Fatal(err)
		}
		time.Sleep(warmSpacing)
		start := time.Now()
		_, err = c.AddUserContact(context.Background(), cred, direct[i].Name, direct[i].ContactInfo, direct[i].Product)
		took := time.Since(start)
		if err != nil {
			tb.Fatalf("direct call %d: %v", i, err)
		}
		time.Sleep(warmSpacing)
		if i > 0 {
			r.invocations, r.direct = append(r.invocations, inv.res.Duration), append(r.direct, took)
		}
	}
	return r
}

// faultResult is a batch invoked twice (each until done) against one
// emulator that injects the same faults throughout, as a retried
// invocation meets the same flaky service.
type faultResult struct {
	runs          [2]batchRun
	adds, lookups [2]int // requests that reached the emulator in each run
	problems      []string
}

func runFaults(tb testing.TB, faults emulator.Faults, n int) faultResult {
	u := startUpstream(tb, 1, faults)
	f := u.startFunction(tb, 0)
	cs := newContacts("x", n)
	var r faultResult
	for i := range r.runs {
		before := u.Server.Stats()
		run, err := f.invokeUntilDone(batchPayload(cs))
		if err != nil {
			tb.Fatalf("run %d: %v", i+1, err)
		}
		after := u.Server.Stats()
		r.runs[i] = run
		r.adds[i] = requests(before, after, dbbrain.ActionAddUserContact)
		r.lookups[i] = requests(before, after, dbbrain.ActionDescribeAllUserContact)
	}
	if err := u.Server.SetFaults(emulator.Faults{}); err != nil {
		tb.Fatal(err)
	}
	r.problems = u.checkStored(tb, cs, r.runs[0].ids, r.runs[1].ids)
	return r
}

// fleetResult is several instances, each a process of its own with its own
// key of one account, registering a batch each at the same moment.
type fleetResult struct {
	contacts    int
	duration    time.Duration // from the start until the last instance answered
	ok, failed  int           // results over all instances
	retryable   int           // instances that answered with a function error
	refused     int           // RequestLimitExceeded answered to the fleet
	duplicates  int           // contacts stored more than once
	problems    []string      // what the store holds that it should not, or lacks
	seconds     [][4]int      // per second: adds accepted, refused; lookups accepted, refused
	perInstance []time.Duration
}

func runFleet(tb testing.TB, instances, each int) fleetResult {
	u := startUpstream(tb, instances, emulator.Faults{})
	fns := make([]*function, instances)
	payloads := make([][]byte, instances)
	var all []contactIn
	for i := range fns {
		fns[i] = u.startFunction(tb, i)
		cs := newContacts(fmt.Sprintf("f%d", i+1), each)
		payloads[i], all = batchPayload(cs), append(all, cs...)
	}
	invs, ends, errs := make([]invocation, instances), make([]time.Time, instances), make([]error, instances)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i, f := range fns {
		wg.Go(func() {
			<-gate
			invs[i], errs[i] = f.invoke(payloads[i])
			ends[i] = time.Now()
		})
	}
	start := time.Now()
	close(gate)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tb.Fatal(err)
		}
	}
	r := fleetResult{contacts: instances * each, duration: slices.MaxFunc(ends, time.Time.Compare).Sub(start)}
	ids := map[string]int64{}
	for i, inv := range invs {
		r.ok, r.failed = r.ok+inv.Response.SucceededCount, r.failed+inv.Response.FailedCount
		if inv.retryable {
			r.retryable++
		}
		for _, it := range inv.Response.Results {
			if it.ID != nil {
				ids[it.Name] = *it.ID
			}
		}
		r.perInstance = append(r.perInstance, ends[i].Sub(start))
	}
	st := u.Server.Stats()
	r.refused = refused(st)
	names := map[string]bool{}
	for _, c := range u.Server.Contacts() {
		if names[c.Name] {
			r.duplicates++
		}
		names[c.Name] = true
	}
	r.problems = u.checkStored(tb, all, ids)
	n := int(r.duration/time.Second) + 1
	add, look := st.Actions[dbbrain.ActionAddUserContact], st.Actions[dbbrain.ActionDescribeAllUserContact]
	aa, ar := perSecond(add.Accepted, start, n), perSecond(add.Refused, start, n)
	la, lr := perSecond(look.Accepted, start, n), perSecond(look.Refused, start, n)
	for s := range n {
		r.seconds = append(r.seconds, [4]int{aa[s], ar[s], la[s], lr[s]})
	}
	for len(r.seconds) > 1 && r.seconds[len(r.seconds)-1] == [4]int{} { // the answers' own second
		r.seconds = r.seconds[:len(r.seconds)-1]
	}
	return r
}

// The key floods: about 6 MB (the synchronous invocation limit) of keys the
// function does not know, the shape that once made the decoder collect a
// message per key.
const (
	floodDirectKeys = 560_000 // ,"k%05x":0 after a contact: 11 bytes each, 6.2 MB
	floodQueryKeys  = 578_000 // "abcd":"" in queryString: 10 bytes each, 5.8 MB
)

// directKeyFlood is a direct invocation of a valid contact followed by keys
// unknown members.
func directKeyFlood(keys int) []byte {
	var b bytes.Buffer
	b.Grow(64 + 11*keys)
	b.WriteString(`{"Name":"John Smith","ContactInfo":"test@qq.com","Product":"mysql"`)
	for i := range keys {
		fmt.Fprintf(&b, `,"k%05x":0`, i)
	}
	b.WriteString("}")
	return b.Bytes()
}

// functionURLKeyFlood is a Function URL POST of a valid contact whose query
// string carries keys parameters, each empty.
func functionURLKeyFlood(keys int) []byte {
	var b bytes.Buffer
	b.Grow(256 + 10*keys)
	b.WriteString(`{"body":"{\"Name\":\"John Smith\",\"ContactInfo\":\"test@qq.com\",\"Product\":\"mysql\"}",`)
	b.WriteString(`"headers":{"content-type":"application/json","host":"1250000000-k8ph6oqx-gz.scf.tencentcs.com"},`)
	b.WriteString(`"httpMethod":"POST","path":"/","queryString":{`)
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz" // one case: names differing in case alone are another refusal
	for i := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		n := len(digits)
		b.Write([]byte{'"', digits[i/(n*n*n)%n], digits[i/(n*n)%n], digits[i/n%n], digits[i%n], '"', ':', '"', '"'})
	}
	b.WriteString("}}")
	return b.Bytes()
}

// The record floods: CKafka deliveries of about 6 MB whose messages the
// function reads whole, so that what it keeps per contact or per failure
// is what the peak measures.
const (
	floodRecords         = 9_990 // under the 10,000 members a list may hold
	floodContactsPerMsg  = 8     // valid contacts per message: 79,920 in 5.9 MB
	floodInvalidPerMsg   = 1_000 // invalid contacts per message, the most a batch holds
	floodInvalidMessages = 360   // of 17 KB each: 6.2 MB
)

// ckafkaFlood is a CKafka delivery of messages, each a batch of contacts;
// contact(n) is the n-th contact's JSON.
func ckafkaFlood(messages, perMessage int, contact func(n int) string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	for i := range messages {
		if i > 0 {
			b.WriteByte(',')
		}
		parts := make([]string, perMessage)
		for j := range parts {
			parts[j] = contact(i*perMessage + j)
		}
		body, _ := json.Marshal(`{"Contacts":[` + strings.Join(parts, ",") + `]}`)
		fmt.Fprintf(&b, `{"Ckafka":{"topic":"onboarding","partition":0,"offset":%d,"msgKey":"","msgBody":%s}}`, i, body)
	}
	b.WriteString("]}")
	return b.Bytes()
}

// recordContactsFlood is a delivery of floodRecords messages of valid
// contacts, more than a 10-s invocation registers: most are not attempted.
func recordContactsFlood(int) []byte {
	return ckafkaFlood(floodRecords, floodContactsPerMsg, func(n int) string {
		return fmt.Sprintf(`{"Name":"c%07d","ContactInfo":"c%07d@example.com"}`, n, n)
	})
}

// recordInvalidFlood is a delivery of messages of invalid contacts (no
// ContactInfo), each of which the function must report.
func recordInvalidFlood(int) []byte {
	return ckafkaFlood(floodInvalidMessages, floodInvalidPerMsg, func(int) string { return `{"Name":"x"}` })
}

// floodResult is one key-flood event through a fresh instance.
type floodResult struct {
	bytes    int
	peakRSS  int64 // of the function process, in bytes, cold start included
	duration time.Duration
	answer   string // the start of the function's answer
}

// runKeyFlood invokes a fresh instance with payload, with the time limit
// given (0: serverless.yml's). The function must answer (a refusal, or
// contacts not attempted for lack of time), not crash or time out.
func runKeyFlood(tb testing.TB, payload []byte, timeout time.Duration) floodResult {
	u := startUpstream(tb, 1, emulator.Faults{})
	u.timeout = timeout
	f := u.startFunction(tb, 0)
	res, err := f.rt.Invoke(context.Background(), payload)
	if err != nil {
		tb.Fatalf("invoking the function: %v", err)
	}
	if res.TimedOut || res.FunctionError != nil && res.FunctionError.ShouldExit {
		tb.Fatalf("the function did not answer the key flood: %+v", res.FunctionError)
	}
	answer := res.Payload
	if fe := res.FunctionError; fe != nil {
		answer = []byte(fe.Message)
	}
	return floodResult{bytes: len(payload), peakRSS: res.MaxMemoryUsedBytes, duration: res.Duration,
		answer: strings.Join(strings.Fields(string(answer[:min(len(answer), 120)])), " ")}
}

// rerunResult is a batch invoked when some of its contacts are registered
// already: by an earlier delivery of the whole batch (a redelivery), or of
// part of it.
type rerunResult struct {
	items, ok     int
	adds, lookups int // requests that reached the emulator during the rerun
	duration      time.Duration
	problems      []string
}

// runRerun registers the contacts for which registered is true with one
// invocation, then invokes the whole batch of n and measures that.
func runRerun(tb testing.TB, n int, registered func(i int) bool) rerunResult {
	u := startUpstream(tb, 1, emulator.Faults{})
	f := u.startFunction(tb, 0)
	cs := newContacts("r", n)
	var first []contactIn
	for i, c := range cs {
		if registered(i) {
			first = append(first, c)
		}
	}
	pre, err := f.invokeUntilDone(batchPayload(first))
	if err == nil && len(pre.ids) != len(first) {
		err = fmt.Errorf("registering %d contacts first: only %d succeeded", len(first), len(pre.ids))
	}
	if err != nil {
		tb.Fatal(err)
	}
	before := u.Server.Stats()
	inv, err := f.invoke(batchPayload(cs))
	if err != nil {
		tb.Fatal(err)
	}
	after := u.Server.Stats()
	r := rerunResult{items: n, ok: inv.Response.SucceededCount, duration: inv.res.Duration,
		adds:    requests(before, after, dbbrain.ActionAddUserContact),
		lookups: requests(before, after, dbbrain.ActionDescribeAllUserContact)}
	ids := map[string]int64{}
	for _, it := range inv.Response.Results {
		if it.ID != nil {
			ids[it.Name] = *it.ID
		}
	}
	r.problems = u.checkStored(tb, cs, ids)
	for name, id := range pre.ids {
		if ids[name] != id {
			r.problems = append(r.problems, fmt.Sprintf("%s: registered as %d, the rerun answered %d", name, id, ids[name]))
		}
	}
	return r
}

// median is the nearest-rank median: a value that was observed.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}
