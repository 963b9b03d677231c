package registrar

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// answer records calls answered without a throttle (a success, or a refusal
// such as FailedOperation) at the pacer's pace for d.
func answer(t *testing.T, p *Pacer, d time.Duration) {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if err := p.Wait(context.Background(), end.Add(time.Hour), 0); err != nil {
			t.Fatal(err)
		}
		p.Observe(time.Millisecond, false)
	}
}

func near(got, want float64) bool { return got > want-0.05 && got < want+0.05 }

// throttle answers a call with a throttle, and one more, without, once the
// cut has settled: the pace holds for settle after a throttle, so that the
// round of throttles meets every instance of a fleet.
func throttle(t *testing.T, p *Pacer) {
	t.Helper()
	before := p.Rate()
	p.Observe(time.Millisecond, true)
	if p.Rate() != before {
		t.Fatalf("cut to %v at once, want the pace kept for %s", p.Rate(), settle)
	}
	time.Sleep(settle)
	p.Observe(time.Millisecond, false)
}

func TestPacerCutsOnThrottleAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPacer(20, time.Now)
		if p.Rate() != 20 {
			t.Fatalf("starts at %v, want the ceiling", p.Rate())
		}
		answer(t, p, 2*time.Second)
		// The first throttle: company, of unknown size. Every instance of
		// a fleet drops to the same quarter of the ceiling.
		p.Observe(time.Millisecond, true)
		if want := Beta * 20 * firstShare; !near(p.Rate(), want) {
			t.Fatalf("after the first throttle: %v, want %v", p.Rate(), want)
		}
		// Throttles within the same window come from calls the window
		// already holds: one cut per window.
		p.Observe(time.Millisecond, true)
		if want := Beta * 20 * firstShare; !near(p.Rate(), want) {
			t.Fatalf("cut twice in one window: %v", p.Rate())
		}
		// Later cuts are sized to what got through, not to the ambition.
		answer(t, p, 3*time.Second)
		got := float64(len(p.recent(time.Now())))
		throttle(t, p)
		if want := Beta * got; !near(p.Rate(), want) {
			t.Fatalf("after a throttle with %v calls through in the last second: %v, want %v", got, p.Rate(), want)
		}
		// Nothing through at all: the floor, never below it.
		time.Sleep(2 * time.Second)
		throttle(t, p)
		if p.Rate() != minRate {
			t.Fatalf("after a throttle with nothing through: %v, want the floor %v", p.Rate(), minRate)
		}
		time.Sleep(2 * time.Second)
		throttle(t, p)
		if p.Rate() != minRate {
			t.Fatalf("below the floor: %v", p.Rate())
		}
		// Answers bring it back, and never past the ceiling.
		answer(t, p, 30*time.Second)
		if p.Rate() != 20 {
			t.Fatalf("after 30 s of answers: %v, want the ceiling", p.Rate())
		}
	})
}

// An answer that is not a throttle (FailedOperation for a name that exists,
// InvalidParameterValue, a server error) was counted in DBbrain's window
// like a success: it lets the pace grow, and a later cut is sized with it.
// Counting successes alone, a batch of existing names collapsed the pace to
// 0.5-0.9 calls/s.
func TestPacerNonThrottleAnswersKeepThePace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPacer(20, time.Now)
		answer(t, p, time.Second)
		p.Observe(time.Millisecond, true) // one of four instances: 4.5/s
		start := p.Rate()
		answer(t, p, 4*time.Second) // every one of them a refusal
		if p.Rate() <= start {
			t.Fatalf("refusals did not let the pace grow: %v after 4 s, from %v", p.Rate(), start)
		}
		got := float64(len(p.recent(time.Now())))
		throttle(t, p)
		if want := Beta * got; !near(p.Rate(), want) || p.Rate() < 4 {
			t.Fatalf("a throttle after refusals cut to %v, want %v (what got through)", p.Rate(), want)
		}
	})
}

// After a throttle the window stays full until one of the instance's own
// calls leaves it: Wait holds the next call until then, and the first cycle
// starts there, so that instances that started together stay in step.
func TestPacerHoldsUntilItsOwnCallLeavesTheWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPacer(20, time.Now)
		start := time.Now()
		for range 5 {
			if err := p.Wait(context.Background(), start.Add(time.Hour), 0); err != nil {
				t.Fatal(err)
			}
			p.Observe(0, false)
		}
		time.Sleep(50 * time.Millisecond)
		p.Observe(0, true)
		if err := p.Wait(context.Background(), start.Add(time.Hour), 0); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != window {
			t.Fatalf("the next call started %s after the first, want %s (when the first left the window)", got, window)
		}
		// A hold that outlasts the deadline is refused at once.
		time.Sleep(2 * window)
		p.Observe(0, false)
		time.Sleep(window / 10)
		p.Observe(0, true)
		now := time.Now()
		if err := p.Wait(context.Background(), now.Add(window/2), 0); !errors.Is(err, ErrNoTime) || time.Since(now) != 0 {
			t.Fatalf("during the hold: %v after %s, want ErrNoTime at once", err, time.Since(now))
		}
	})
}

func TestPacerCeiling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPacer(5, time.Now)
		answer(t, p, 10*time.Second)
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
		if !errors.Is(err, ErrNoTime) || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 0 {
			t.Fatalf("got %v after %s, want ErrNoTime (DeadlineExceeded) at once", err, time.Since(start))
		}
		if err := p.Wait(context.Background(), deadline, 100*time.Millisecond); err != nil {
			t.Fatalf("the refused slot was not given back: %v", err)
		}
		// The caller's own end is reported as such.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := p.Wait(ctx, time.Now().Add(time.Hour), 0); !errors.Is(err, ErrNoTime) || !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled: %v, want ErrNoTime wrapping context.Canceled", err)
		}
	})
}

func TestLatencyEstimateIsCapped(t *testing.T) {
	p := NewPacer(20, time.Now)
	for range 50 {
		p.Observe(time.Hour, false) // hung until a deadline
	}
	if p.Typical() > maxObservation {
		t.Fatalf("estimate %s past the cap", p.Typical())
	}
	for range 50 {
		p.Observe(10*time.Millisecond, false)
	}
	if p.Typical() > 20*time.Millisecond {
		t.Fatalf("estimate %s did not come back", p.Typical())
	}
}
