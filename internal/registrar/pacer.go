package registrar

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Pacer paces one action's calls for a whole process and adapts the pace to
// what DBbrain answers, so that several instances sharing one account's limit
// find their share of it without configuration or a shared store.
//
// It follows CUBIC, as the AWS SDKs' adaptive retry mode does: a throttled
// call cuts the rate multiplicatively (to Beta of the rate the instance was
// actually getting through, so that a cut is sized to the instance's share
// rather than to its ambition); successes then raise it along a cubic curve
// that climbs quickly back towards the rate of the last cut, lingers there,
// and only then probes beyond it, faster the longer no throttle comes. The configured ceiling (DBBRAIN_RPS) is
// never exceeded, and an instance that is never throttled runs at it.
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
	wMax     float64   // the rate at the last cut; 0 before any cut
	cut      time.Time // when the last cut happened
	k        float64   // seconds from a cut until the curve is back at wMax
	accepted []time.Time
	typical  time.Duration
}

// The curve's constants. RFC 8312 and the AWS SDKs use Beta 0.7 and C 0.4,
// for a signal (a lost packet, a throttled call) that may come long after
// the overload began. Here a throttle means the account's window is full
// right now, and the cut is taken from the rate the instance was actually
// getting through, so a shallow cut and a slow probe keep a fleet close to
// the limit with few refusals; a probe that meets no throttle for a while
// speeds up, so that when one instance finishes the others take its share
// at once. Chosen with the fleet simulation (fleet_test.go) and the bench:
// four processes reach 0.95 of the limit with 8% of calls refused in most
// runs, about 0.89 when their calls fall out of step; the RFC's constants
// got about 0.83 with 12% refused.
const (
	// Beta is the share of the accepted rate kept after a throttle.
	Beta = 0.9
	// cubicC scales the curve (calls per second per second cubed).
	cubicC = 0.02
	// plateau is how long past the last peak the curve stays gentle.
	plateau = 1.0
	// window is DBbrain's counting window, and the pause between cuts.
	window = time.Second
	// minRate keeps an instance probing however hard it was throttled.
	minRate = 0.5
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
// would come too late for a call of length need to end before deadline: the
// context handed to rate.Limiter.Wait ends need before the deadline.
func (p *Pacer) Wait(ctx context.Context, deadline time.Time, need time.Duration) error {
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(-need))
	defer cancel()
	select {
	case p.turn <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("the invocation's time ran out while waiting for its turn to call: %w", ctx.Err())
	}
	defer func() { <-p.turn }()
	if err := p.limiter.Wait(ctx); err != nil {
		return fmt.Errorf("too little of the invocation's time is left for another call: %w", err)
	}
	return nil
}

// Observe learns from one call's answer: its duration, and whether DBbrain
// throttled it.
func (p *Pacer) Observe(took time.Duration, throttled bool) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.typical += (min(max(took, 0), maxObservation) - p.typical) / 5
	switch {
	case throttled && now.Sub(p.cut) >= window:
		got := float64(len(p.recent(now))) / window.Seconds()
		p.wMax = max(min(p.current, got), minRate)
		p.k = math.Cbrt(p.wMax * (1 - Beta) / cubicC)
		p.cut = now
		p.set(p.wMax * Beta)
	case !throttled:
		p.accepted = append(p.recent(now), now)
		if p.wMax > 0 {
			t := now.Sub(p.cut).Seconds() - p.k
			r := p.wMax + cubicC*t*t*t
			if t > plateau {
				// A second past the last peak without a throttle: the limit
				// has moved (a peer finished), so double per second.
				r = max(r, (p.wMax+cubicC*plateau*plateau*plateau)*math.Exp2(t-plateau))
			}
			p.set(r)
		}
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
