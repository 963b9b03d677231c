package registrar

import (
	"sync"
	"time"
)

// Estimator tracks how long a DBbrain call typically takes, so that a batch
// stops starting calls it cannot finish. One lives per process: a warm
// instance's later invocations start from what earlier ones saw.
type Estimator struct {
	mu      sync.Mutex
	typical time.Duration
}

// initialEstimate is assumed before any call has been timed: a cross-region
// API 3.0 call, with room for a TLS handshake.
const initialEstimate = 500 * time.Millisecond

// NewEstimator returns an Estimator with the initial estimate.
func NewEstimator() *Estimator { return &Estimator{typical: initialEstimate} }

// maxObservation caps what one call may teach the estimate. A call that hung
// until the deadline measures the deadline, not DBbrain; uncapped, a few of
// them would make a warm instance refuse every later call as "too slow".
const maxObservation = 2 * time.Second

// Observe folds one API call's duration in (an exponentially weighted moving
// average, weight 1/5, so one slow call moves it but does not own it). Only
// the call itself is timed, never the wait for the rate limiter.
func (e *Estimator) Observe(d time.Duration) {
	d = min(max(d, 0), maxObservation)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.typical += (d - e.typical) / 5
}

// Typical returns the current estimate.
func (e *Estimator) Typical() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.typical
}
