package registrar

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"go.uber.org/goleak"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/contact"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/emulator"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var key = emulator.Key{SecretID: "AKIDregistrarTEST000000000000000000", SecretKey: "registrarSECRET0000000000000000", Token: "registrarTOKEN00000000000000000000000"}

func fastBackoff() backoff.BackOff {
	return &backoff.ExponentialBackOff{InitialInterval: 2 * time.Millisecond, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: 20 * time.Millisecond}
}

type upstream struct {
	emu       *emulator.Server
	client    *dbbrain.Client
	transport interface{ CloseIdleConnections() }
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
	srv := httptest.NewServer(emu)
	ep, err := dbbrain.ResolveEndpoint("ap-guangzhou", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	tr := dbbrain.NewTransport(32)
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
		_ = emu.Close()
	})
	return &upstream{emu: emu, client: dbbrain.NewClient("ap-guangzhou", ep, tr), transport: tr}
}

func (u *upstream) registrar(rps float64) *Registrar {
	return &Registrar{
		API:         u.client,
		Credential:  common.NewTokenCredential(key.SecretID, key.SecretKey, key.Token),
		Limiter:     NewLimiter(rps),
		Estimator:   NewEstimator(),
		Concurrency: 8,
		Margin:      50 * time.Millisecond,
		Backoff:     fastBackoff,
	}
}

func contacts(n int, prefix string) []contact.Contact {
	out := make([]contact.Contact, n)
	for i := range out {
		out[i] = contact.Contact{Name: fmt.Sprintf("%s_%03d", prefix, i), ContactInfo: fmt.Sprintf("%s%03d@example.com", prefix, i), Product: "mysql"}
	}
	return out
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

func TestRetriesEachFaultKind(t *testing.T) {
	for name, f := range map[string]emulator.Faults{
		"internal error": {InternalError: 0.3},
		"bare 503":       {Unavailable: 0.3},
		"dropped":        {Drop: 0.3},
		"mixed":          {InternalError: 0.1, Unavailable: 0.1, Drop: 0.1},
	} {
		t.Run(name, func(t *testing.T) {
			u := newUpstream(t, emulator.Config{RPS: -1, Faults: f})
			r := u.registrar(1000)
			cs := contacts(60, "fault")
			outs := r.RegisterBatch(withTimeout(t, 20*time.Second), cs)
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

			// The same batch again (a retried invocation): nothing new, nothing failed.
			again := r.RegisterBatch(withTimeout(t, 20*time.Second), cs)
			for i, o := range again {
				if o.Err != nil || o.ID != outs[i].ID {
					t.Errorf("second run %s: id %d err %v, first id %d", cs[i].Name, o.ID, o.Err, outs[i].ID)
				}
			}
			exactlyOnce(t, u.emu, cs, again)
		})
	}
}

func TestRequestLimitStormIsRetried(t *testing.T) {
	// The server allows 5 per second; the client is told 50: every excess
	// call is throttled and must be retried, never surfaced.
	u := newUpstream(t, emulator.Config{RPS: 5})
	r := u.registrar(50)
	r.Backoff = func() backoff.BackOff {
		return &backoff.ExponentialBackOff{InitialInterval: 50 * time.Millisecond, RandomizationFactor: 0.5, Multiplier: 1.5, MaxInterval: 400 * time.Millisecond}
	}
	cs := contacts(12, "storm")
	outs := r.RegisterBatch(withTimeout(t, 20*time.Second), cs)
	for i, o := range outs {
		if o.Err != nil {
			t.Errorf("%s: %v", cs[i].Name, o.Err)
		}
	}
	if n := u.emu.Stats().Codes["RequestLimitExceeded"]; n == 0 {
		t.Error("the server never throttled: the test did not test anything")
	}
	exactlyOnce(t, u.emu, cs, outs)
}

func TestNonRetryableFailsAtOnce(t *testing.T) {
	u := newUpstream(t, emulator.Config{RPS: -1})
	r := u.registrar(1000)
	r.Credential = common.NewTokenCredential(key.SecretID, key.SecretKey, "wrong-token")
	o := r.Register(withTimeout(t, 5*time.Second), contacts(1, "auth")[0])
	if apierror.CodeOf(o.Err) != "AuthFailure.TokenFailure" || o.Attempts != 1 {
		t.Fatalf("got %v after %d attempts", o.Err, o.Attempts)
	}
	if st := u.emu.Stats(); st.Requests != 1 {
		t.Errorf("%d requests: an auth failure must neither retry nor look up", st.Requests)
	}
}

func TestExistingContactIsSuccess(t *testing.T) {
	u := newUpstream(t, emulator.Config{RPS: -1})
	r := u.registrar(1000)
	c := contacts(1, "exists")[0]
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
	e := apierror.As(conflict.Err)
	if e == nil || e.Code != apierror.FailedOperation || !strings.Contains(e.Message, "different email") || apierror.HTTPStatus(e.Code) != 409 {
		t.Fatalf("conflict: %+v", conflict)
	}
	if len(u.emu.Contacts()) != 1 {
		t.Errorf("contacts: %+v", u.emu.Contacts())
	}
}

// A name that only contains the wanted one is not the wanted one: DBbrain's
// lookup is fuzzy, ours is exact.
func TestFuzzyLookupIsComparedExactly(t *testing.T) {
	api := &fakeAPI{
		add: func(int) (dbbrain.AddResult, error) {
			return dbbrain.AddResult{}, &apierror.Error{Code: "FailedOperation", Message: "name exists", RequestID: "r1"}
		},
		contacts: []dbbrain.Contact{{ID: 9, Name: "zhangsan2", Mail: "z@example.com"}, {ID: 10, Name: "Zhangsan", Mail: "z@example.com"}},
	}
	r := &Registrar{API: api, Limiter: NewLimiter(1000), Estimator: NewEstimator(), Backoff: fastBackoff}
	o := r.Register(withTimeout(t, 2*time.Second), contact.Contact{Name: "zhangsan", ContactInfo: "z@example.com", Product: "mysql"})
	if apierror.CodeOf(o.Err) != "FailedOperation" || o.Err.(*apierror.Error).RequestID != "r1" {
		t.Fatalf("fuzzy match accepted: %+v", o)
	}
	if api.describes != 1 {
		t.Errorf("%d lookups", api.describes)
	}
}

// Latency past the deadline: the call times out, the server still creates
// the contact, and the retried invocation finds it instead of failing.
func TestDeadlineThenRetriedInvocation(t *testing.T) {
	u := newUpstream(t, emulator.Config{RPS: -1, Faults: emulator.Faults{Latency: 2 * time.Second}})
	r := u.registrar(1000)
	c := contacts(1, "slow")[0]
	o := r.Register(withTimeout(t, 700*time.Millisecond), c)
	if apierror.CodeOf(o.Err) != apierror.DeadlineExceeded || !apierror.Retryable(apierror.CodeOf(o.Err)) {
		t.Fatalf("first invocation: %+v", o)
	}
	if err := u.emu.SetFaults(emulator.Faults{}); err != nil {
		t.Fatal(err)
	}
	// Give the slow request time to land server-side.
	deadline := time.Now().Add(5 * time.Second)
	for len(u.emu.Contacts()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	retried := r.Register(withTimeout(t, 5*time.Second), c)
	if retried.Err != nil || !retried.Existing {
		t.Fatalf("retried invocation: %+v", retried)
	}
	exactlyOnce(t, u.emu, []contact.Contact{c}, []Outcome{retried})
}

// A batch stops starting contacts when the time left cannot cover another
// call; a second invocation completes the rest, creating nothing twice.
func TestBatchStopsBeforeDeadlineAndResumes(t *testing.T) {
	u := newUpstream(t, emulator.Config{RPS: -1})
	r := u.registrar(10) // 10 per second: 30 contacts need 3 s
	cs := contacts(30, "deadline")
	outs := r.RegisterBatch(withTimeout(t, 1200*time.Millisecond), cs)
	var done, notStarted int
	for _, o := range outs {
		switch {
		case o.Err == nil:
			done++
		case apierror.CodeOf(o.Err) == apierror.DeadlineExceeded && strings.Contains(apierror.As(o.Err).Message, "not attempted"):
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
	rest := r.RegisterBatch(withTimeout(t, 10*time.Second), cs)
	for i, o := range rest {
		if o.Err != nil {
			t.Errorf("%s: %v", cs[i].Name, o.Err)
		}
		if outs[i].Err == nil && o.ID != outs[i].ID {
			t.Errorf("%s changed id %d -> %d", cs[i].Name, outs[i].ID, o.ID)
		}
	}
	exactlyOnce(t, u.emu, cs, rest)
}

func TestLimiterSpacing(t *testing.T) {
	u := newUpstream(t, emulator.Config{RPS: 20})
	r := u.registrar(20)
	cs := contacts(45, "pace")
	outs := r.RegisterBatch(withTimeout(t, 20*time.Second), cs)
	for _, o := range outs {
		if o.Err != nil {
			t.Fatalf("%v", o.Err)
		}
	}
	st := u.emu.Stats()
	if n := st.Codes["RequestLimitExceeded"]; n != 0 {
		t.Errorf("the server throttled %d calls: the limiter let too many through", n)
	}
	acc := st.Actions["AddUserContact"].Accepted
	for i := range acc {
		j := i
		for j < len(acc) && acc[j].Sub(acc[i]) < time.Second {
			j++
		}
		if j-i > 20 {
			t.Fatalf("%d calls within one second starting at call %d", j-i, i)
		}
	}
}

func TestPolicies(t *testing.T) {
	for code, want := range map[string]bool{
		"RequestLimitExceeded.UinLimitExceeded": true, "InternalError": true, "ServiceUnavailable": true,
		apierror.NetworkError: true, apierror.DeadlineExceeded: false, "FailedOperation": false, "AuthFailure": false,
	} {
		if got := DefaultRetryPolicy(apierror.New(code, "x")); got != want {
			t.Errorf("DefaultRetryPolicy(%s) = %v", code, got)
		}
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

func TestBackoffStopsBeforeDeadline(t *testing.T) {
	now := time.Unix(1000, 0)
	r := &Registrar{Estimator: NewEstimator(), Now: func() time.Time { return now }}
	b := &deadlineBackOff{next: backoff.NewConstantBackOff(300 * time.Millisecond), deadline: now.Add(time.Second), r: r}
	if d := b.NextBackOff(); d != 300*time.Millisecond {
		t.Errorf("first wait %v", d)
	}
	b.deadline = now.Add(700 * time.Millisecond) // 300 ms wait + 500 ms call do not fit
	if d := b.NextBackOff(); d != backoff.Stop {
		t.Errorf("wait past the deadline allowed: %v", d)
	}
}

type fakeAPI struct {
	mu        sync.Mutex
	add       func(attempt int) (dbbrain.AddResult, error)
	adds      int
	describes int
	contacts  []dbbrain.Contact
}

func (f *fakeAPI) AddUserContact(context.Context, common.CredentialIface, string, string, string) (dbbrain.AddResult, error) {
	f.mu.Lock()
	f.adds++
	n := f.adds
	f.mu.Unlock()
	return f.add(n)
}

func (f *fakeAPI) DescribeAllUserContact(context.Context, common.CredentialIface, []string) (dbbrain.DescribeResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.describes++
	return dbbrain.DescribeResult{Contacts: f.contacts, RequestID: "describe-1"}, nil
}

func TestAmbiguousNetworkFailureIsLookedUp(t *testing.T) {
	api := &fakeAPI{
		add: func(n int) (dbbrain.AddResult, error) {
			return dbbrain.AddResult{}, apierror.Wrap(apierror.NetworkError, fmt.Errorf("%w: reset", dbbrain.ErrMaybeApplied), "reset")
		},
		contacts: []dbbrain.Contact{{ID: 4, Name: "lost_answer", Mail: "lost@example.com"}},
	}
	r := &Registrar{API: api, Limiter: NewLimiter(1000), Estimator: NewEstimator(), Backoff: func() backoff.BackOff { return &tries{left: 2} }}
	o := r.Register(withTimeout(t, 2*time.Second), contact.Contact{Name: "lost_answer", ContactInfo: "lost@example.com", Product: "mysql"})
	// The second attempt looks before sending again, and finds it.
	if o.Err != nil || o.ID != 4 || !o.Existing || api.adds != 1 || api.describes != 1 {
		t.Fatalf("got %+v after %d adds and %d lookups", o, api.adds, api.describes)
	}
	// A failure before anything was sent is not looked up.
	api2 := &fakeAPI{add: func(int) (dbbrain.AddResult, error) {
		return dbbrain.AddResult{}, apierror.Wrap(apierror.NetworkError, errors.New("connection refused"), "refused")
	}}
	r.API = api2
	o = r.Register(withTimeout(t, 2*time.Second), contact.Contact{Name: "never_sent", ContactInfo: "n@example.com", Product: "mysql"})
	if apierror.CodeOf(o.Err) != apierror.NetworkError || api2.describes != 0 {
		t.Fatalf("got %+v with %d lookups", o, api2.describes)
	}
}

// tries allows a fixed number of retries, 1 ms apart.
type tries struct{ left int }

func (b *tries) Reset() {}

func (b *tries) NextBackOff() time.Duration {
	if b.left == 0 {
		return backoff.Stop
	}
	b.left--
	return time.Millisecond
}

// Calls that hang until the deadline must not teach the process that every
// call is too slow to start: a warm instance would refuse all later work.
func TestEstimateCannotWedgeAWarmInstance(t *testing.T) {
	u := newUpstream(t, emulator.Config{RPS: -1})
	r := u.registrar(1000)
	for range 50 {
		r.Estimator.Observe(10 * time.Minute)
	}
	if got := r.Estimator.Typical(); got > 2*time.Second {
		t.Fatalf("estimate grew to %v", got)
	}
	o := r.Register(withTimeout(t, time.Second), contacts(1, "wedge")[0])
	if o.Err != nil {
		t.Fatalf("a single contact was not attempted with a slow estimate: %v", o.Err)
	}
	// The limiter's queue is not call latency: a slow limiter leaves the
	// estimate near the real call time.
	slow := u.registrar(5)
	outs := slow.RegisterBatch(withTimeout(t, 10*time.Second), contacts(10, "queue"))
	for _, o := range outs {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
	}
	if got := slow.Estimator.Typical(); got > 300*time.Millisecond {
		t.Errorf("the estimate counts the limiter's queue: %v", got)
	}
}
