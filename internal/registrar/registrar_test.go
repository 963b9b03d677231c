package registrar

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/contact"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/emulator"
	"github.com/scf-dbbrain/addusercontact/internal/testsupport"
)

var key = emulator.Key{SecretID: "AKIDregistrarTEST000000000000000000", SecretKey: "registrarSECRET0000000000000000", Token: "registrarTOKEN00000000000000000000000"}

func fastBackoff() backoff.BackOff {
	return &backoff.ExponentialBackOff{InitialInterval: 20 * time.Millisecond, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: 200 * time.Millisecond}
}

// upstream is an emulator reached in memory, and a registrar's parts.
type upstream struct {
	emu    *emulator.Server
	client *dbbrain.Client
}

func newUpstream(t *testing.T, cfg emulator.Config) *upstream {
	t.Helper()
	cfg.Keys = []emulator.Key{key}
	if cfg.Seed == 0 {
		cfg.Seed = 7
	}
	emu, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	ep, err := dbbrain.ResolveEndpoint(dbbrain.DefaultRegion, "http://dbbrain.localhost")
	if err != nil {
		t.Fatal(err)
	}
	return &upstream{emu: emu, client: dbbrain.NewClient(dbbrain.DefaultRegion, ep, testsupport.InMemory{Handler: emu})}
}

func (u *upstream) registrar(rps float64) *Registrar {
	return &Registrar{
		API:         u.client,
		Credential:  common.NewTokenCredential(key.SecretID, key.SecretKey, key.Token),
		Adds:        NewPacer(rps, time.Now),
		Lookups:     NewPacer(rps, time.Now),
		Concurrency: 8,
		Margin:      50 * time.Millisecond,
		Backoff:     fastBackoff,
	}
}

// tokenFailure is the code DBbrain (and the emulator) answers for a
// session token it does not know.
const tokenFailure = "AuthFailure.TokenFailure"

func withTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// exactlyOnce checks every contact exists once, with the id the outcome
// reported.
func exactlyOnce(t *testing.T, emu *emulator.Server, cs []contact.Contact, outs []Outcome) {
	t.Helper()
	byName := map[string][]emulator.Contact{}
	for _, c := range emu.Contacts() {
		byName[c.Name] = append(byName[c.Name], c)
	}
	for i, c := range cs {
		got := byName[c.Name]
		if len(got) != 1 {
			t.Errorf("%s exists %d times", c.Name, len(got))
			continue
		}
		if outs != nil && outs[i].Err == nil && outs[i].ID != got[0].Id {
			t.Errorf("%s: outcome id %d, stored id %d", c.Name, outs[i].ID, got[0].Id)
		}
	}
}

func calls(emu *emulator.Server, action string) int64 { return emu.Stats().Actions[action].Requests }

func TestRetriesEachFaultKind(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]emulator.Faults{
		"internal error": {InternalError: 0.3},
		"bare 503":       {Unavailable: 0.3},
		"dropped":        {Drop: 0.3},
		"mixed":          {InternalError: 0.1, Unavailable: 0.1, Drop: 0.1},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				u := newUpstream(t, emulator.Config{RPS: -1, Faults: f})
				r := u.registrar(1000)
				r.LookFirst = true // a batch, as the handler sends it
				cs := people("fault", 60)
				outs := r.Register(withTimeout(t, 60*time.Second), cs)
				retried := 0
				for i, o := range outs {
					if o.Err != nil {
						t.Errorf("%s failed: %v", cs[i].Name, o.Err)
					}
					if o.Attempts > 1 || o.Existing {
						retried++
					}
				}
				if retried == 0 {
					t.Error("no contact needed a retry: the faults did not fire")
				}
				exactlyOnce(t, u.emu, cs, outs)

				// The same batch again, as a redelivery meeting the same faults:
				// every contact is found as it was, and none is created twice.
				// (A chunk whose lookup fails three times is sent, and its
				// contacts are found after DBbrain refuses the names; the one
				// lookup after such a refusal may fail three times too, about
				// one contact in forty of such a chunk, and the contact is
				// then left for a later try, never failed for good.)
				again := r.Register(withTimeout(t, 60*time.Second), cs)
				found := 0
				for i, o := range again {
					switch {
					case o.Err == nil && o.ID == outs[i].ID && o.Existing:
						found++
					case o.Err != nil && apierror.KindOf(o.Err).Retryable():
					default:
						t.Errorf("second run %s: %+v, first id %d", cs[i].Name, o, outs[i].ID)
					}
				}
				if found < len(cs)/2 {
					t.Errorf("the second run found %d of %d", found, len(cs))
				}
				exactlyOnce(t, u.emu, cs, again)

				// Once the faults are gone, a redelivery finds every one as it
				// was, without sending any.
				if err := u.emu.SetFaults(emulator.Faults{}); err != nil {
					t.Fatal(err)
				}
				adds := calls(u.emu, dbbrain.ActionAddUserContact)
				for i, o := range r.Register(withTimeout(t, 60*time.Second), cs) {
					if o.Err != nil || o.ID != outs[i].ID || !o.Existing {
						t.Errorf("third run %s: %+v, first id %d", cs[i].Name, o, outs[i].ID)
					}
				}
				if n := calls(u.emu, dbbrain.ActionAddUserContact) - adds; n != 0 {
					t.Errorf("the third run sent %d AddUserContact calls", n)
				}
				exactlyOnce(t, u.emu, cs, nil)
			})
		})
	}
}

func TestRequestLimitStormIsRetried(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// The account allows 5 per second; the ceiling says 50: the pacer
		// must find the limit, and every throttled call be retried.
		u := newUpstream(t, emulator.Config{RPS: 5})
		r := u.registrar(50)
		r.LookFirst = true
		cs := people("storm", 30)
		outs := r.Register(withTimeout(t, 60*time.Second), cs)
		for i, o := range outs {
			if o.Err != nil {
				t.Errorf("%s: %v", cs[i].Name, o.Err)
			}
		}
		if n := u.emu.Stats().Codes[apierror.RequestLimitExceeded]; n == 0 || n > 15 {
			t.Errorf("%d calls throttled, want some and few", n)
		}
		if r.Adds.Rate() > 6 {
			t.Errorf("the pace stayed at %.1f/s against a limit of 5", r.Adds.Rate())
		}
		exactlyOnce(t, u.emu, cs, outs)
	})
}

func TestNonRetryableFailsAtOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		u := newUpstream(t, emulator.Config{RPS: -1})
		r := u.registrar(1000)
		r.Credential = common.NewTokenCredential(key.SecretID, key.SecretKey, "wrong-token")
		o := r.Register(withTimeout(t, 5*time.Second), people("auth", 1))[0]
		if apierror.CodeOf(o.Err) != tokenFailure || apierror.KindOf(o.Err) != apierror.Setup || o.Attempts != 1 {
			t.Fatalf("got %v (kind %d) after %d attempts", o.Err, apierror.KindOf(o.Err), o.Attempts)
		}
		if st := u.emu.Stats(); st.Requests != 1 {
			t.Errorf("%d requests: an auth failure must neither retry nor look up", st.Requests)
		}
	})
}

func TestExistingContactIsSuccess(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		u := newUpstream(t, emulator.Config{RPS: -1})
		r := u.registrar(1000)
		c := people("exists", 1)[0]
		first := r.Register(withTimeout(t, 5*time.Second), []contact.Contact{c})[0]
		if first.Err != nil {
			t.Fatal(first.Err)
		}
		same := c
		same.ContactInfo = strings.ToUpper(c.ContactInfo) // addresses compare up to ASCII case
		second := r.Register(withTimeout(t, 5*time.Second), []contact.Contact{same})[0]
		if second.Err != nil || second.ID != first.ID || !second.Existing || second.RequestID == "" {
			t.Fatalf("second registration: %+v", second)
		}
		other := c
		other.ContactInfo = "someone.else@example.com"
		conflict := r.Register(withTimeout(t, 5*time.Second), []contact.Contact{other})[0]
		e := apierror.From(conflict.Err)
		if e == nil || e.Kind != apierror.Conflict || e.Code != apierror.FailedOperation || !strings.Contains(e.Message, "different email") || conflict.Existing {
			t.Fatalf("conflict: %+v", conflict)
		}
		if len(u.emu.Contacts()) != 1 {
			t.Errorf("contacts: %+v", u.emu.Contacts())
		}
	})
}

// Latency past the deadline: the call times out, the server still creates
// the contact, and the retried invocation finds it instead of failing.
func TestDeadlineThenRetriedInvocation(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		u := newUpstream(t, emulator.Config{RPS: -1, Faults: emulator.Faults{Latency: 2 * time.Second}})
		r := u.registrar(1000)
		c := people("slow", 1)[0]
		o := r.Register(withTimeout(t, 700*time.Millisecond), []contact.Contact{c})[0]
		if apierror.CodeOf(o.Err) != apierror.DeadlineExceeded || apierror.KindOf(o.Err) != apierror.Transient || len(u.emu.Contacts()) != 1 {
			t.Fatalf("first invocation: %+v, %d stored", o, len(u.emu.Contacts()))
		}
		if err := u.emu.SetFaults(emulator.Faults{}); err != nil {
			t.Fatal(err)
		}
		retried := r.Register(withTimeout(t, 5*time.Second), []contact.Contact{c})[0]
		if retried.Err != nil || !retried.Existing {
			t.Fatalf("retried invocation: %+v", retried)
		}
		exactlyOnce(t, u.emu, []contact.Contact{c}, []Outcome{retried})
	})
}

// A batch stops starting contacts when the time left cannot cover another
// call; a second invocation completes the rest, creating nothing twice and
// sending only what is missing.
func TestBatchStopsBeforeDeadlineAndResumes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		u := newUpstream(t, emulator.Config{RPS: -1})
		r := u.registrar(10) // 10 per second: 120 contacts need 12 s
		r.LookFirst = true
		cs := people("deadline", 120)
		outs := r.Register(withTimeout(t, 5*time.Second), cs)
		var done, notStarted int
		for _, o := range outs {
			switch {
			case o.Err == nil:
				done++
			case apierror.KindOf(o.Err) == apierror.NotAttempted && apierror.CodeOf(o.Err) == apierror.DeadlineExceeded &&
				strings.HasPrefix(apierror.From(o.Err).Message, "not attempted: "):
				notStarted++
				if o.Attempts != 0 {
					t.Errorf("a not-attempted contact made %d attempts", o.Attempts)
				}
			default:
				t.Errorf("unexpected outcome %+v", o)
			}
		}
		if done == 0 || notStarted == 0 {
			t.Fatalf("done %d, not started %d: want both", done, notStarted)
		}
		if got := len(u.emu.Contacts()); got != done {
			t.Errorf("%d contacts stored, %d reported done", got, done)
		}
		adds := calls(u.emu, dbbrain.ActionAddUserContact)
		rest := r.Register(withTimeout(t, 60*time.Second), cs)
		for i, o := range rest {
			if o.Err != nil {
				t.Errorf("%s: %v", cs[i].Name, o.Err)
			}
			if outs[i].Err == nil && (o.ID != outs[i].ID || !o.Existing) {
				t.Errorf("%s: first %+v, then %+v", cs[i].Name, outs[i], o)
			}
		}
		if n := calls(u.emu, dbbrain.ActionAddUserContact) - adds; n != int64(notStarted) {
			t.Errorf("the second run sent %d AddUserContact calls for %d missing contacts", n, notStarted)
		}
		exactlyOnce(t, u.emu, cs, rest)
	})
}

// A lone instance at the documented limit is never throttled, and never
// lets more than the limit into any one-second window.
func TestPaceKeepsTheWindow(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		u := newUpstream(t, emulator.Config{RPS: dbbrain.RateLimit})
		r := u.registrar(dbbrain.RateLimit)
		r.LookFirst = true
		cs := people("pace", 45)
		for _, o := range r.Register(withTimeout(t, 20*time.Second), cs) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
		}
		st := u.emu.Stats()
		if n := st.Codes[apierror.RequestLimitExceeded]; n != 0 {
			t.Errorf("the server throttled %d calls", n)
		}
		acc := st.Actions[dbbrain.ActionAddUserContact].Accepted
		for i := range acc {
			j := i
			for j < len(acc) && acc[j].Sub(acc[i]) < time.Second {
				j++
			}
			if j-i > dbbrain.RateLimit {
				t.Fatalf("%d calls within one second starting at call %d", j-i, i)
			}
		}
	})
}

// DefaultCheckRetry reads the kind alone: a throttle or a transient fault
// is retried, after a lookup when the attempt may have been applied;
// anything else stops, whatever its code.
func TestCheckRetry(t *testing.T) {
	t.Parallel()
	maybe := func(k apierror.Kind, code string) error {
		return apierror.Wrap(k, code, fmt.Errorf("%w: reset", dbbrain.ErrMaybeApplied), "reset")
	}
	for name, tc := range map[string]struct {
		err  error
		want Decision
	}{
		"throttled":              {apierror.E(apierror.Throttled, "RequestLimitExceeded.UinLimitExceeded", "x"), Retry},
		"transient":              {apierror.E(apierror.Transient, apierror.NetworkError, "x"), Retry},
		"transient 5xx answered": {apierror.E(apierror.Transient, apierror.InternalError, "x"), Retry},
		"transient maybe":        {maybe(apierror.Transient, apierror.ServiceUnavailable), LookUpFirst},
		"network maybe":          {maybe(apierror.Transient, apierror.NetworkError), LookUpFirst},
		"deadline maybe":         {maybe(apierror.Transient, apierror.DeadlineExceeded), LookUpFirst},
		"throttled maybe":        {maybe(apierror.Throttled, apierror.RequestLimitExceeded), LookUpFirst},
		"invalid":                {apierror.E(apierror.Invalid, apierror.InvalidParameterValue, "x"), Stop},
		"invalid maybe":          {maybe(apierror.Invalid, apierror.FailedOperation), Stop},
		"conflict":               {apierror.E(apierror.Conflict, apierror.FailedOperation, "x"), Stop},
		"not attempted":          {apierror.E(apierror.NotAttempted, apierror.DeadlineExceeded, "x"), Stop},
		"setup":                  {apierror.E(apierror.Setup, apierror.AuthFailure, "x"), Stop},
		"setup unreadable maybe": {maybe(apierror.Setup, apierror.ParseJSONError), Stop},
		// The kind decides, not the code: the same code of another kind
		// decides otherwise.
		"internal error as setup": {apierror.E(apierror.Setup, apierror.InternalError, "x"), Stop},
		"limit code as invalid":   {apierror.E(apierror.Invalid, apierror.RequestLimitExceeded, "x"), Stop},
		// An unexpected failure is the function's, and may not recur.
		"plain error": {errors.New("boom"), Retry},
	} {
		if got := DefaultCheckRetry(tc.err); got != tc.want {
			t.Errorf("%s: DefaultCheckRetry(%v) = %v, want %v", name, tc.err, got, tc.want)
		}
	}
}

// fakeAPI answers from functions, counting calls.
type fakeAPI struct {
	mu        sync.Mutex
	add       func(attempt int) (dbbrain.AddResult, error)
	describe  func(names []string) (dbbrain.DescribeResult, error)
	adds      int
	describes [][]string
}

func (f *fakeAPI) AddUserContact(context.Context, common.CredentialIface, string, string, string) (dbbrain.AddResult, error) {
	f.mu.Lock()
	f.adds++
	n := f.adds
	f.mu.Unlock()
	return f.add(n)
}

func (f *fakeAPI) DescribeAllUserContact(_ context.Context, _ common.CredentialIface, names []string) (dbbrain.DescribeResult, error) {
	f.mu.Lock()
	f.describes = append(f.describes, names)
	f.mu.Unlock()
	return f.describe(names)
}

func listing(cs ...dbbrain.Contact) func([]string) (dbbrain.DescribeResult, error) {
	return func([]string) (dbbrain.DescribeResult, error) {
		return dbbrain.DescribeResult{Contacts: slices.Clone(cs), RequestID: "describe-1"}, nil
	}
}

func fakeRegistrar(api API) *Registrar {
	return &Registrar{API: api, Adds: NewPacer(1000, time.Now), Lookups: NewPacer(1000, time.Now), Concurrency: 4, Backoff: fastBackoff}
}

// A name that only contains the wanted one is not the wanted one: DBbrain's
// lookup is fuzzy, ours is exact.
func TestFuzzyLookupIsComparedExactly(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		api := &fakeAPI{
			add: func(int) (dbbrain.AddResult, error) {
				return dbbrain.AddResult{}, &apierror.Error{Kind: apierror.Invalid, Code: apierror.FailedOperation, Message: "name exists", RequestID: "r1"}
			},
			describe: listing(dbbrain.Contact{ID: 9, Name: "zhangsan2", Mail: "z@example.com"}, dbbrain.Contact{ID: 10, Name: "Zhangsan", Mail: "z@example.com"}),
		}
		o := fakeRegistrar(api).Register(withTimeout(t, 2*time.Second), []contact.Contact{{Name: "zhangsan", ContactInfo: "z@example.com", Product: dbbrain.Product}})[0]
		if apierror.CodeOf(o.Err) != apierror.FailedOperation || apierror.KindOf(o.Err) != apierror.Invalid || apierror.From(o.Err).RequestID != "r1" {
			t.Fatalf("fuzzy match accepted: %+v", o)
		}
		if len(api.describes) != 1 {
			t.Errorf("%d lookups", len(api.describes))
		}
	})
}

func TestAmbiguousNetworkFailureIsLookedUp(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		api := &fakeAPI{
			add: func(int) (dbbrain.AddResult, error) {
				return dbbrain.AddResult{}, apierror.Wrap(apierror.Transient, apierror.NetworkError, fmt.Errorf("%w: reset", dbbrain.ErrMaybeApplied), "reset")
			},
			describe: listing(dbbrain.Contact{ID: 4, Name: "lost_answer", Mail: "lost@example.com"}),
		}
		o := fakeRegistrar(api).Register(withTimeout(t, 2*time.Second), []contact.Contact{{Name: "lost_answer", ContactInfo: "lost@example.com", Product: dbbrain.Product}})[0]
		// The second attempt looks before sending again, and finds it.
		if o.Err != nil || o.ID != 4 || !o.Existing || api.adds != 1 || len(api.describes) != 1 {
			t.Fatalf("got %+v after %d adds and %d lookups", o, api.adds, len(api.describes))
		}
		// A failure before anything was sent is not looked up.
		api2 := &fakeAPI{add: func(int) (dbbrain.AddResult, error) {
			return dbbrain.AddResult{}, apierror.Wrap(apierror.Transient, apierror.NetworkError, errors.New("connection refused"), "refused")
		}}
		o = fakeRegistrar(api2).Register(withTimeout(t, 2*time.Second), []contact.Contact{{Name: "never_sent", ContactInfo: "n@example.com", Product: dbbrain.Product}})[0]
		if apierror.CodeOf(o.Err) != apierror.NetworkError || apierror.KindOf(o.Err) != apierror.Transient || len(api2.describes) != 0 || api2.adds < 2 {
			t.Fatalf("got %+v with %d adds and %d lookups", o, api2.adds, len(api2.describes))
		}
	})
}

// A retry whose wait would not leave time for the call before the deadline
// is not made: the last failure is the answer.
func TestBackoffStopsBeforeDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		api := &fakeAPI{add: func(int) (dbbrain.AddResult, error) {
			return dbbrain.AddResult{}, apierror.E(apierror.Transient, apierror.NetworkError, "connection refused")
		}}
		r := fakeRegistrar(api)
		r.Backoff = func() backoff.BackOff { return backoff.NewConstantBackOff(300 * time.Millisecond) }
		start := time.Now()
		o := r.Register(withTimeout(t, time.Second), []contact.Contact{{Name: "busy", ContactInfo: "b@example.com", Product: dbbrain.Product}})[0]
		// Attempts at 0, 300 and 600 ms; a fourth, at 900 ms, would leave
		// less than a typical call (about 260 ms by then) before 1 s.
		if apierror.CodeOf(o.Err) != apierror.NetworkError || o.Attempts != 3 || time.Since(start) != 600*time.Millisecond {
			t.Fatalf("got %+v after %s", o, time.Since(start))
		}
	})
}

// A batch looks its names up a chunk per call and sends only the missing
// ones; an existing contact with the same email is a success, with another
// email the documented conflict, and neither costs an AddUserContact.
func TestBatchLookupBeforeSending(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cs := people("chunk", LookupChunk+10)
		api := &fakeAPI{
			add: func(n int) (dbbrain.AddResult, error) { return dbbrain.AddResult{ID: int64(100 + n)}, nil },
			describe: listing(
				dbbrain.Contact{ID: 1, Name: cs[0].Name, Mail: cs[0].ContactInfo},
				dbbrain.Contact{ID: 2, Name: cs[1].Name, Mail: "other@example.com"},
				dbbrain.Contact{ID: 3, Name: cs[2].Name + "0", Mail: cs[2].ContactInfo}, // fuzzy, not it
			),
		}
		r := fakeRegistrar(api)
		r.LookFirst = true
		outs := r.Register(withTimeout(t, 10*time.Second), cs)
		sizes := []int{}
		for _, d := range api.describes {
			sizes = append(sizes, len(d))
		}
		if slices.Sort(sizes); !slices.Equal(sizes, []int{10, LookupChunk}) {
			t.Errorf("lookups of %v names, want one of %d and one of 10", sizes, LookupChunk)
		}
		if o := outs[0]; o.Err != nil || o.ID != 1 || !o.Existing || o.RequestID != "describe-1" {
			t.Errorf("existing, same email: %+v", o)
		}
		if o := outs[1]; apierror.CodeOf(o.Err) != apierror.FailedOperation || apierror.KindOf(o.Err) != apierror.Conflict || o.Attempts != 0 || o.Existing {
			t.Errorf("existing, other email: %+v", o)
		}
		if o := outs[2]; o.Err != nil || o.Existing || o.Attempts != 1 {
			t.Errorf("fuzzy match sent anyway: %+v", o)
		}
		if api.adds != len(cs)-2 {
			t.Errorf("%d AddUserContact calls, want %d", api.adds, len(cs)-2)
		}
	})
}

// A lookup that fails for a reason a retry may fix leaves every contact
// to the path without it: send, and look up only after a failure that may
// hide an earlier success. The lookup is tried three times at most.
func TestBatchLookupFailureFallsBack(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		api := &fakeAPI{
			add: func(n int) (dbbrain.AddResult, error) { return dbbrain.AddResult{ID: int64(n)}, nil },
			describe: func([]string) (dbbrain.DescribeResult, error) {
				return dbbrain.DescribeResult{}, apierror.E(apierror.Transient, apierror.InternalError, "describe is down")
			},
		}
		cs := people("fallback", 5)
		r := fakeRegistrar(api)
		r.LookFirst = true
		for i, o := range r.Register(withTimeout(t, 10*time.Second), cs) {
			if o.Err != nil || o.Attempts != 1 {
				t.Errorf("%s: %+v", cs[i].Name, o)
			}
		}
		if len(api.describes) != maxLookupAttempts || api.adds != 5 {
			t.Errorf("%d lookups, %d adds", len(api.describes), api.adds)
		}
	})
}

// Without LookFirst nothing is looked up while every call succeeds.
func TestNoLookupWithoutLookFirst(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		api := &fakeAPI{add: func(n int) (dbbrain.AddResult, error) { return dbbrain.AddResult{ID: int64(n)}, nil }}
		cs := people("direct", 5)
		for i, o := range fakeRegistrar(api).Register(withTimeout(t, 10*time.Second), cs) {
			if o.Err != nil || o.Attempts != 1 || o.ID == 0 {
				t.Errorf("%s: %+v", cs[i].Name, o)
			}
		}
		if len(api.describes) != 0 || api.adds != 5 {
			t.Errorf("%d lookups, %d adds", len(api.describes), api.adds)
		}
		if out := fakeRegistrar(api).Register(withTimeout(t, time.Second), nil); len(out) != 0 {
			t.Errorf("no contacts: %+v", out)
		}
	})
}

// Calls that hung until a deadline must not teach a warm instance that
// every call is too slow to start: a single contact is still attempted.
func TestSlowEstimateStillAttemptsASingleContact(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		u := newUpstream(t, emulator.Config{RPS: -1})
		r := u.registrar(1000)
		for range 50 {
			r.Adds.Observe(10*time.Minute, false)
		}
		o := r.Register(withTimeout(t, time.Second), people("wedge", 1))[0]
		if o.Err != nil {
			t.Fatalf("a single contact was not attempted with a slow estimate: %v", o.Err)
		}
	})
}

// A name given twice in one batch is sent once: the same email is the same
// contact, another email the conflict.
func TestRepeatedNameInABatchIsSentOnce(t *testing.T) {
	t.Parallel()
	for _, lookFirst := range []bool{true, false} {
		t.Run(fmt.Sprint("LookFirst=", lookFirst), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				acct := newAccount(dbbrain.RateLimit)
				r := &Registrar{API: acct, Adds: NewPacer(20, time.Now), Lookups: NewPacer(20, time.Now), Concurrency: 4, LookFirst: lookFirst}
				c := contact.Contact{Name: "twice", ContactInfo: "twice@example.com", Product: dbbrain.Product}
				other := c
				other.ContactInfo = "other@example.com"
				outs := r.Register(withTimeout(t, 10*time.Second), []contact.Contact{c, c, other})
				if outs[0].Err != nil || outs[1].ID != outs[0].ID || !outs[1].Existing || apierror.KindOf(outs[2].Err) != apierror.Conflict || outs[2].Existing {
					t.Errorf("outcomes %+v", outs)
				}
				if acct.calls[dbbrain.ActionAddUserContact] != 1 || len(acct.contacts) != 1 {
					t.Errorf("%d AddUserContact calls, %d contacts", acct.calls[dbbrain.ActionAddUserContact], len(acct.contacts))
				}
			})
		})
	}
}

// For triggers that redeliver, even one contact is looked up first: its
// redelivery costs a lookup and no AddUserContact.
func TestLookFirstRedeliveryCostsALookup(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		acct := newAccount(dbbrain.RateLimit)
		r := &Registrar{API: acct, Adds: NewPacer(20, time.Now), Lookups: NewPacer(20, time.Now), Concurrency: 4, LookFirst: true}
		cs := people("once", 1)
		first := r.Register(withTimeout(t, 5*time.Second), cs)
		again := r.Register(withTimeout(t, 5*time.Second), cs)
		if first[0].Err != nil || again[0].ID != first[0].ID || !again[0].Existing {
			t.Fatalf("first %+v, again %+v", first[0], again[0])
		}
		if acct.calls[dbbrain.ActionAddUserContact] != 1 || acct.calls[dbbrain.ActionDescribeAllUserContact] != 2 {
			t.Errorf("calls %v", acct.calls)
		}
	})
}

// After an attempt that may have created the contact, nothing is sent again
// while a lookup cannot tell whether it exists; the answer stays one a retry
// can settle, never a final conflict.
func TestNoResendWithoutALookup(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		api := &fakeAPI{
			add: func(int) (dbbrain.AddResult, error) {
				return dbbrain.AddResult{}, apierror.Wrap(apierror.Transient, apierror.NetworkError, fmt.Errorf("%w: reset", dbbrain.ErrMaybeApplied), "reset")
			},
			describe: func([]string) (dbbrain.DescribeResult, error) {
				return dbbrain.DescribeResult{}, apierror.E(apierror.Transient, apierror.InternalError, "describe is down")
			},
		}
		o := fakeRegistrar(api).Register(withTimeout(t, 5*time.Second), []contact.Contact{{Name: "unknown", ContactInfo: "u@example.com", Product: dbbrain.Product}})[0]
		if api.adds != 1 || !apierror.KindOf(o.Err).Retryable() || len(api.describes) < 2 {
			t.Fatalf("%d adds, %d lookups, outcome %+v", api.adds, len(api.describes), o)
		}
	})
}

// A long delivery that is mostly registered already makes progress in each
// invocation: the lookups run ahead, several at once, so their latency does
// not add up to the invocation's whole time.
func TestMostlyRegisteredDeliveryMakesProgress(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		acct := newAccount(dbbrain.RateLimit)
		acct.latency = 100 * time.Millisecond
		cs := people("bulk", 2050)
		for i, c := range cs[:2000] {
			acct.contacts = append(acct.contacts, dbbrain.Contact{ID: int64(i + 1), Name: c.Name, Mail: c.ContactInfo})
		}
		r := &Registrar{API: acct, Adds: NewPacer(20, time.Now), Lookups: NewPacer(20, time.Now), Concurrency: 10, Margin: 300 * time.Millisecond, LookFirst: true}
		for round := 1; len(acct.contacts) < 2050; round++ {
			before := len(acct.contacts)
			r.Register(withTimeout(t, 4*time.Second), cs)
			if len(acct.contacts) == before || round > 10 {
				t.Fatalf("round %d registered nothing new (%d of 2050)", round, len(acct.contacts))
			}
		}
	})
}

// wantStopped checks that every outcome carries the Setup failure that
// stopped the batch: the failure itself where a call met it, else the
// "not attempted" wording with the same code.
func wantStopped(t *testing.T, outs []Outcome, code string) (notAttempted int) {
	t.Helper()
	for i, o := range outs {
		e := apierror.From(o.Err)
		if e == nil || e.Kind != apierror.Setup || e.Code != code || o.ID != 0 {
			t.Errorf("contact %d: %+v, want a Setup %s", i, o, code)
			continue
		}
		if strings.HasPrefix(e.Message, "not attempted: ") {
			notAttempted++
			if o.Attempts != 0 || !strings.HasPrefix(e.Message, "not attempted: the batch stopped at the first failure of the function's own setup: ") {
				t.Errorf("contact %d: %d attempts, %q", i, o.Attempts, e.Message)
			}
		}
	}
	return notAttempted
}

// A role the service rejects fails the first lookup of a 100-contact
// delivery: the batch stops at once, a handful of calls spent, every
// contact carrying the role's failure (issue 14, example 4).
func TestSetupFailureOfTheFirstLookupStopsTheBatch(t *testing.T) {
	t.Parallel()
	for _, n := range []int{100, 1000} { // 2 and 20 chunks to look up
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				u := newUpstream(t, emulator.Config{RPS: -1})
				r := u.registrar(dbbrain.RateLimit)
				r.Concurrency = 10
				r.LookFirst = true
				r.Credential = common.NewTokenCredential(key.SecretID, key.SecretKey, "rejected-token")
				outs := r.Register(withTimeout(t, 30*time.Second), people("role", n))
				// Lookups run up to Concurrency at once, started in no set
				// order; the first refusal, whichever chunk's, cancels the rest.
				if got := u.emu.Stats().Requests; got > 5 || got == 0 {
					t.Errorf("%d calls for a rejected role, want at most 5", got)
				}
				if n := calls(u.emu, dbbrain.ActionAddUserContact); n != 0 {
					t.Errorf("%d AddUserContact calls after the lookup was refused", n)
				}
				wantStopped(t, outs, tokenFailure)
			})
		})
	}
}

// A Setup failure stops the batch whichever chunk's lookup meets it first:
// lookups start in no set order, and the first chunk's, which the batch
// reads first, may answer last.
func TestSetupFailureOfAnyLookupStopsTheBatch(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		denied := apierror.E(apierror.Setup, "UnauthorizedOperation", "the role may not call DescribeAllUserContact")
		api := &fakeAPI{describe: func(names []string) (dbbrain.DescribeResult, error) {
			if names[0] == "slow_0000" {
				time.Sleep(time.Second)
			}
			return dbbrain.DescribeResult{}, denied
		}}
		r := fakeRegistrar(api)
		r.LookFirst = true
		outs := r.Register(withTimeout(t, 30*time.Second), people("slow", 1000)) // 20 chunks
		if n := len(api.describes); n > r.Concurrency {
			t.Errorf("%d lookups after a Setup failure, want at most the %d in flight", n, r.Concurrency)
		}
		if api.adds != 0 {
			t.Errorf("%d adds after a Setup failure", api.adds)
		}
		wantStopped(t, outs, "UnauthorizedOperation")
	})
}

// The same fault met by an add, without lookups, stops the rest: at most
// the calls already in flight are made.
func TestSetupFailureOfAnAddStopsTheRest(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		u := newUpstream(t, emulator.Config{RPS: -1})
		r := u.registrar(dbbrain.RateLimit)
		r.Concurrency = 4
		r.Credential = common.NewTokenCredential(key.SecretID, key.SecretKey, "rejected-token")
		outs := r.Register(withTimeout(t, 30*time.Second), people("role", 100))
		if n := u.emu.Stats().Requests; n > int64(r.Concurrency) || n == 0 {
			t.Errorf("%d calls for a rejected role, want at most %d", n, r.Concurrency)
		}
		if n := wantStopped(t, outs, tokenFailure); n < 100-r.Concurrency {
			t.Errorf("%d contacts not attempted, want at least %d", n, 100-r.Concurrency)
		}
	})

	// A role that breaks in the middle of a batch: what was registered
	// stays registered, the contact that met the fault carries it, and
	// nothing is sent after it.
	synctest.Test(t, func(t *testing.T) {
		denied := apierror.E(apierror.Setup, "UnauthorizedOperation", "the role may not call AddUserContact")
		api := &fakeAPI{add: func(n int) (dbbrain.AddResult, error) {
			if n <= 2 {
				return dbbrain.AddResult{ID: int64(n)}, nil
			}
			return dbbrain.AddResult{}, denied
		}}
		r := fakeRegistrar(api)
		r.Concurrency = 1
		outs := r.Register(withTimeout(t, 30*time.Second), people("midway", 10))
		if outs[0].ID != 1 || outs[1].ID != 2 || outs[0].Err != nil || outs[1].Err != nil {
			t.Errorf("registered before the fault: %+v %+v", outs[0], outs[1])
		}
		if o := outs[2]; o.Err != denied || o.Attempts != 1 {
			t.Errorf("the contact that met the fault: %+v", o)
		}
		if n := wantStopped(t, outs[2:], "UnauthorizedOperation"); n != 7 {
			t.Errorf("%d not attempted, want 7", n)
		}
		if api.adds != 3 || len(api.describes) != 0 {
			t.Errorf("%d adds, %d lookups after a Setup failure", api.adds, len(api.describes))
		}
	})
}

// Two copies of a contact whose name exists with another email are both
// the conflict, never one conflict and one retryable failure (issue 14,
// example 1): a redelivery changes nothing for either.
func TestRepeatedConflictIsAConflictTwice(t *testing.T) {
	t.Parallel()
	for _, lookFirst := range []bool{true, false} {
		t.Run(fmt.Sprint("LookFirst=", lookFirst), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				api := &fakeAPI{
					add: func(int) (dbbrain.AddResult, error) {
						return dbbrain.AddResult{}, &apierror.Error{Kind: apierror.Invalid, Code: apierror.FailedOperation, Message: "The contact name exists.", RequestID: "add-1"}
					},
					describe: listing(dbbrain.Contact{ID: 7, Name: "dup", Mail: "first@example.com"}),
				}
				r := fakeRegistrar(api)
				r.LookFirst = lookFirst
				c := contact.Contact{Name: "dup", ContactInfo: "second@example.com", Product: dbbrain.Product}
				outs := r.Register(withTimeout(t, 10*time.Second), []contact.Contact{c, c})
				for i, o := range outs {
					if e := apierror.From(o.Err); e == nil || e.Kind != apierror.Conflict || e.Code != apierror.FailedOperation || o.Existing || o.ID != 0 {
						t.Errorf("copy %d: %+v", i, o)
					}
				}
				if want := map[bool]int{true: 0, false: 1}[lookFirst]; api.adds != want || len(api.describes) != 1 {
					t.Errorf("%d adds (want %d), %d lookups (want 1)", api.adds, want, len(api.describes))
				}
			})
		})
	}
}

// Emails are compared as DBbrain stores them, up to ASCII letter case:
// the Kelvin sign (U+212A), which Unicode folds to "k", is another
// address, so the stored contact is not claimed (issue 14, example 8).
func TestKelvinSignIsAConflict(t *testing.T) {
	t.Parallel()
	stored := dbbrain.Contact{ID: 11, Name: "kate", Mail: "kate@qq.com"}
	for _, lookFirst := range []bool{true, false} {
		t.Run(fmt.Sprint("LookFirst=", lookFirst), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				api := &fakeAPI{
					add: func(int) (dbbrain.AddResult, error) {
						return dbbrain.AddResult{}, apierror.E(apierror.Invalid, apierror.FailedOperation, "The contact name exists.")
					},
					describe: listing(stored),
				}
				r := fakeRegistrar(api)
				r.LookFirst = lookFirst
				outs := r.Register(withTimeout(t, 10*time.Second), []contact.Contact{
					{Name: "kate", ContactInfo: "\u212Aate@qq.com", Product: dbbrain.Product},
				})
				if o := outs[0]; apierror.KindOf(o.Err) != apierror.Conflict || o.Existing || o.ID == stored.ID {
					t.Errorf("Kelvin sign: %+v", o)
				}
				outs = r.Register(withTimeout(t, 10*time.Second), []contact.Contact{
					{Name: "kate", ContactInfo: "KATE@QQ.COM", Product: dbbrain.Product},
				})
				if o := outs[0]; o.Err != nil || !o.Existing || o.ID != stored.ID {
					t.Errorf("ASCII case: %+v", o)
				}
			})
		})
	}
}

func TestSameEmail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		stored, given string
		want          bool
	}{
		{"kate@qq.com", "kate@qq.com", true},
		{"Kate@QQ.com", "kATE@qq.COM", true},
		{" kate@qq.com ", "kate@qq.com", true}, // as stored, spaces aside
		{"kate@qq.com", "\u212Aate@qq.com", false},
		{"\u212Aate@qq.com", "kate@qq.com", false},
		{"stra\u00dfe@x.de", "STRASSE@x.de", false},
		{"\u00e9t\u00e9@x.fr", "\u00c9T\u00c9@x.fr", false}, // DBbrain's folding beyond ASCII is not known: not claimed
		{"kate@qq.com", "kate@qq.co", false},
		{"", "", true},
	} {
		if got := sameEmail(tc.stored, tc.given); got != tc.want {
			t.Errorf("sameEmail(%+q, %+q) = %v", tc.stored, tc.given, got)
		}
	}
}

// An add DBbrain refuses for good (kind Invalid) may be its answer to a
// name that exists: the name is looked up once, and the refusal is final
// only if the lookup does not find it. A refusal the lookup could not
// check stays open (Transient): a later try settles it.
func TestInvalidRefusalIsLookedUpOnce(t *testing.T) {
	t.Parallel()
	refusal := &apierror.Error{Kind: apierror.Invalid, Code: apierror.InvalidParameterValue, Message: "ContactInfo is invalid", RequestID: "add-9"}
	contacts := []contact.Contact{{Name: "refused", ContactInfo: "r@example.com", Product: dbbrain.Product}}
	synctest.Test(t, func(t *testing.T) {
		api := &fakeAPI{add: func(int) (dbbrain.AddResult, error) { return dbbrain.AddResult{}, refusal }, describe: listing()}
		o := fakeRegistrar(api).Register(withTimeout(t, 10*time.Second), contacts)[0]
		if o.Err != refusal || o.Attempts != 1 || api.adds != 1 || len(api.describes) != 1 || !slices.Equal(api.describes[0], []string{"refused"}) {
			t.Errorf("%+v after %d adds and lookups %v", o, api.adds, api.describes)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		api := &fakeAPI{
			add:      func(int) (dbbrain.AddResult, error) { return dbbrain.AddResult{}, refusal },
			describe: listing(dbbrain.Contact{ID: 5, Name: "refused", Mail: "r@example.com"}),
		}
		o := fakeRegistrar(api).Register(withTimeout(t, 10*time.Second), contacts)[0]
		if o.Err != nil || !o.Existing || o.ID != 5 || o.Attempts != 1 {
			t.Errorf("found after the refusal: %+v", o)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		api := &fakeAPI{
			add: func(int) (dbbrain.AddResult, error) { return dbbrain.AddResult{}, refusal },
			describe: func([]string) (dbbrain.DescribeResult, error) {
				return dbbrain.DescribeResult{}, apierror.E(apierror.Transient, apierror.InternalError, "describe is down")
			},
		}
		o := fakeRegistrar(api).Register(withTimeout(t, 10*time.Second), contacts)[0]
		e := apierror.From(o.Err)
		if e == nil || e.Kind != apierror.Transient || !errors.Is(o.Err, refusal) || !strings.Contains(e.Message, "could not be checked") || api.adds != 1 {
			t.Errorf("unchecked refusal: %+v (%v), %d adds", o, o.Err, api.adds)
		}
	})
}

// A refused add is looked up before its failure is final; a lookup the role
// may not make is the role's failure, which stops the batch, not a
// retryable doubt that costs every contact an add and a lookup.
func TestSetupFailureOfTheLastLookupStopsTheBatch(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		denied := apierror.E(apierror.Setup, "UnauthorizedOperation", "the role may not call DescribeAllUserContact")
		api := &fakeAPI{
			add: func(int) (dbbrain.AddResult, error) {
				return dbbrain.AddResult{}, apierror.E(apierror.Invalid, apierror.FailedOperation, "The contact name exists.")
			},
			describe: func([]string) (dbbrain.DescribeResult, error) { return dbbrain.DescribeResult{}, denied },
		}
		r := fakeRegistrar(api)
		r.Concurrency = 1
		outs := r.Register(withTimeout(t, 30*time.Second), people("lost", 10))
		if outs[0].Err != denied {
			t.Errorf("first contact: %v, want the role's failure", outs[0].Err)
		}
		wantStopped(t, outs, "UnauthorizedOperation")
		if api.adds != 1 || len(api.describes) != 1 {
			t.Errorf("%d adds and %d lookups; want 1 and 1", api.adds, len(api.describes))
		}
	})
}

// A name DBbrain refuses to both actions can never be registered: the add's
// refusal is final, never a doubt that has a record delivered for ever.
func TestNameRefusedByBothActionsIsFinal(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		bad := apierror.E(apierror.Invalid, apierror.InvalidParameterValue, "Name may contain only letters, digits and _")
		api := &fakeAPI{
			add:      func(int) (dbbrain.AddResult, error) { return dbbrain.AddResult{}, bad },
			describe: func([]string) (dbbrain.DescribeResult, error) { return dbbrain.DescribeResult{}, bad },
		}
		r := fakeRegistrar(api)
		r.LookFirst = true // a record trigger
		for delivery := 1; delivery <= 2; delivery++ {
			o := r.Register(withTimeout(t, 10*time.Second), people("refused", 1))[0]
			if o.Err != bad || o.Attempts != 1 {
				t.Errorf("delivery %d: %+v, want the add's refusal after one attempt", delivery, o)
			}
		}
		if api.adds != 2 || len(api.describes) != 4 {
			t.Errorf("%d adds, %d lookups for two deliveries; want 2 and 4", api.adds, len(api.describes))
		}
	})
}

// A copy of a name with another email than a copy DBbrain refused, or than
// the email the name is held with, gets its own round: a correction sent in
// the same batch is registered, and a copy with the holder's email is the
// registered contact, never a conflict.
func TestRepeatedNameWithAnotherEmail(t *testing.T) {
	t.Parallel()
	for _, lookFirst := range []bool{false, true} {
		t.Run(fmt.Sprint("LookFirst=", lookFirst), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				refusal := apierror.E(apierror.Invalid, apierror.InvalidParameterValue, "ContactInfo is invalid")
				api := &fakeAPI{
					add: func(n int) (dbbrain.AddResult, error) {
						if n == 1 {
							return dbbrain.AddResult{}, refusal
						}
						return dbbrain.AddResult{ID: int64(n)}, nil
					},
					describe: listing(),
				}
				r := fakeRegistrar(api)
				r.LookFirst = lookFirst
				typo := contact.Contact{Name: "Ann", ContactInfo: "ann@typo.invalid", Product: dbbrain.Product}
				fixed := contact.Contact{Name: "Ann", ContactInfo: "ann@example.com", Product: dbbrain.Product}
				outs := r.Register(withTimeout(t, 10*time.Second), []contact.Contact{typo, fixed, typo, fixed})
				if outs[0].Err != refusal || outs[2].Err != refusal {
					t.Errorf("the refused copies: %+v, %+v", outs[0], outs[2])
				}
				if outs[1].Err != nil || outs[1].ID != 2 || outs[3].Err != nil || outs[3].ID != 2 {
					t.Errorf("the corrected copies: %+v, %+v; want id 2", outs[1], outs[3])
				}
				if api.adds != 2 {
					t.Errorf("%d adds, want 2", api.adds)
				}
			})
		})
	}

	synctest.Test(t, func(t *testing.T) {
		api := &fakeAPI{
			add: func(int) (dbbrain.AddResult, error) {
				return dbbrain.AddResult{}, apierror.E(apierror.Invalid, apierror.FailedOperation, "exists")
			},
			describe: listing(dbbrain.Contact{ID: 7, Name: "Bob", Mail: "bob@new.example.com"}),
		}
		r := fakeRegistrar(api)
		r.LookFirst = true
		outs := r.Register(withTimeout(t, 10*time.Second), []contact.Contact{
			{Name: "Bob", ContactInfo: "bob@old.example.com", Product: dbbrain.Product},
			{Name: "Bob", ContactInfo: "bob@new.example.com", Product: dbbrain.Product},
		})
		if apierror.KindOf(outs[0].Err) != apierror.Conflict {
			t.Errorf("the copy with another email than the holder's: %+v, want a conflict", outs[0])
		}
		if outs[1].Err != nil || !outs[1].Existing || outs[1].ID != 7 {
			t.Errorf("the copy with the holder's email: %+v, want registered already, id 7", outs[1])
		}
		if api.adds != 0 {
			t.Errorf("%d adds for a name already held", api.adds)
		}
	})
}

// Copies of a name held with another email are judged against the holder
// the first lookup found: a thousand copies cost one lookup, not a round each.
func TestCopiesOfAHeldNameAreJudgedAtOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		api := &fakeAPI{
			add:      func(int) (dbbrain.AddResult, error) { return dbbrain.AddResult{ID: 99}, nil },
			describe: listing(dbbrain.Contact{ID: 7, Name: "ops", Mail: "owner@example.com"}),
		}
		r := fakeRegistrar(api)
		r.LookFirst = true
		copies := make([]contact.Contact, 1000)
		for i := range copies {
			copies[i] = contact.Contact{Name: "ops", ContactInfo: fmt.Sprintf("ops.%d@example.com", i), Product: dbbrain.Product}
		}
		copies[500].ContactInfo = "Owner@example.com"
		outs := r.Register(withTimeout(t, 30*time.Second), copies)
		for i, o := range outs {
			if i == 500 {
				if o.Err != nil || o.ID != 7 || !o.Existing {
					t.Errorf("the copy with the holder's email: %+v", o)
				}
			} else if apierror.KindOf(o.Err) != apierror.Conflict {
				t.Errorf("copy %d: %+v, want a conflict", i, o)
			}
		}
		if len(api.describes) != 1 || api.adds != 0 {
			t.Errorf("%d lookups and %d adds for copies of a held name", len(api.describes), api.adds)
		}
	})
}

// A name listed twice (the 2021-05-27 API, sharing the store, does not keep
// names unique) is matched by the entry with the contact's email.
func TestLookupPrefersTheEntryWithTheEmail(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		api := &fakeAPI{
			add: func(int) (dbbrain.AddResult, error) { return dbbrain.AddResult{ID: 99}, nil },
			describe: listing(
				dbbrain.Contact{ID: 1, Name: "Carol", Mail: "carol@old.example.com"},
				dbbrain.Contact{ID: 2, Name: "Carol", Mail: "carol@example.com"},
			),
		}
		r := fakeRegistrar(api)
		r.LookFirst = true
		o := r.Register(withTimeout(t, 10*time.Second), []contact.Contact{{Name: "Carol", ContactInfo: "carol@example.com", Product: dbbrain.Product}})[0]
		if o.Err != nil || o.ID != 2 || !o.Existing || api.adds != 0 {
			t.Errorf("got %+v after %d adds, want registered already as id 2", o, api.adds)
		}
	})
}

// Lookups run at most Concurrency chunks ahead of the registration: a long
// batch whose adds the account's pace slows is not looked up whole at once,
// spending the shared lookup limit on chunks the time will not reach. (Once
// no add fits any more, the rest are looked up as they are answered, which
// finds those registered already.)
func TestLookupsRunBoundedAhead(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var early atomic.Int32 // lookups while adds still fit
		api := &fakeAPI{
			add: func(n int) (dbbrain.AddResult, error) { return dbbrain.AddResult{ID: int64(n)}, nil },
			describe: func([]string) (dbbrain.DescribeResult, error) {
				if time.Since(start) < 4*time.Second {
					early.Add(1)
				}
				time.Sleep(50 * time.Millisecond)
				return dbbrain.DescribeResult{RequestID: "d"}, nil
			},
		}
		r := fakeRegistrar(api)
		r.Adds = NewPacer(2, time.Now) // a slow share of the account's limit
		r.Concurrency = 2
		r.LookFirst = true
		outs := r.Register(withTimeout(t, 5*time.Second), people("ahead", 1000)) // 20 chunks
		attempted := 0
		for _, o := range outs {
			if o.Attempts > 0 {
				attempted++
			}
		}
		if most := int32((attempted+LookupChunk-1)/LookupChunk + r.Concurrency + 1); early.Load() > most {
			t.Errorf("%d lookups in the first 4 s for %d contacts attempted; want at most %d", early.Load(), attempted, most)
		}
	})
}
