package registrar

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

var throttle = apierror.New(apierror.RequestLimitExceeded, "over the limit")

// succeed records calls accepted at the pacer's pace for d.
func succeed(t *testing.T, p *Pacer, d time.Duration) {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if err := p.Wait(context.Background(), end.Add(time.Hour), 0); err != nil {
			t.Fatal(err)
		}
		p.Observe(time.Millisecond, nil)
	}
}

func TestPacerCutsOnThrottleAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPacer(20, time.Now)
		if p.Rate() != 20 {
			t.Fatalf("starts at %v, want the ceiling", p.Rate())
		}
		succeed(t, p, 2*time.Second) // 20 accepted in the last second
		p.Observe(time.Millisecond, throttle)
		cut := p.Rate()
		if want := Beta * 20; cut < want-0.5 || cut > want+0.5 {
			t.Fatalf("after a throttle at 20/s: %v, want about %v", cut, want)
		}
		// Throttles within the same window come from calls the window
		// already holds: one cut per window.
		p.Observe(time.Millisecond, throttle)
		if p.Rate() != cut {
			t.Fatalf("cut twice in one window: %v", p.Rate())
		}
		// The cut is sized to what got through, not to the ambition.
		time.Sleep(2 * time.Second) // nothing accepted for a while
		p.Observe(time.Millisecond, throttle)
		if p.Rate() != minRate {
			t.Fatalf("after a throttle with nothing accepted: %v, want the floor %v", p.Rate(), minRate)
		}
		// Successes bring it back, and never past the ceiling.
		succeed(t, p, time.Minute)
		if p.Rate() != 20 {
			t.Fatalf("after a minute of successes: %v, want the ceiling", p.Rate())
		}
		// Other failures are not throttles.
		p.Observe(time.Millisecond, apierror.New(apierror.InternalError, "boom"))
		if p.Rate() != 20 {
			t.Fatalf("an InternalError cut the rate to %v", p.Rate())
		}
	})
}

func TestPacerCeiling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPacer(5, time.Now)
		succeed(t, p, 10*time.Second)
		if p.Rate() != 5 {
			t.Fatalf("rate %v, want the ceiling 5", p.Rate())
		}
		n := 0
		end := time.Now().Add(10 * time.Second)
		for time.Now().Before(end) {
			if err := p.Wait(context.Background(), end.Add(time.Hour), 0); err != nil {
				t.Fatal(err)
			}
			n++
		}
		if want := 49; n < want || n > want+1 { // 10 s at 5 × Pacing per second
			t.Errorf("%d calls in 10 s, want %d", n, want)
		}
	})
}

// Wait refuses at once a slot that would leave less than need before the
// deadline, and gives it back.
func TestPacerWaitKeepsTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPacer(1, time.Now)
		deadline := time.Now().Add(1500 * time.Millisecond)
		if err := p.Wait(context.Background(), deadline, 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err := p.Wait(context.Background(), deadline, 600*time.Millisecond)
		if apierror.CodeOf(err) != apierror.DeadlineExceeded || time.Since(start) != 0 {
			t.Fatalf("got %v after %s, want DeadlineExceeded at once", err, time.Since(start))
		}
		if err := p.Wait(context.Background(), deadline, 100*time.Millisecond); err != nil {
			t.Fatalf("the refused slot was not given back: %v", err)
		}
	})
}

func TestLatencyEstimateIsCapped(t *testing.T) {
	p := NewPacer(20, time.Now)
	for range 50 {
		p.Observe(time.Hour, apierror.New(apierror.DeadlineExceeded, "hung"))
	}
	if p.Typical() > maxObservation {
		t.Fatalf("estimate %s past the cap", p.Typical())
	}
	for range 50 {
		p.Observe(10*time.Millisecond, nil)
	}
	if p.Typical() > 20*time.Millisecond {
		t.Fatalf("estimate %s did not come back", p.Typical())
	}
}
