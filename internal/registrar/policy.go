package registrar

import (
	"errors"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
)

// Decision is what to do after a failed AddUserContact attempt.
type Decision int

// The decisions a CheckRetry makes.
const (
	// Stop: the failure is final (a rule, a credential, a conflict).
	Stop Decision = iota
	// Retry: send again after a backoff.
	Retry
	// LookUpFirst: the attempt may have created the contact; look it up
	// before sending again.
	LookUpFirst
)

// CheckRetry judges a failed attempt.
type CheckRetry func(err error) Decision

// BackoffFactory returns a fresh backoff schedule for one contact.
type BackoffFactory func() backoff.BackOff

// DefaultCheckRetry decides by the error's kind: a throttle or a transient
// fault is retried, after a lookup when the failed attempt may have been
// applied; anything else (a refusal, a conflict, the function's setup, no
// time left) stops.
func DefaultCheckRetry(err error) Decision {
	switch apierror.KindOf(err) {
	case apierror.Throttled, apierror.Transient:
		if errors.Is(err, dbbrain.ErrMaybeApplied) {
			return LookUpFirst
		}
		return Retry
	}
	return Stop
}

// DefaultBackoff is jittered exponential backoff: 200 ms doubling to 5 s,
// each wait randomised by ±50% so that concurrent instances spread out.
func DefaultBackoff() backoff.BackOff {
	return &backoff.ExponentialBackOff{
		InitialInterval:     200 * time.Millisecond,
		RandomizationFactor: 0.5,
		Multiplier:          2,
		MaxInterval:         5 * time.Second,
	}
}
