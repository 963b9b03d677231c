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

// DefaultCheckRetry retries what a later attempt can fix (every
// RequestLimitExceeded sub-code, InternalError, ServiceUnavailable, network
// failures) and looks up first when the failed attempt may have been applied.
// A deadline is not retried: there is no time left to do it in.
func DefaultCheckRetry(err error) Decision {
	code := apierror.CodeOf(err)
	switch {
	case code == apierror.DeadlineExceeded || !apierror.Retryable(code):
		return Stop
	case errors.Is(err, dbbrain.ErrMaybeApplied) || mayExist(err):
		return LookUpFirst
	}
	return Retry
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

// mayExist reports whether a failure can mean the contact was created by an
// earlier attempt or invocation: anything that is not about credentials,
// throttling or the request's form. Network failures and deadlines count
// only when the request left (dbbrain.ErrMaybeApplied, checked apart).
func mayExist(err error) bool {
	if err == nil {
		return false
	}
	code := apierror.CodeOf(err)
	switch apierror.Family(code) {
	case apierror.AuthFailure, apierror.UnauthorizedOperation, apierror.RequestLimitExceeded,
		apierror.MissingParameter, apierror.UnknownParameter, apierror.InvalidAction,
		apierror.NoSuchVersion, apierror.UnsupportedRegion, apierror.UnsupportedOperation,
		apierror.RequestSizeLimitExceeded:
		return false
	}
	switch code {
	case apierror.NetworkError, apierror.DeadlineExceeded, apierror.HTTPStatusCodeError:
		return false
	}
	return true
}
