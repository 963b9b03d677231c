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

// Observe folds one call's duration in (an exponentially weighted moving
// average, weight 1/5, so one slow call moves it but does not own it).
func (e *Estimator) Observe(d time.Duration) {
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
