package registrar

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

// retry runs call until it succeeds, fails permanently, or another attempt
// could not finish before deadline. Each attempt is a new call, so the SDK
// signs it afresh with a current timestamp.
func retry[T any](ctx context.Context, r *Registrar, deadline time.Time, action string, log *slog.Logger, call func() (T, error)) (T, error) {
	policy := r.Retry
	if policy == nil {
		policy = DefaultRetryPolicy
	}
	newBackoff := r.Backoff
	if newBackoff == nil {
		newBackoff = DefaultBackoff
	}
	attempt := 0
	var last error
	op := func() (T, error) {
		attempt++
		v, err := call()
		if err == nil {
			if attempt > 1 {
				log.Info("attempt succeeded", "action", action, "attempt", attempt)
			}
			return v, nil
		}
		var perm *backoff.PermanentError
		if errors.As(err, &perm) {
			return v, err
		}
		last = err
		if !policy(err) {
			return v, backoff.Permanent(err)
		}
		return v, err
	}
	v, err := backoff.Retry(ctx, op,
		backoff.WithBackOff(&deadlineBackOff{next: newBackoff(), deadline: deadline, r: r}),
		backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(func(err error, wait time.Duration) {
			log.Warn("attempt failed, retrying", "action", action, "attempt", attempt,
				"code", apierror.CodeOf(err), "upstream_request_id", apierror.As(err).RequestID, "retry_in_ms", wait.Milliseconds())
		}))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) && last != nil {
			// backoff reports the context's error when it ends during a
			// wait; the attempt's own failure says more.
			err = last
		}
		log.Debug("attempts ended", "action", action, "attempts", attempt, "code", apierror.CodeOf(err))
	}
	return v, err
}

// deadlineBackOff stops the schedule when waiting and one more typical call
// would run past the deadline.
type deadlineBackOff struct {
	next     backoff.BackOff
	deadline time.Time
	r        *Registrar
}

// Reset restarts the schedule.
func (b *deadlineBackOff) Reset() { b.next.Reset() }

// NextBackOff is the next wait, or backoff.Stop when it would not fit.
func (b *deadlineBackOff) NextBackOff() time.Duration {
	d := b.next.NextBackOff()
	if d == backoff.Stop || b.r.now().Add(d+b.r.Estimator.Typical()).After(b.deadline) {
		return backoff.Stop
	}
	return d
}
