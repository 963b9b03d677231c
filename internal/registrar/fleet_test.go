package registrar

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
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
// shared by every caller. Each call takes latency plus up to jitter, half
// before it reaches the window and half after.
type account struct {
	limit   int
	latency time.Duration
	jitter  time.Duration

	mu       sync.Mutex
	windows  map[string][]time.Time
	contacts []dbbrain.Contact
	calls    map[string]int
	refused  int
	// adds holds the arrival times of the AddUserContact calls the window
	// admitted, by the name's prefix (the instance, in fleet tests).
	adds map[string][]time.Time
}

func newAccount(limit int) *account {
	return &account{limit: limit, latency: time.Millisecond, windows: map[string][]time.Time{}, calls: map[string]int{},
		adds: map[string][]time.Time{}}
}

// admit counts one call of action in the window, for caller.
func (a *account) admit(action, caller string) error {
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
		return apierror.E(apierror.Throttled, apierror.RequestLimitExceeded, "over the limit")
	}
	a.windows[action] = append(w, now)
	if action == dbbrain.ActionAddUserContact {
		a.adds[caller] = append(a.adds[caller], now)
	}
	return nil
}

func (a *account) AddUserContact(_ context.Context, _ common.CredentialIface, name, email, _ string) (dbbrain.AddResult, error) {
	caller, _, _ := strings.Cut(name, "_")
	if err := a.admit(dbbrain.ActionAddUserContact, caller); err != nil {
		return dbbrain.AddResult{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.contacts {
		if c.Name == name {
			return dbbrain.AddResult{}, apierror.E(apierror.Invalid, apierror.FailedOperation, "name exists")
		}
	}
	c := dbbrain.Contact{ID: int64(len(a.contacts) + 1), Name: name, Mail: email}
	a.contacts = append(a.contacts, c)
	return dbbrain.AddResult{ID: c.ID, RequestID: "add"}, nil
}

func (a *account) DescribeAllUserContact(_ context.Context, _ common.CredentialIface, names []string) (dbbrain.DescribeResult, error) {
	if err := a.admit(dbbrain.ActionDescribeAllUserContact, ""); err != nil {
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

// addsBetween counts caller's admitted AddUserContact calls in [from, to).
func (a *account) addsBetween(caller string, from, to time.Time) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, t := range a.adds[caller] {
		if !t.Before(from) && t.Before(to) {
			n++
		}
	}
	return n
}

func people(prefix string, n int) []contact.Contact {
	out := make([]contact.Contact, n)
	for i := range out {
		out[i] = contact.Contact{Name: fmt.Sprintf("%s_%04d", prefix, i), ContactInfo: fmt.Sprintf("%s.%04d@example.com", prefix, i), Product: dbbrain.Product}
	}
	return out
}

// fleetRun is what a fleet did: when each instance started and answered.
type fleetRun struct {
	start, end []time.Time
}

// instance names instance i's contacts, and its calls in the account.
func instance(i int) string { return fmt.Sprintf("i%d", i) }

// fleet runs one registrar per entry of starts, each its own process with
// its own pacers, each registering perInstance contacts from its start
// (an offset from now) against one account.
func fleet(t *testing.T, acct *account, starts []time.Duration, perInstance int) fleetRun {
	r := fleetRun{start: make([]time.Time, len(starts)), end: make([]time.Time, len(starts))}
	var wg sync.WaitGroup
	for i, offset := range starts {
		wg.Go(func() {
			time.Sleep(offset)
			r.start[i] = time.Now()
			reg := &Registrar{
				API: acct, Adds: NewPacer(dbbrain.RateLimit, time.Now), Lookups: NewPacer(dbbrain.RateLimit, time.Now),
				Concurrency: 10, Margin: 500 * time.Millisecond, LookFirst: true,
			}
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			for j, o := range reg.Register(ctx, people(instance(i), perInstance)) {
				if o.Err != nil {
					t.Errorf("instance %d contact %d: %v", i, j, o.Err)
				}
			}
			r.end[i] = time.Now()
		})
	}
	wg.Wait()
	return r
}

// fleetCase is a fleet scenario and what it must achieve.
type fleetCase struct {
	name   string
	starts []time.Duration // each instance's start, from the fleet's
	// minRatio bounds the fleet's end-to-end rate, contacts over the time
	// from the first start to the last answer, as a share of the limit.
	minRatio float64
	// maxRefused bounds the throttled calls, as a share of the contacts.
	maxRefused float64
	// fair bounds each instance's rate while all are running (from 3 s
	// after the last start until the first answer), as a share of the
	// limit divided by the instances; 0 skips the check.
	fair float64
	// jitter is each call's latency jitter; 0 means 4 ms.
	jitter time.Duration
}

// Instances that share one account find their share of its limit, each
// from its own answers. The bounds are what every run of the simulation
// meets, with the race detector too: the fake clock makes time exact but not
// the order in which simultaneous calls arrive; the bench measures the
// fleet with real processes. Measured over 200 runs each without -race
// (150 with), median and worst of the limit, most refused:
//
//   - four in step: 0.976, 0.966 (0.968, 0.968), 24 refused of 400;
//   - four in step, jittered (the bench's case on a busy machine): the
//     same, and once in 250 runs with -race 0.894; the pace before this
//     one reached 0.93 in 47 of 60 such runs, worst 0.78;
//   - two in step: 0.78, 0.75, 17 refused of 200 (each drops to a quarter
//     of the ceiling and finds the other half by probing);
//   - eight in step: 0.85, 0.74-0.76, 189-205 refused of 800;
//   - starts staggered by a quarter second: 0.91, 0.71-0.75, 47-51
//     refused; by a second: 0.84, 0.70-0.71, 53-54 refused;
//   - a fourth instance joining three at full pace: 0.81, 0.78-0.79,
//     38-43 refused.
//
// Every instance's share while all run, as a part of a fair one: four in
// step 0.96-0.98, jittered 0.67-1.59 with -race; the joiner and the three
// 0.96-0.98 (0.52-1.37 with -race); two in step 0.80-0.84 each (0.71-0.93),
// both short of a half while they probe for it; staggered by a quarter
// second 0.51-1.49 (0.39-1.80), not bounded; staggered by a second, the
// first instance ends before the last has run long enough to measure.
func TestFleetFindsItsShare(t *testing.T) {
	at := func(ms ...int) []time.Duration {
		out := make([]time.Duration, len(ms))
		for i, m := range ms {
			out[i] = time.Duration(m) * time.Millisecond
		}
		return out
	}
	// The bounds lie below the tails of 900 runs with -race (the median runs
	// are in the README): the worst runs of eight in step reached 0.69 of the
	// limit; staggered by 250 ms, 0.649 and 59 refused; jittered, 0.74, 43
	// refused, shares 0.67-1.59; the joiner's share 0.52.
	for _, tc := range []fleetCase{
		{"alone", at(0), 0.98, 0, 0, 0},
		// A busy host or network: the margin widens with the calls' jitter,
		// where a fixed one had a lone instance throttled and paced at 0.52.
		{"alone, jittered", at(0), 0.93, 0.01, 0, 30 * time.Millisecond},
		{"two in step", at(0, 0), 0.72, 0.10, 0.65, 0},
		{"four in step", at(0, 0, 0, 0), 0.90, 0.10, 0.9, 0},
		{"eight in step", at(0, 0, 0, 0, 0, 0, 0, 0), 0.65, 0.28, 0, 0},
		{"four staggered by 250 ms", at(0, 250, 500, 750), 0.60, 0.16, 0, 0},
		{"four staggered by 1 s", at(0, 1000, 2000, 3000), 0.60, 0.20, 0, 0},
		{"one joins three at full pace", at(0, 0, 0, 5000), 0.72, 0.12, 0.45, 0},
		// The bench's case as a busy machine runs it: processes that start
		// milliseconds apart, calls whose latency varies by 15 ms.
		{"four in step, jittered", at(0, 10, 20, 30), 0.70, 0.12, 0.35, 15 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				acct := newAccount(dbbrain.RateLimit)
				acct.jitter = cmp.Or(tc.jitter, 4*time.Millisecond)
				const each = 100
				r := fleet(t, acct, tc.starts, each)
				first, last := slices.MinFunc(r.start, time.Time.Compare), slices.MaxFunc(r.end, time.Time.Compare)
				contacts := len(tc.starts) * each
				ratio := float64(contacts) / last.Sub(first).Seconds() / dbbrain.RateLimit
				t.Logf("%d contacts in %s (%.3f of the limit), %d refused, calls %v", contacts, last.Sub(first), ratio, acct.refused, acct.calls)
				if ratio < tc.minRatio {
					t.Errorf("%.3f of the limit, want >= %.2f", ratio, tc.minRatio)
				}
				if float64(acct.refused) > tc.maxRefused*float64(contacts) {
					t.Errorf("%d refused, want <= %.0f", acct.refused, tc.maxRefused*float64(contacts))
				}
				if got := len(acct.contacts); got != contacts {
					t.Errorf("%d contacts created, want %d", got, contacts)
				}
				if tc.fair == 0 {
					return
				}
				from := slices.MaxFunc(r.start, time.Time.Compare).Add(3 * time.Second)
				to := slices.MinFunc(r.end, time.Time.Compare)
				fairShare := dbbrain.RateLimit / float64(len(tc.starts))
				for i := range tc.starts {
					share := float64(acct.addsBetween(instance(i), from, to)) / to.Sub(from).Seconds() / fairShare
					if share < tc.fair || share > 2-tc.fair {
						t.Errorf("instance %d got %.2f of a fair share from %s to %s, want %.2f-%.2f",
							i, share, from.Sub(first), to.Sub(first), tc.fair, 2-tc.fair)
					}
				}
			})
		})
	}
}
