package registrar

import (
	"context"
	"errors"
	"math"
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

// share is the pace of an instance that assumes n instances share 20/s.
func share(n int) float64 { return 20 / float64(n) }

// The pace is the ceiling divided by the instances the pacer assumes: the
// planned fleet at the first throttle, one more for a window that stays
// full, one fewer for a probe the window holds.
func TestPacerDividesTheCeiling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPacer(20, time.Now)
		answer(t, p, 2*time.Second)
		if p.Rate() != 20 {
			t.Fatalf("alone: %v, want the ceiling", p.Rate())
		}
		// The first throttle: company, of the size the deployment plans.
		p.Observe(time.Millisecond, true)
		if p.Rate() != share(plannedFleet) {
			t.Fatalf("after the first throttle: %v, want %v", p.Rate(), share(plannedFleet))
		}
		// Throttles within the same window come from calls it already
		// holds; one throttle after a quiet window may be the network's
		// jitter.
		p.Observe(time.Millisecond, true)
		answer(t, p, 2*window)
		p.Observe(time.Millisecond, true)
		if p.Rate() != share(plannedFleet) {
			t.Fatalf("a single throttle moved the pace to %v", p.Rate())
		}
		// Throttled again in the window after: the window is full at this n.
		answer(t, p, window)
		p.Observe(time.Millisecond, true)
		if p.Rate() != share(plannedFleet+1) {
			t.Fatalf("throttled in two windows running: %v, want %v", p.Rate(), share(plannedFleet+1))
		}
	})
}

// Every probeEvery without a throttle the pacer spends a window at n-1; a
// window it holds becomes the pace, and the next probe follows at once. A
// probe the window cannot hold ends at its first throttle, holds until the
// instance's own oldest call has left the window, and the next comes
// probeEvery later.
func TestPacerProbesForALeavingPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPacer(20, time.Now)
		answer(t, p, window)
		p.Observe(time.Millisecond, true)
		// answer may overrun by one call: 200 ms at this pace.
		answer(t, p, probeEvery-300*time.Millisecond)
		if p.Rate() != share(plannedFleet) {
			t.Fatalf("probed too soon: %v", p.Rate())
		}
		answer(t, p, 400*time.Millisecond)
		if p.Rate() != share(plannedFleet-1) {
			t.Fatalf("probing: %v, want %v", p.Rate(), share(plannedFleet-1))
		}
		answer(t, p, window)
		if p.Rate() != share(plannedFleet-2) {
			t.Fatalf("probing again after a probe the window held: %v, want %v", p.Rate(), share(plannedFleet-2))
		}
		answer(t, p, 100*time.Millisecond)
		oldest := p.recent(time.Now())[0]
		p.Observe(time.Millisecond, true)
		if p.Rate() != share(plannedFleet-1) {
			t.Fatalf("after a failed probe: %v, want %v", p.Rate(), share(plannedFleet-1))
		}
		if err := p.Wait(context.Background(), time.Now().Add(time.Hour), 0); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(oldest); got < window {
			t.Fatalf("sent %s after its oldest call in the window, want the hold of %s", got, window)
		}
		answer(t, p, probeEvery-window-300*time.Millisecond)
		if p.Rate() != share(plannedFleet-1) {
			t.Fatalf("probed %v sooner than %s after a failed probe", p.Rate(), probeEvery)
		}
		// Alone again, probes bring the pace back to the ceiling, never past it.
		answer(t, p, 30*time.Second)
		if p.Rate() != 20 {
			t.Fatalf("after 30 s without a throttle: %v, want the ceiling", p.Rate())
		}
	})
}

// A first window filled far faster than a planned fleet's member could
// fill it means a ceiling above the account's limit: the pace drops to
// what got through at once, rather than one n a window.
func TestPacerFindsALimitBelowItsCeiling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPacer(50, time.Now)
		answer(t, p, 90*time.Millisecond) // the account's limit: about 5 a second
		got := len(p.recent(time.Now()))
		p.Observe(time.Millisecond, true)
		if want := 50 / math.Round(50/float64(got)); p.Rate() != want || p.Rate() >= 50/plannedFleet {
			t.Fatalf("after the first throttle with %d through: %v, want %v", got, p.Rate(), want)
		}
	})
}

// An instance with nothing of its own in a window that stays full is
// starved by instances that hold it all: it waits a whole window before
// its next call, which would be refused too.
func TestPacerWaitsOutAWindowOthersHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPacer(20, time.Now)
		p.Observe(time.Millisecond, true) // its very first call
		time.Sleep(window + time.Millisecond)
		p.Observe(time.Millisecond, true)
		start := time.Now()
		if err := p.Wait(context.Background(), start.Add(time.Hour), 0); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != window {
			t.Fatalf("the next call after %s, want %s", got, window)
		}
	})
}

// However many throttles, the pace keeps a floor, so that an instance of a
// large fleet still probes.
func TestPacerFloor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPacer(20, time.Now)
		for range 100 {
			p.Observe(time.Millisecond, true)
			time.Sleep(window)
		}
		if p.Rate() != minRate {
			t.Fatalf("after 100 windows of throttles: %v, want the floor %v", p.Rate(), minRate)
		}
	})
}

// An answer that is not a throttle (FailedOperation for a name that exists,
// InvalidParameterValue, a server error) was counted in DBbrain's window
// like a success, and lets a probe succeed. Counting successes alone, a
// batch of existing names collapsed an older pace to 0.5-0.9 calls/s.
func TestPacerNonThrottleAnswersKeepThePace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPacer(20, time.Now)
		answer(t, p, time.Second)
		p.Observe(time.Millisecond, true)
		answer(t, p, probeEvery+window+100*time.Millisecond) // every one of them a refusal
		if p.Rate() <= share(plannedFleet) {
			t.Fatalf("refusals did not let the pace grow: %v", p.Rate())
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
		p = NewPacer(20, time.Now)
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

// The limiter's margin widens with the calls' measured jitter, so that
// calls the network bunches stay within the window; steady calls keep the
// one percent.
func TestPacerMarginFollowsJitter(t *testing.T) {
	for _, tc := range []struct {
		name     string
		took     func(i int) time.Duration
		min, max float64
	}{
		{"steady", func(int) time.Duration { return 40 * time.Millisecond }, 19.79, 19.81},
		// ±30 ms around 40 ms: a window's worth spread over 1.03 s.
		{"jittered", func(i int) time.Duration { return time.Duration(10+60*(i%2)) * time.Millisecond }, 19.0, 19.4},
	} {
		p := NewPacer(20, time.Now)
		for i := range 100 {
			p.Observe(tc.took(i), false)
		}
		if got := float64(p.limiter.Limit()); got < tc.min || got > tc.max {
			t.Errorf("%s: the limiter issues %.2f/s, want %.2f-%.2f", tc.name, got, tc.min, tc.max)
		}
	}
}

// One slow call (a cold connection's handshake, a hung call) teaches the
// jitter estimate at most maxDeviation: the pace dips by a few percent for a
// few seconds, not to a third (it did, before the cap).
func TestPacerMarginAfterOneSlowCall(t *testing.T) {
	p := NewPacer(20, time.Now)
	p.Observe(2*time.Second, false)
	low := math.Inf(1)
	for range 40 {
		p.Observe(50*time.Millisecond, false)
		low = min(low, float64(p.limiter.Limit()))
	}
	if low < 0.8*20 || float64(p.limiter.Limit()) < 0.98*20 {
		t.Errorf("after a 2 s call: the limiter fell to %.2f/s and is at %.2f/s after 40 calls", low, float64(p.limiter.Limit()))
	}
}
