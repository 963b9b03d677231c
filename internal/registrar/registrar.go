// Package registrar registers contacts at the API's pace without losing or
// duplicating any: one rate limiter per process, bounded concurrency,
// retries with jittered exponential backoff inside the invocation's
// deadline, and an idempotency check that turns "the name already exists"
// into success when the existing contact is the same one.
//
// The retry policy and the backoff are small function types in the manner of
// hashicorp/go-retryablehttp, so tests and callers can swap them.
package registrar

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"golang.org/x/time/rate"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/contact"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/redact"
)

// API is the part of DBbrain the registrar calls.
type API interface {
	AddUserContact(ctx context.Context, cred common.CredentialIface, name, email, product string) (dbbrain.AddResult, error)
	DescribeAllUserContact(ctx context.Context, cred common.CredentialIface, names []string) (dbbrain.DescribeResult, error)
}

// RetryPolicy reports whether a failed attempt is worth another.
type RetryPolicy func(err error) bool

// BackoffFactory returns a fresh backoff schedule for one contact.
type BackoffFactory func() backoff.BackOff

// DefaultRetryPolicy retries what a later attempt can fix: every
// RequestLimitExceeded sub-code, InternalError, ServiceUnavailable (which a
// bare HTTP 5xx is reported as) and network failures. A deadline is not
// retried: there is no time left to do it in.
func DefaultRetryPolicy(err error) bool {
	code := apierror.CodeOf(err)
	return apierror.Retryable(code) && code != apierror.DeadlineExceeded
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

// Pacing is the share of the configured rate the limiter issues. DBbrain
// counts requests in a sliding one-second window by arrival; calls spaced at
// exactly 1/rps can land 21 in one window when the network delays one and
// not the next. One percent of headroom absorbs 10 ms of such jitter per
// window.
const Pacing = 0.99

// NewLimiter returns the process-wide limiter for rps requests per second.
// A burst of one keeps calls evenly spaced instead of front-loading a window.
func NewLimiter(rps float64) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(rps*Pacing), 1)
}

// Registrar registers contacts. Build one per invocation around the
// process-wide Limiter and Estimator.
type Registrar struct {
	API         API                    // The DBbrain calls.
	Credential  common.CredentialIface // Signs every call of the invocation.
	Limiter     *rate.Limiter          // The process-wide rate limiter.
	Estimator   *Estimator             // The process-wide call-latency estimate.
	Concurrency int                    // Batch items in flight at once.
	// Margin is kept free before the invocation's deadline so the function
	// can still answer; no call or wait is started that would end inside it.
	Margin  time.Duration
	Retry   RetryPolicy      // Nil means DefaultRetryPolicy.
	Backoff BackoffFactory   // Nil means DefaultBackoff.
	Logger  *slog.Logger     // Nil discards.
	Now     func() time.Time // Nil means time.Now.
}

// Outcome is what happened to one contact.
type Outcome struct {
	// ID is the contact's id on success.
	ID int64
	// RequestID is DBbrain's RequestId of the answer that decided the
	// outcome (the DescribeAllUserContact answer when an existing contact
	// was found).
	RequestID string
	// Err is an *apierror.Error on failure.
	Err error
	// Attempts counts AddUserContact calls made.
	Attempts int
	// Existing is true when the contact already existed with the same email.
	Existing bool
}

// errNotStarted marks a contact that was never sent because too little time
// was left.
var errNotStarted = errors.New("not started")

// Register registers one contact.
func (r *Registrar) Register(ctx context.Context, c contact.Contact) Outcome {
	return r.register(ctx, c, nil)
}

// RegisterBatch registers contacts concurrently, within the rate limit, and
// returns their outcomes in input order. Once too little time is left for
// one more call, no further contact is started; those are reported with
// apierror.DeadlineExceeded, which a retried invocation completes.
func (r *Registrar) RegisterBatch(ctx context.Context, contacts []contact.Contact) []Outcome {
	out := make([]Outcome, len(contacts))
	var stopped atomic.Bool
	next := make(chan int)
	var wg sync.WaitGroup
	workers := max(1, min(r.Concurrency, len(contacts)))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = r.register(ctx, contacts[i], &stopped)
			}
		}()
	}
	for i := range contacts {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

func (r *Registrar) register(ctx context.Context, c contact.Contact, stopped *atomic.Bool) Outcome {
	start := r.now()
	log := r.logger().With("contact", c)
	out := r.attempt(ctx, c, stopped, log)
	if stopped == nil {
		// A single contact's outcome is the invocation's own log line.
		return out
	}
	level := slog.LevelDebug
	if out.Err != nil {
		level = slog.LevelWarn
	} else if out.Attempts > 1 || out.Existing {
		level = slog.LevelInfo
	}
	log.Log(ctx, level, "contact outcome", "code", codeOrSuccess(out.Err), "id", out.ID, "existing", out.Existing,
		"attempts", out.Attempts, "upstream_request_id", out.RequestID, "duration_ms", float64(r.now().Sub(start).Microseconds())/1000)
	return out
}

func codeOrSuccess(err error) string {
	if err == nil {
		return "Success"
	}
	return apierror.CodeOf(err)
}

func (r *Registrar) attempt(ctx context.Context, c contact.Contact, stopped *atomic.Bool, log *slog.Logger) Outcome {
	deadline := r.deadline(ctx)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	var (
		out     Outcome
		lastErr error
		// suspect is set once an attempt failed in a way that may have
		// created the contact; every later attempt looks first.
		suspect  bool
		anyMaybe bool
		found    *Outcome
	)
	res, err := retry(ctx, r, deadline, "AddUserContact", log, func() (dbbrain.AddResult, error) {
		if stopped != nil && stopped.Load() {
			return dbbrain.AddResult{}, backoff.Permanent(errNotStarted)
		}
		// A batch starts an item only if a typical call fits; a single
		// contact is always tried while any time is left, since its call
		// is bounded by the deadline anyway and may well be quick.
		need := r.Estimator.Typical()
		if stopped == nil && out.Attempts == 0 {
			need = minCall
		}
		if err := r.slot(ctx, deadline, need); err != nil {
			if out.Attempts == 0 {
				if stopped != nil {
					stopped.Store(true)
				}
				return dbbrain.AddResult{}, backoff.Permanent(errNotStarted)
			}
			// The previous attempt's failure says more than "no time".
			return dbbrain.AddResult{}, backoff.Permanent(lastErr)
		}
		if suspect {
			// Look before sending again: should DBbrain ever accept a
			// repeated name, a second AddUserContact would duplicate.
			if o, ok := r.lookupOnce(ctx, c, log); ok {
				found = &o
				return dbbrain.AddResult{}, nil
			}
			if err := r.slot(ctx, deadline, r.Estimator.Typical()); err != nil {
				return dbbrain.AddResult{}, backoff.Permanent(lastErr)
			}
		}
		out.Attempts++
		start := r.now()
		res, err := r.API.AddUserContact(ctx, r.Credential, c.Name, c.ContactInfo, c.Product)
		r.Estimator.Observe(r.now().Sub(start))
		if err != nil {
			lastErr = err
			maybe := errors.Is(err, dbbrain.ErrMaybeApplied)
			anyMaybe = anyMaybe || maybe
			suspect = suspect || maybe || (mayExist(err) && apierror.Retryable(apierror.CodeOf(err)))
		}
		return res, err
	})
	switch {
	case found != nil && err == nil:
		found.Attempts = out.Attempts
		return *found
	case err == nil:
		out.ID, out.RequestID = res.ID, res.RequestID
		return out
	case errors.Is(err, errNotStarted):
		out.Err = apierror.New(apierror.DeadlineExceeded,
			"not attempted: too little of the invocation's time was left to call AddUserContact; retry the invocation to register this contact")
		return out
	}
	if anyMaybe || mayExist(err) {
		if found, ok := r.lookup(ctx, deadline, c, log); ok {
			found.Attempts = out.Attempts
			return found
		}
	}
	out.Err = err
	return out
}

// lookup finds an existing contact with exactly c's name, retrying the
// lookup itself like any call. ok is false when none was found or the
// lookup failed, in which case the original error stands.
func (r *Registrar) lookup(ctx context.Context, deadline time.Time, c contact.Contact, log *slog.Logger) (Outcome, bool) {
	res, err := retry(ctx, r, deadline, "DescribeAllUserContact", log, func() (dbbrain.DescribeResult, error) {
		if err := r.slot(ctx, deadline, r.Estimator.Typical()); err != nil {
			return dbbrain.DescribeResult{}, backoff.Permanent(err)
		}
		return r.describe(ctx, c)
	})
	if err != nil {
		log.Warn("idempotency lookup failed", "code", apierror.CodeOf(err))
		return Outcome{}, false
	}
	return r.match(res, c, log)
}

// lookupOnce is one lookup attempt, made between AddUserContact attempts;
// the caller has already taken its rate slot.
func (r *Registrar) lookupOnce(ctx context.Context, c contact.Contact, log *slog.Logger) (Outcome, bool) {
	res, err := r.describe(ctx, c)
	if err != nil {
		log.Warn("idempotency lookup failed, sending again", "code", apierror.CodeOf(err))
		return Outcome{}, false
	}
	return r.match(res, c, log)
}

func (r *Registrar) describe(ctx context.Context, c contact.Contact) (dbbrain.DescribeResult, error) {
	start := r.now()
	res, err := r.API.DescribeAllUserContact(ctx, r.Credential, []string{c.Name})
	r.Estimator.Observe(r.now().Sub(start))
	return res, err
}

// match picks the contact named exactly c.Name from a lookup: DBbrain
// matches names as substrings.
func (r *Registrar) match(res dbbrain.DescribeResult, c contact.Contact, log *slog.Logger) (Outcome, bool) {
	for _, e := range res.Contacts {
		if e.Name != c.Name {
			continue
		}
		if strings.EqualFold(strings.TrimSpace(e.Mail), c.ContactInfo) {
			log.Info("contact already exists with the same email", "id", e.ID, "upstream_request_id", res.RequestID)
			return Outcome{ID: e.ID, RequestID: res.RequestID, Existing: true}, true
		}
		log.Warn("contact name taken by another email", "id", e.ID, "existing_email", redact.Email(e.Mail))
		return Outcome{Err: &apierror.Error{
			Code: apierror.FailedOperation,
			Message: "a contact named " + strconv.Quote(c.Name) + " already exists with a different email address; " +
				"DBbrain cannot modify or delete contacts through the API, so register this one under another name",
			RequestID: res.RequestID,
		}}, true
	}
	return Outcome{}, false
}

// mayExist reports whether a failure can mean the contact was created by an
// earlier attempt or invocation: anything that is not about credentials,
// throttling or the request's form.
func mayExist(err error) bool {
	code := apierror.CodeOf(err)
	fam, _, _ := strings.Cut(code, ".")
	switch fam {
	case apierror.AuthFailure, apierror.UnauthorizedOperation, apierror.RequestLimitExceeded,
		apierror.MissingParameter, apierror.UnknownParameter, apierror.InvalidAction,
		apierror.NoSuchVersion, apierror.UnsupportedRegion, apierror.UnsupportedOperation,
		apierror.RequestSizeLimitExceeded:
		return false
	}
	switch code {
	case apierror.NetworkError, apierror.DeadlineExceeded, apierror.HTTPStatusCodeError:
		// Only when the request left: ErrMaybeApplied, checked by the caller.
		return false
	}
	return true
}

// minCall is the least time worth starting a call with.
const minCall = 50 * time.Millisecond

// slot waits for the limiter's next slot, unless the slot comes too late to
// leave need (the expected length of the call) before the deadline.
func (r *Registrar) slot(ctx context.Context, deadline time.Time, need time.Duration) error {
	res := r.Limiter.Reserve()
	if !res.OK() {
		return apierror.New(apierror.InternalError, "the rate limiter refused a reservation")
	}
	delay := res.Delay()
	if r.now().Add(delay + need).After(deadline) {
		res.Cancel()
		return apierror.New(apierror.DeadlineExceeded, "too little of the invocation's time is left for another call")
	}
	if delay == 0 {
		return nil
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		res.Cancel()
		return apierror.Wrap(apierror.DeadlineExceeded, ctx.Err(), "the invocation's time ran out while waiting for the rate limiter")
	}
}

// deadline is the context's deadline less the margin.
func (r *Registrar) deadline(ctx context.Context) time.Time {
	return WorkDeadline(ctx, r.now(), r.Margin)
}

// WorkDeadline is when work for an invocation must end: its deadline less
// the margin kept for answering. A context without a deadline gets SCF's
// longest timeout.
func WorkDeadline(ctx context.Context, now time.Time, margin time.Duration) time.Time {
	d, ok := ctx.Deadline()
	if !ok {
		d = now.Add(15 * time.Minute)
	}
	return d.Add(-margin)
}

func (r *Registrar) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

func (r *Registrar) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}
