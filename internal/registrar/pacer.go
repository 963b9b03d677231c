package registrar

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ErrNoTime is what Wait returns, wrapping the context's error, when the call
// could not end before the deadline.
var ErrNoTime = errors.New("too little of the invocation's time is left for another call")

// Pacer paces one action's calls for a whole process at ceiling/n, n being the
// instances assumed to share the ceiling. Instances agree on n, hence on equal
// shares, because what changes n is what the fleet does, and it changes once
// per window at most, since throttles keep coming from calls DBbrain's sliding
// window already holds. The README's "Many instances, one account" has the
// rules, the rationale and the measurements.
type Pacer struct {
	limiter *rate.Limiter
	now     func() time.Time
	turn    chan struct{} // one reservation at a time, so that a new pace applies to the very next call

	mu       sync.Mutex
	ceiling  float64
	n        int       // the instances assumed to share the ceiling; 0 before any throttle
	probing  bool      // pacing at n-1 until next, to see whether a peer left
	next     time.Time // when the next probe starts, or while probing, succeeds
	cut      time.Time // the last reaction to a throttle
	hold     time.Time // no call starts before this
	accepted []time.Time
	typical  time.Duration
	mean     time.Duration // the calls observed, averaged as typical is; 0 before the first
	jitter   time.Duration // their mean deviation from mean
}

const (
	// plannedFleet is the n assumed at the first throttle: the fleet
	// serverless.yml reserves concurrency for, which every instance
	// computes alike (what each got through in its first quarter second
	// differed by 20-40%).
	plannedFleet = 4
	// probeEvery is how long the pace holds before it probes; a failed
	// probe costs about one throttle per instance.
	probeEvery = 4 * time.Second
	window     = time.Second // DBbrain's counting window, and the least time between two reactions to throttles
	minRate    = 0.5         // keeps an instance probing however large its fleet
	// Pacing is the share of the pace the limiter issues at most: calls
	// spaced at exactly 1/rps land 21 in a window when the network delays
	// one and not the next. The calls' measured jitter widens the margin
	// (Observe).
	Pacing          = 0.99
	initialEstimate = 500 * time.Millisecond // a cross-region call with a TLS handshake, before any call is timed
	// What one call may teach the latency and jitter estimates: a hung call
	// or a cold handshake measures neither.
	maxObservation = 2 * time.Second
	maxDeviation   = 100 * time.Millisecond
)

// NewPacer returns a Pacer running at ceiling calls per second on the clock now
// (time.Now in production).
func NewPacer(ceiling float64, now func() time.Time) *Pacer {
	return &Pacer{
		limiter: rate.NewLimiter(rate.Limit(ceiling*Pacing), 1), // burst 1: evenly spaced
		now:     now,
		turn:    make(chan struct{}, 1),
		ceiling: ceiling,
		typical: initialEstimate,
	}
}

// Wait blocks until the next call may start. It refuses at once, with
// ErrNoTime, a slot that would come too late for a call of length need to end
// before deadline, and gives the slot back.
func (p *Pacer) Wait(ctx context.Context, deadline time.Time, need time.Duration) (err error) {
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(-need))
	defer cancel()
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w: %w", ErrNoTime, err)
		}
	}()
	select {
	case p.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.turn }()
	p.mu.Lock()
	hold := p.hold.Sub(p.now())
	p.mu.Unlock()
	if latest, _ := ctx.Deadline(); hold > 0 && p.now().Add(hold).After(latest) {
		return context.DeadlineExceeded
	}
	if (hold > 0 && !sleep(ctx, hold)) || p.limiter.Wait(ctx) != nil {
		// rate.Limiter refuses a slot past the deadline before the
		// context ends, with an error of its own.
		return cmp.Or(ctx.Err(), context.DeadlineExceeded)
	}
	return nil
}

// Observe learns how long a call took and whether DBbrain throttled it; any
// other answer counted in its window.
func (p *Pacer) Observe(took time.Duration, throttled bool) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	took = min(max(took, 0), maxObservation)
	p.typical += (took - p.typical) / 5
	if p.mean == 0 {
		p.mean = max(took, 1)
	}
	p.jitter += (min(max(took-p.mean, p.mean-took), maxDeviation) - p.jitter) / 5
	p.mean += (took - p.mean) / 5
	recent := p.recent(now)
	switch {
	case !throttled:
		p.accepted = append(recent, now)
		if p.n > 1 && !now.Before(p.next) {
			if p.probing { // a whole window at n-1, unthrottled: a peer has left
				p.n--
			}
			p.probing = p.n > 1 && !p.probing
			p.next = now.Add(window)
			if !p.probing {
				p.next = now // probe again at once
			}
		}
	case p.probing: // the window cannot hold the probe
		p.probing, p.cut, p.next = false, now, now.Add(probeEvery)
		p.holdFor(recent)
	case now.Sub(p.cut) < window: // from calls the window already held
	case p.n == 0:
		p.n, p.cut = plannedFleet, now
		if got := float64(len(recent)); got >= plannedFleet && p.ceiling/got > 1.5*plannedFleet {
			// It filled the window far faster than a planned
			// fleet's member would: the ceiling is above the limit.
			p.n = int(math.Round(p.ceiling / got))
		}
		p.holdFor(recent)
		p.next = now.Add(max(p.hold.Sub(now), 0) + probeEvery)
	case now.Sub(p.cut) >= 2*window: // one throttle may be the network's jitter
		p.cut = now
	default: // throttled again in the window after: the window is full at this n
		p.n, p.cut = p.n+1, now
		if len(recent) == 0 {
			// Nothing of its own in the window: others hold it all,
			// and a call sent sooner is refused too.
			p.hold = now.Add(window)
		}
	}
	// Calls whose latency varies by d reach the window up to about d closer
	// together than they were sent, so a window's worth is spread over a
	// second and d.
	p.limiter.SetLimit(rate.Limit(max(p.pace()*Pacing/(1+p.jitter.Seconds()), minRate)))
}

// pace is the ceiling divided by the instances assumed, one fewer while probing; p.mu is held.
func (p *Pacer) pace() float64 {
	n := p.n
	if p.probing {
		n--
	}
	return max(p.ceiling/float64(max(n, 1)), minRate)
}

// holdFor holds the pace until the instance's oldest call has left the window,
// which stays full until then.
func (p *Pacer) holdFor(recent []time.Time) {
	if len(recent) > 0 {
		p.hold = recent[0].Add(window)
	}
}

// recent drops accepted calls that have left the window.
func (p *Pacer) recent(now time.Time) []time.Time {
	for len(p.accepted) > 0 && now.Sub(p.accepted[0]) >= window {
		p.accepted = p.accepted[1:]
	}
	return p.accepted
}

// Rate is the current rate, in calls per second.
func (p *Pacer) Rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pace()
}

// Typical is how long a call typically takes: the calls observed, each capped,
// averaged with weight 1/5.
func (p *Pacer) Typical() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.typical
}
