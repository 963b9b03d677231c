package registrar

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ErrNoTime is what Wait returns when the next slot would come too late for
// the call to end before the deadline, or the context ended while waiting.
// The context's error (context.DeadlineExceeded when the slot was refused
// at once) is wrapped too.
var ErrNoTime = errors.New("too little of the invocation's time is left for another call")

// Pacer paces one action's calls for a whole process and adapts the pace to
// what DBbrain answers, so that several instances sharing one account's limit
// find their share of it without configuration or a shared store.
//
// An instance that is never throttled runs at the ceiling (DBBRAIN_RPS),
// which it never exceeds. The first throttle tells it that it has company:
// it drops to a quarter of the ceiling, waits until one of its own calls has
// left DBbrain's one-second window, and starts its cycle then. Each later
// throttle, at most one per window, cuts the pace to Beta of the rate that
// got through, settle after the throttle. Between throttles the pace follows
// a CUBIC curve: back to the rate of the last cut within two or three
// seconds, a second's rest there, then doubling every second.
//
// Why this shape, the alternatives tried and what each measured are the
// README's "Many instances, one account"; the fleet simulation is
// fleet_test.go.
//
// DBbrain counts calls in a sliding one-second window, so throttles keep
// coming for up to a second after a cut, from calls the window already
// holds; the pacer cuts once per such second.
type Pacer struct {
	limiter *rate.Limiter
	now     func() time.Time
	// turn lets one caller at a time hold a reservation, so that a cut
	// applies to the very next call instead of to calls already booked at
	// the old pace.
	turn chan struct{}

	mu       sync.Mutex
	ceiling  float64
	current  float64
	share    float64   // what got through at the last cut; 0 before any
	cut      time.Time // when the last cut happened
	origin   time.Time // where the curve after the last cut starts
	k        float64   // seconds from origin until the curve is back at share
	hold     time.Time // no call starts before this
	accepted []time.Time
	typical  time.Duration
}

// The cycle's constants, chosen with the bench (see Pacer). RFC 8312 and the
// AWS SDKs use Beta 0.7 and C 0.4 for a signal that may come long after the
// overload began; here a throttle means the window is full right now and the
// cut is sized to what got through, so a shallow cut and a slow climb keep
// a fleet near the limit with few refusals (the RFC's constants got about
// 0.83 with 12% refused).
const (
	// Beta is the share of the rate that got through kept after a throttle.
	Beta = 0.9
	// cubicC scales the curve (calls per second per second cubed).
	cubicC = 0.02
	// plateau is how long past the last cut's rate the curve stays gentle
	// before it doubles every second: when a peer finishes, the others
	// take its share within a second or two.
	plateau = 1.0
	// window is DBbrain's counting window, and the pause between cuts.
	window = time.Second
	// settle is how long the pace holds after a throttle before the cut
	// (after the first, which has its own pause): the window stays full a
	// moment longer, so that the round meets the whole fleet and every
	// instance cuts with the others. Less than the 200 ms between two
	// calls at a fair share of 5/s: an instance sends at most one more call
	// into the full window. See Pacer for what it does and does not do.
	settle = 120 * time.Millisecond
	// minRate keeps an instance probing however hard it was throttled.
	minRate = 0.5
	// firstShare is the share of the ceiling an instance drops to when it
	// first learns it has company: the fleet the deployment plans for
	// (serverless.yml reserves concurrency for four instances), and a
	// value every instance of a fleet computes alike, unlike what each got
	// through in the first quarter second. Larger fleets cut again one
	// window later, to what they got through.
	firstShare = 0.25
	// Pacing is the share of the rate the limiter issues: calls spaced at
	// exactly 1/rps can land 21 in one window when the network delays one
	// and not the next, and one percent absorbs about 10 ms of such jitter.
	Pacing = 0.99
)

// initialEstimate is assumed before any call has been timed: a cross-region
// API 3.0 call, with room for a TLS handshake.
const initialEstimate = 500 * time.Millisecond

// maxObservation caps what one call may teach the latency estimate: a call
// that hung until the deadline measures the deadline, not DBbrain, and a few
// of them must not make a warm instance refuse every later call.
const maxObservation = 2 * time.Second

// NewPacer returns a Pacer running at ceiling calls per second. now is the
// clock (time.Now in production).
func NewPacer(ceiling float64, now func() time.Time) *Pacer {
	return &Pacer{
		limiter: rate.NewLimiter(rate.Limit(ceiling*Pacing), 1), // burst 1: evenly spaced
		now:     now,
		turn:    make(chan struct{}, 1),
		ceiling: ceiling,
		current: ceiling,
		typical: initialEstimate,
	}
}

// Wait blocks until the next call may start. It refuses, at once, a slot that
// would come too late for a call of length need to end before deadline, and
// gives the slot back; the error is ErrNoTime.
func (p *Pacer) Wait(ctx context.Context, deadline time.Time, need time.Duration) error {
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(-need))
	defer cancel()
	select {
	case p.turn <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrNoTime, ctx.Err())
	}
	defer func() { <-p.turn }()
	p.mu.Lock()
	hold := p.hold.Sub(p.now())
	p.mu.Unlock()
	if hold > 0 {
		if latest, _ := ctx.Deadline(); p.now().Add(hold).After(latest) {
			return fmt.Errorf("%w: %w", ErrNoTime, context.DeadlineExceeded)
		}
		t := time.NewTimer(hold)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %w", ErrNoTime, ctx.Err())
		}
	}
	if err := p.limiter.Wait(ctx); err != nil {
		// rate.Limiter refuses a slot past the deadline before the
		// context ends, with an error of its own.
		cause := ctx.Err()
		if cause == nil {
			cause = context.DeadlineExceeded
		}
		return fmt.Errorf("%w: %w", ErrNoTime, cause)
	}
	return nil
}

// Observe learns from one call's answer: how long it took, and whether
// DBbrain throttled it. Any other answer, a success or a refusal
// (FailedOperation, InvalidParameterValue, a server error), was counted in
// the window like a success and lets the pace grow.
func (p *Pacer) Observe(took time.Duration, throttled bool) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.typical += (min(max(took, 0), maxObservation) - p.typical) / 5
	recent := p.recent(now)
	switch {
	case throttled && now.Sub(p.cut) >= window:
		got := float64(len(recent)) / window.Seconds()
		first := p.share == 0
		if first {
			p.share = firstShare * p.ceiling
		} else {
			p.share = max(min(p.current, got), minRate)
		}
		p.k = math.Cbrt(p.share * (1 - Beta) / cubicC)
		p.cut, p.origin = now, now.Add(settle)
		if first {
			p.origin = now
			p.set(p.share * Beta)
		}
		if len(recent) > 0 {
			// The window stays full until one of this instance's own
			// calls leaves it: a call sent before then is refused.
			p.hold = recent[0].Add(window)
			if first {
				// Instances that started together hold until the same
				// moment; starting their cycles there keeps them in
				// step, so that every later round throttles them all.
				p.cut, p.origin = p.hold, p.hold
			}
		}
	case !throttled:
		p.accepted = append(recent, now)
	}
	if p.share > 0 && !now.Before(p.origin) { // before, the pace holds: the cut has not settled
		t := now.Sub(p.origin).Seconds() - p.k
		r := p.share + cubicC*t*t*t
		if t > plateau {
			// A second past the last cut's rate without a throttle: the
			// window has room (a peer finished), so double.
			r = max(r, (p.share+cubicC*plateau*plateau*plateau)*math.Exp2(t-plateau))
		}
		p.set(r)
	}
}

// recent drops accepted calls that have left the window.
func (p *Pacer) recent(now time.Time) []time.Time {
	i := 0
	for i < len(p.accepted) && now.Sub(p.accepted[i]) >= window {
		i++
	}
	p.accepted = p.accepted[i:]
	return p.accepted
}

func (p *Pacer) set(r float64) {
	p.current = min(max(r, minRate), p.ceiling)
	p.limiter.SetLimit(rate.Limit(p.current * Pacing))
}

// Rate is the current rate, in calls per second.
func (p *Pacer) Rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.current
}

// Typical is how long a call typically takes: an exponentially weighted
// average (weight 1/5) of the calls observed, each capped.
func (p *Pacer) Typical() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.typical
}
