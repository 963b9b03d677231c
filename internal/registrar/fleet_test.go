package registrar

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/contact"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
)

// account is a model of one DBbrain account for tests on the fake clock:
// contacts, and a limit of limit calls per action in any sliding second,
// shared by every caller. latency is each call's round trip.
type account struct {
	limit   int
	latency time.Duration
	jitter  time.Duration

	mu       sync.Mutex
	windows  map[string][]time.Time
	contacts []dbbrain.Contact
	calls    map[string]int
	refused  int
}

func newAccount(limit int) *account {
	return &account{limit: limit, latency: time.Millisecond, windows: map[string][]time.Time{}, calls: map[string]int{}}
}

func (a *account) admit(action string) error {
	d := a.latency + time.Duration(rand.N(int64(a.jitter)+1))
	time.Sleep(d / 2)
	defer time.Sleep(d / 2)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls[action]++
	now := time.Now()
	w := a.windows[action]
	for len(w) > 0 && now.Sub(w[0]) >= time.Second {
		w = w[1:]
	}
	if len(w) >= a.limit {
		a.windows[action] = w
		a.refused++

		return apierror.New(apierror.RequestLimitExceeded, "over the limit")
	}
	a.windows[action] = append(w, now)
	return nil
}

func (a *account) AddUserContact(_ context.Context, _ common.CredentialIface, name, email, _ string) (dbbrain.AddResult, error) {
	if err := a.admit(dbbrain.ActionAddUserContact); err != nil {
		return dbbrain.AddResult{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.contacts {
		if c.Name == name {
			return dbbrain.AddResult{}, apierror.New(apierror.FailedOperation, "name exists")
		}
	}
	c := dbbrain.Contact{ID: int64(len(a.contacts) + 1), Name: name, Mail: email}
	a.contacts = append(a.contacts, c)
	return dbbrain.AddResult{ID: c.ID, RequestID: "add"}, nil
}

func (a *account) DescribeAllUserContact(_ context.Context, _ common.CredentialIface, names []string) (dbbrain.DescribeResult, error) {
	if err := a.admit(dbbrain.ActionDescribeAllUserContact); err != nil {
		return dbbrain.DescribeResult{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var out dbbrain.DescribeResult
	for _, c := range a.contacts {
		for _, n := range names {
			if strings.Contains(c.Name, n) {
				out.Contacts = append(out.Contacts, c)
				break
			}
		}
	}
	out.RequestID = "describe"
	return out, nil
}

func people(prefix string, n int) []contact.Contact {
	out := make([]contact.Contact, n)
	for i := range out {
		out[i] = contact.Contact{Name: fmt.Sprintf("%s_%04d", prefix, i), ContactInfo: fmt.Sprintf("%s.%04d@example.com", prefix, i), Product: dbbrain.Product}
	}
	return out
}

// fleet runs instances registrars, each its own process with its own pacers,
// each registering perInstance contacts at once against one account, and
// returns how long the fleet took.
func fleet(t *testing.T, acct *account, instances, perInstance int) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	for i := range instances {
		wg.Go(func() {
			r := &Registrar{
				API: acct, Adds: NewPacer(dbbrain.RateLimit, time.Now), Lookups: NewPacer(dbbrain.RateLimit, time.Now),
				Concurrency: 10, Margin: 500 * time.Millisecond,
			}
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			for j, o := range r.RegisterBatch(ctx, people(fmt.Sprintf("i%d", i), perInstance)) {
				if o.Err != nil {
					t.Errorf("instance %d contact %d: %v", i, j, o.Err)
				}
			}

		})
	}
	wg.Wait()
	return time.Since(start)
}

// Instances that share one account find their share of its limit, each
// from its own answers: a lone instance runs at the ceiling and is never
// throttled, and a fleet stays close to the limit with few refusals. The
// bounds are loose on purpose: the fake clock makes time exact but not the
// order in which simultaneous calls arrive, which decides which instance a
// throttle hits; the bench measures the fleet with real processes. The fixed
// pace this replaced got 0.83 of the limit with about 500 refusals for 4 × 100.
func TestFleetFindsItsShare(t *testing.T) {
	for _, tc := range []struct {
		instances      int
		minRatio       float64
		maxRefusedFrac float64
	}{
		{1, 0.97, 0},
		{2, 0.85, 0.10},
		{4, 0.75, 0.15},
		{8, 0.70, 0.25},
	} {
		t.Run(fmt.Sprint(tc.instances), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				acct := newAccount(dbbrain.RateLimit)
				const n = 100
				took := fleet(t, acct, tc.instances, n)
				contacts := tc.instances * n
				ratio := float64(contacts) / took.Seconds() / dbbrain.RateLimit
				t.Logf("%d instances: %d contacts in %s (%.3f of the limit), %d refused, calls %v", tc.instances, contacts, took, ratio, acct.refused, acct.calls)
				if ratio < tc.minRatio || float64(acct.refused) > tc.maxRefusedFrac*float64(contacts) {
					t.Errorf("ratio %.3f (want >= %.2f), %d refused (want <= %.0f)", ratio, tc.minRatio, acct.refused, tc.maxRefusedFrac*float64(contacts))
				}
				if got := len(acct.contacts); got != contacts {
					t.Errorf("%d contacts created, want %d", got, contacts)
				}
			})
		})
	}
}
