package bench

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/emulator"
)

// TestScenarios runs every scenario small, through the real binary, so that
// the bench cannot rot between make bench runs. It checks outcomes only
// (counts, the store); how fast things went is for the report to judge.
func TestScenarios(t *testing.T) {
	t.Run("batch", func(t *testing.T) {
		t.Parallel()
		if r := runBatch(t, 10); r.ok != 10 || r.surfaced != 0 || r.maxWindow == 0 || r.peakRSS < 0 {
			t.Errorf("batch of 10: %+v", r)
		}
	})
	t.Run("cold", func(t *testing.T) {
		t.Parallel()
		if inits := coldStarts(t, 2); len(inits) != 2 || slices.Min(inits) <= 0 {
			t.Errorf("init durations %v", inits)
		}
	})
	t.Run("warm", func(t *testing.T) {
		t.Parallel()
		if r := runWarm(t, 2); len(r.invocations) != 2 || len(r.direct) != 2 {
			t.Errorf("warm: %+v", r)
		}
	})
	t.Run("faults", func(t *testing.T) {
		t.Parallel()
		r := runFaults(t, emulator.Faults{InternalError: 0.1, Unavailable: 0.1, Drop: 0.1}, 10)
		if len(r.problems) > 0 || r.runs[1].invocations == 0 || r.adds[0] < 10 {
			t.Errorf("faults: %+v; problems: %s", r, strings.Join(r.problems, "; "))
		}
	})
	t.Run("fleet", func(t *testing.T) {
		t.Parallel()
		r := runFleet(t, 2, 10)
		var adds int
		for _, s := range r.seconds {
			adds += s[0]
		}
		if r.ok != 20 || r.failed != 0 || r.duplicates != 0 || len(r.problems) > 0 || adds != 20 {
			t.Errorf("fleet of 2 x 10: %+v (accepted adds %d); problems: %s", r, adds, strings.Join(r.problems, "; "))
		}
	})
	t.Run("keyflood", func(t *testing.T) {
		t.Parallel()
		for name, event := range map[string][]byte{"direct": directKeyFlood(1000), "function-url": functionURLKeyFlood(1000),
			"records": ckafkaFlood(3, 2, func(n int) string { return fmt.Sprintf(`{"Name":"c%d","ContactInfo":"c%d@example.com"}`, n, n) })} {
			if r := runKeyFlood(t, event, 0); r.peakRSS < 0 || r.answer == "" || r.bytes != len(event) {
				t.Errorf("%s key flood: %+v", name, r)
			}
		}
	})
	t.Run("redelivery", func(t *testing.T) {
		t.Parallel()
		r := runRerun(t, 10, func(int) bool { return true })
		if r.ok != 10 || r.adds != 0 || r.lookups < 1 || len(r.problems) > 0 {
			t.Errorf("redelivery of 10: %+v; problems: %s", r, strings.Join(r.problems, "; "))
		}
	})
	t.Run("half", func(t *testing.T) {
		t.Parallel()
		r := runRerun(t, 10, func(i int) bool { return i%2 == 0 })
		if r.ok != 10 || r.adds != 5 || r.lookups < 1 || len(r.problems) > 0 {
			t.Errorf("half of 10 registered: %+v; problems: %s", r, strings.Join(r.problems, "; "))
		}
	})
}

// TestRates checks the arithmetic behind the report's rate figures.
func TestRates(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms ...int) []time.Time {
		var out []time.Time
		for _, m := range ms {
			out = append(out, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return out
	}
	// Unsorted on purpose: arrivals are recorded by concurrent handlers.
	times := at(500, 0, 1000, 1500, 2000)
	if got := callRate(times); got != 2 {
		t.Errorf("callRate = %v, want 2", got)
	}
	if got := callRate(at(7)); got != 0 {
		t.Errorf("callRate of one call = %v, want 0", got)
	}
	// (t-1s, t]: the call at 0 has left the window of the call at 1000.
	if got := maxInWindow(times); got != 2 {
		t.Errorf("maxInWindow = %d, want 2", got)
	}
	if got := maxInWindow(at(0, 1, 999, 1000)); got != 3 {
		t.Errorf("maxInWindow = %d, want 3", got)
	}
	if got, want := perSecond(append(times, t0.Add(-time.Millisecond)), t0, 2), []int{2, 2}; !slices.Equal(got, want) {
		t.Errorf("perSecond = %v, want %v", got, want)
	}
	if got := median([]time.Duration{3, 1, 2, 4}); got != 2 {
		t.Errorf("median = %v, want 2", got)
	}
}

// TestContactNames checks what the scenarios rely on: DescribeAllUserContact
// matches names as substrings, so no name may contain another.
func TestContactNames(t *testing.T) {
	var all []contactIn
	for _, p := range []string{"f1", "f2", "b", "r"} {
		all = append(all, newContacts(p, 30)...)
	}
	for _, a := range all {
		for _, b := range all {
			if a != b && strings.Contains(strings.ToLower(b.Name), strings.ToLower(a.Name)) {
				t.Fatalf("%q contains %q", b.Name, a.Name)
			}
		}
	}
}
