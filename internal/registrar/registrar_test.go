package registrar

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/contact"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/emulator"
)

var key = emulator.Key{SecretID: "AKIDregistrarTEST000000000000000000", SecretKey: "registrarSECRET0000000000000000", Token: "registrarTOKEN00000000000000000000000"}

func fastBackoff() backoff.BackOff {
	return &backoff.ExponentialBackOff{InitialInterval: 20 * time.Millisecond, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: 200 * time.Millisecond}
}

// inMemory carries requests to an http.Handler inside the process, so that
// the emulator runs on the test's fake clock. It reports the request as
// written, as net/http's transport does, and turns the emulator's dropped
// connection into the error a client would see.
type inMemory struct{ h http.Handler }

func (m inMemory) RoundTrip(req *http.Request) (*http.Response, error) {
	if trace := httptrace.ContextClientTrace(req.Context()); trace != nil && trace.WroteRequest != nil {
		trace.WroteRequest(httptrace.WroteRequestInfo{})
	}
	rec := httptest.NewRecorder()
	done := make(chan bool, 1)
	go func() {
		defer func() { done <- recover() != nil }()
		m.h.ServeHTTP(rec, req)
	}()
	select {
	case dropped := <-done:
		if dropped {
			return nil, errors.New("connection reset by peer")
		}
		return rec.Result(), nil
	case <-req.Context().Done():
		<-done
		return nil, req.Context().Err()
	}
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
	return &upstream{emu: emu, client: dbbrain.NewClient(dbbrain.DefaultRegion, ep, inMemory{emu})}
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
				cs := people("fault", 60)
				outs := r.RegisterBatch(withTimeout(t, 60*time.Second), cs)
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
				// contacts are found after DBbrain refuses the names.)
				again := r.RegisterBatch(withTimeout(t, 60*time.Second), cs)
				for i, o := range again {
					if o.Err != nil || o.ID != outs[i].ID || !o.Existing {
						t.Errorf("second run %s: %+v, first id %d", cs[i].Name, o, outs[i].ID)
					}
				}
				exactlyOnce(t, u.emu, cs, again)
			})
		})
	}
}

func TestRequestLimitStormIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The account allows 5 per second; the ceiling says 50: the pacer
		// must find the limit, and every throttled call be retried.
		u := newUpstream(t, emulator.Config{RPS: 5})
		r := u.registrar(50)
		cs := people("storm", 30)
		outs := r.RegisterBatch(withTimeout(t, 60*time.Second), cs)
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
	synctest.Test(t, func(t *testing.T) {
		u := newUpstream(t, emulator.Config{RPS: -1})
		r := u.registrar(1000)
		r.Credential = common.NewTokenCredential(key.SecretID, key.SecretKey, "wrong-token")
		o := r.Register(withTimeout(t, 5*time.Second), people("auth", 1)[0])
		if apierror.CodeOf(o.Err) != apierror.TokenFailure || o.Attempts != 1 {
			t.Fatalf("got %v after %d attempts", o.Err, o.Attempts)
		}
		if st := u.emu.Stats(); st.Requests != 1 {
			t.Errorf("%d requests: an auth failure must neither retry nor look up", st.Requests)
		}
	})
}

func TestExistingContactIsSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUpstream(t, emulator.Config{RPS: -1})
		r := u.registrar(1000)
		c := people("exists", 1)[0]
		first := r.Register(withTimeout(t, 5*time.Second), c)
		if first.Err != nil {
			t.Fatal(first.Err)
		}
		same := c
		same.ContactInfo = strings.ToUpper(c.ContactInfo) // addresses compare case-insensitively
		second := r.Register(withTimeout(t, 5*time.Second), same)
		if second.Err != nil || second.ID != first.ID || !second.Existing || second.RequestID == "" {
			t.Fatalf("second registration: %+v", second)
		}
		other := c
		other.ContactInfo = "someone.else@example.com"
		conflict := r.Register(withTimeout(t, 5*time.Second), other)
		e := apierror.From(conflict.Err)
		if e == nil || e.Code != apierror.FailedOperation || !strings.Contains(e.Message, "different email") {
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
	synctest.Test(t, func(t *testing.T) {
		u := newUpstream(t, emulator.Config{RPS: -1, Faults: emulator.Faults{Latency: 2 * time.Second}})
		r := u.registrar(1000)
		c := people("slow", 1)[0]
		o := r.Register(withTimeout(t, 700*time.Millisecond), c)
		if apierror.CodeOf(o.Err) != apierror.DeadlineExceeded || len(u.emu.Contacts()) != 1 {
			t.Fatalf("first invocation: %+v, %d stored", o, len(u.emu.Contacts()))
		}
		if err := u.emu.SetFaults(emulator.Faults{}); err != nil {
			t.Fatal(err)
		}
		retried := r.Register(withTimeout(t, 5*time.Second), c)
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
	synctest.Test(t, func(t *testing.T) {
		u := newUpstream(t, emulator.Config{RPS: -1})
		r := u.registrar(10) // 10 per second: 120 contacts need 12 s
		cs := people("deadline", 120)
		outs := r.RegisterBatch(withTimeout(t, 5*time.Second), cs)
		var done, notStarted int
		for _, o := range outs {
			switch {
			case o.Err == nil:
				done++
			case apierror.CodeOf(o.Err) == apierror.DeadlineExceeded && strings.Contains(apierror.From(o.Err).Message, "not attempted"):
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
		rest := r.RegisterBatch(withTimeout(t, 60*time.Second), cs)
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
	synctest.Test(t, func(t *testing.T) {
		u := newUpstream(t, emulator.Config{RPS: dbbrain.RateLimit})
		r := u.registrar(dbbrain.RateLimit)
		cs := people("pace", 45)
		for _, o := range r.RegisterBatch(withTimeout(t, 20*time.Second), cs) {
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

func TestCheckRetry(t *testing.T) {
	for code, want := range map[string]Decision{
		"RequestLimitExceeded.UinLimitExceeded": Retry, apierror.NetworkError: Retry,
		apierror.InternalError: LookUpFirst, apierror.ServiceUnavailable: LookUpFirst,
		apierror.DeadlineExceeded: Stop, apierror.FailedOperation: Stop, apierror.AuthFailure: Stop,
	} {
		if got := DefaultCheckRetry(apierror.New(code, "x")); got != want {
			t.Errorf("DefaultCheckRetry(%s) = %v, want %v", code, got, want)
		}
	}
	maybe := apierror.Wrap(apierror.NetworkError, fmt.Errorf("%w: reset", dbbrain.ErrMaybeApplied), "reset")
	if got := DefaultCheckRetry(maybe); got != LookUpFirst {
		t.Errorf("a network failure after the request left: %v, want LookUpFirst", got)
	}
	for code, want := range map[string]bool{
		"FailedOperation": true, "InvalidParameterValue": true, "InternalError": true, "ServiceUnavailable": true, apierror.ParseJSONError: true,
		"AuthFailure.SignatureFailure": false, "RequestLimitExceeded": false, "UnauthorizedOperation": false, apierror.NetworkError: false, apierror.DeadlineExceeded: false,
	} {
		if got := mayExist(apierror.New(code, "x")); got != want {
			t.Errorf("mayExist(%s) = %v", code, got)
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
	synctest.Test(t, func(t *testing.T) {
		api := &fakeAPI{
			add: func(int) (dbbrain.AddResult, error) {
				return dbbrain.AddResult{}, &apierror.Error{Code: apierror.FailedOperation, Message: "name exists", RequestID: "r1"}
			},
			describe: listing(dbbrain.Contact{ID: 9, Name: "zhangsan2", Mail: "z@example.com"}, dbbrain.Contact{ID: 10, Name: "Zhangsan", Mail: "z@example.com"}),
		}
		o := fakeRegistrar(api).Register(withTimeout(t, 2*time.Second), contact.Contact{Name: "zhangsan", ContactInfo: "z@example.com", Product: dbbrain.Product})
		if apierror.CodeOf(o.Err) != apierror.FailedOperation || apierror.From(o.Err).RequestID != "r1" {
			t.Fatalf("fuzzy match accepted: %+v", o)
		}
		if len(api.describes) != 1 {
			t.Errorf("%d lookups", len(api.describes))
		}
	})
}

func TestAmbiguousNetworkFailureIsLookedUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := &fakeAPI{
			add: func(int) (dbbrain.AddResult, error) {
				return dbbrain.AddResult{}, apierror.Wrap(apierror.NetworkError, fmt.Errorf("%w: reset", dbbrain.ErrMaybeApplied), "reset")
			},
			describe: listing(dbbrain.Contact{ID: 4, Name: "lost_answer", Mail: "lost@example.com"}),
		}
		o := fakeRegistrar(api).Register(withTimeout(t, 2*time.Second), contact.Contact{Name: "lost_answer", ContactInfo: "lost@example.com", Product: dbbrain.Product})
		// The second attempt looks before sending again, and finds it.
		if o.Err != nil || o.ID != 4 || !o.Existing || api.adds != 1 || len(api.describes) != 1 {
			t.Fatalf("got %+v after %d adds and %d lookups", o, api.adds, len(api.describes))
		}
		// A failure before anything was sent is not looked up.
		api2 := &fakeAPI{add: func(int) (dbbrain.AddResult, error) {
			return dbbrain.AddResult{}, apierror.Wrap(apierror.NetworkError, errors.New("connection refused"), "refused")
		}}
		o = fakeRegistrar(api2).Register(withTimeout(t, 2*time.Second), contact.Contact{Name: "never_sent", ContactInfo: "n@example.com", Product: dbbrain.Product})
		if apierror.CodeOf(o.Err) != apierror.NetworkError || len(api2.describes) != 0 {
			t.Fatalf("got %+v with %d lookups", o, len(api2.describes))
		}
	})
}

// A retry whose wait would not leave time for the call before the deadline
// is not made: the last failure is the answer.
func TestBackoffStopsBeforeDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := &fakeAPI{add: func(int) (dbbrain.AddResult, error) {
			return dbbrain.AddResult{}, apierror.New(apierror.NetworkError, "connection refused")
		}}
		r := fakeRegistrar(api)
		r.Backoff = func() backoff.BackOff { return backoff.NewConstantBackOff(300 * time.Millisecond) }
		start := time.Now()
		o := r.Register(withTimeout(t, time.Second), contact.Contact{Name: "busy", ContactInfo: "b@example.com", Product: dbbrain.Product})
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
		outs := fakeRegistrar(api).RegisterBatch(withTimeout(t, 10*time.Second), cs)
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
		if o := outs[1]; apierror.CodeOf(o.Err) != apierror.FailedOperation || o.Attempts != 0 {
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

// A lookup that fails leaves every contact to today's path: send, and look
// up only after a failure that may hide an earlier success.
func TestBatchLookupFailureFallsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := &fakeAPI{
			add: func(n int) (dbbrain.AddResult, error) { return dbbrain.AddResult{ID: int64(n)}, nil },
			describe: func([]string) (dbbrain.DescribeResult, error) {
				return dbbrain.DescribeResult{}, apierror.New(apierror.UnauthorizedOperation, "no describe")
			},
		}
		cs := people("fallback", 5)
		for i, o := range fakeRegistrar(api).RegisterBatch(withTimeout(t, 10*time.Second), cs) {
			if o.Err != nil || o.Attempts != 1 {
				t.Errorf("%s: %+v", cs[i].Name, o)
			}
		}
		if len(api.describes) != 1 || api.adds != 5 {
			t.Errorf("%d lookups, %d adds", len(api.describes), api.adds)
		}
	})
}

// Calls that hung until a deadline must not teach a warm instance that
// every call is too slow to start: a single contact is still attempted.
func TestSlowEstimateStillAttemptsASingleContact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUpstream(t, emulator.Config{RPS: -1})
		r := u.registrar(1000)
		for range 50 {
			r.Adds.Observe(10*time.Minute, false) // hung until a deadline
		}
		o := r.Register(withTimeout(t, time.Second), people("wedge", 1)[0])
		if o.Err != nil {
			t.Fatalf("a single contact was not attempted with a slow estimate: %v", o.Err)
		}
	})
}

// A name given twice in one batch is sent once: the same email is the same
// contact, another email the conflict.
func TestRepeatedNameInABatchIsSentOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		acct := newAccount(dbbrain.RateLimit)
		r := &Registrar{API: acct, Adds: NewPacer(20, time.Now), Lookups: NewPacer(20, time.Now), Concurrency: 4}
		c := contact.Contact{Name: "twice", ContactInfo: "twice@example.com", Product: dbbrain.Product}
		other := c
		other.ContactInfo = "other@example.com"
		outs := r.RegisterBatch(withTimeout(t, 10*time.Second), []contact.Contact{c, c, other})
		if outs[0].Err != nil || outs[1].ID != outs[0].ID || !outs[1].Existing || !outs[2].Conflict {
			t.Errorf("outcomes %+v", outs)
		}
		if acct.calls[dbbrain.ActionAddUserContact] != 1 || len(acct.contacts) != 1 {
			t.Errorf("%d AddUserContact calls, %d contacts", acct.calls[dbbrain.ActionAddUserContact], len(acct.contacts))
		}
	})
}

// For triggers that redeliver, even one contact is looked up first: its
// redelivery costs a lookup and no AddUserContact.
func TestLookFirstRedeliveryCostsALookup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		acct := newAccount(dbbrain.RateLimit)
		r := &Registrar{API: acct, Adds: NewPacer(20, time.Now), Lookups: NewPacer(20, time.Now), Concurrency: 4, LookFirst: true}
		cs := people("once", 1)
		first := r.RegisterBatch(withTimeout(t, 5*time.Second), cs)
		again := r.RegisterBatch(withTimeout(t, 5*time.Second), cs)
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
	synctest.Test(t, func(t *testing.T) {
		api := &fakeAPI{
			add: func(int) (dbbrain.AddResult, error) {
				return dbbrain.AddResult{}, apierror.Wrap(apierror.NetworkError, fmt.Errorf("%w: reset", dbbrain.ErrMaybeApplied), "reset")
			},
			describe: func([]string) (dbbrain.DescribeResult, error) {
				return dbbrain.DescribeResult{}, apierror.New(apierror.InternalError, "describe is down")
			},
		}
		o := fakeRegistrar(api).Register(withTimeout(t, 5*time.Second), contact.Contact{Name: "unknown", ContactInfo: "u@example.com", Product: dbbrain.Product})
		if api.adds != 1 || !apierror.Retryable(apierror.CodeOf(o.Err)) || o.Conflict {
			t.Fatalf("%d adds, outcome %+v", api.adds, o)
		}
	})
}

// A long delivery that is mostly registered already makes progress in each
// invocation: the lookups run ahead, several at once, so their latency does
// not add up to the invocation's whole time.
func TestMostlyRegisteredDeliveryMakesProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		acct := newAccount(dbbrain.RateLimit)
		acct.latency = 100 * time.Millisecond
		cs := people("bulk", 2050)
		for i, c := range cs[:2000] {
			acct.contacts = append(acct.contacts, dbbrain.Contact{ID: int64(i + 1), Name: c.Name, Mail: c.ContactInfo})
		}
		r := &Registrar{API: acct, Adds: NewPacer(20, time.Now), Lookups: NewPacer(20, time.Now), Concurrency: 10, Margin: 300 * time.Millisecond}
		for round := 1; len(acct.contacts) < 2050; round++ {
			before := len(acct.contacts)
			r.RegisterBatch(withTimeout(t, 4*time.Second), cs)
			if len(acct.contacts) == before || round > 10 {
				t.Fatalf("round %d registered nothing new (%d of 2050)", round, len(acct.contacts))
			}
		}
	})
}
