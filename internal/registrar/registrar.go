// Package registrar registers contacts at the API's pace without losing or
// duplicating any: an adaptive pace per process (Pacer), bounded concurrency,
// retries with jittered exponential backoff inside the invocation's deadline,
// and idempotency: a batch first looks its names up and sends only what is
// missing, and a failure that may hide an earlier success is looked up before
// anything is sent again.
//
// The retry decision and the backoff are small function types, in the manner
// of hashicorp/go-retryablehttp, so tests and callers can swap them.
package registrar

import (
	"context"
	"errors"
	"iter"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/contact"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
)

// API is the part of DBbrain the registrar calls.
type API interface {
	AddUserContact(ctx context.Context, cred common.CredentialIface, name, email, product string) (dbbrain.AddResult, error)
	DescribeAllUserContact(ctx context.Context, cred common.CredentialIface, names []string) (dbbrain.DescribeResult, error)
}

// Registrar registers contacts. Build one per invocation around the
// process-wide Pacers.
type Registrar struct {
	API        API                    // The DBbrain calls.
	Credential common.CredentialIface // Signs every call of the invocation.
	Adds       *Pacer                 // Paces AddUserContact for the process.
	Lookups    *Pacer                 // Paces DescribeAllUserContact for the process.
	// Concurrency bounds the batch items in flight at once.
	Concurrency int
	// LookFirst looks even a single contact up before sending it, for
	// triggers that deliver the same event again: a redelivery then costs a
	// lookup and never relies on DBbrain refusing a repeated name.
	LookFirst bool
	// Margin is kept free before the invocation's deadline so the function
	// can still answer; no call or wait is started that would end inside it.
	Margin     time.Duration
	CheckRetry CheckRetry       // Nil means DefaultCheckRetry.
	Backoff    BackoffFactory   // Nil means DefaultBackoff.
	Logger     *slog.Logger     // Nil discards.
	Now        func() time.Time // Nil means time.Now.
}

// Outcome is what happened to one contact.
type Outcome struct {
	// ID is the contact's id on success.
	ID int64
	// RequestID is DBbrain's RequestId of the answer that decided the
	// outcome (the DescribeAllUserContact answer when the contact existed).
	RequestID string
	// Err is an *apierror.Error on failure.
	Err error
	// Attempts counts AddUserContact calls made.
	Attempts int
	// Existing is true when the contact already existed with the same email.
	Existing bool
	// Conflict is true when a lookup found the name with another email: the
	// contact can never be registered as it was sent.
	Conflict bool
}

// LookupChunk is how many names one DescribeAllUserContact asks for.
const LookupChunk = 50

// minCall is the least time worth starting a call with.
const minCall = 50 * time.Millisecond

// Register registers one contact: it sends first, and looks up only after a
// failure that may hide an earlier success, so that an HTTP call costs one
// request.
func (r *Registrar) Register(ctx context.Context, c contact.Contact) Outcome {
	ctx, cancel := context.WithDeadline(ctx, r.deadline(ctx))
	defer cancel()
	return r.register(ctx, c, false)
}

// RegisterBatch registers contacts concurrently and returns their outcomes
// in input order. It looks the names up first, a chunk per call, and sends
// AddUserContact only for the contacts not already registered, so that a
// redelivered batch costs a lookup per chunk; the lookups run ahead of the
// registration, several at once. A name given twice is sent once. Contacts
// left when too little time remains for another call, lookups included, are
// reported with apierror.DeadlineExceeded, "not attempted": a retried
// invocation completes them.
func (r *Registrar) RegisterBatch(ctx context.Context, contacts []contact.Contact) []Outcome {
	out := make([]Outcome, len(contacts))
	defer func() {
		for i, o := range out {
			r.logOutcome(ctx, contacts[i], o)
		}
	}()
	if len(contacts) == 1 && !r.LookFirst {
		out[0] = r.Register(ctx, contacts[0])
		return out
	}
	ctx, cancel := context.WithDeadline(ctx, r.deadline(ctx))
	defer cancel()
	first := map[string]int{} // each name's first index
	var unique []int
	for i, c := range contacts {
		if _, seen := first[c.Name]; !seen {
			first[c.Name] = i
			unique = append(unique, i)
		}
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(r.Concurrency, len(unique))) {
		wg.Go(func() {
			for i := range jobs {
				out[i] = r.register(ctx, contacts[i], true)
			}
		})
	}
	for chunk, lookup := range r.lookAhead(ctx, contacts, unique) {
		for _, i := range chunk {
			switch o, found := match(lookup.known, contacts[i]); {
			case found:
				out[i] = o
			case lookup.err != nil && apierror.CodeOf(lookup.err) == apierror.DeadlineExceeded:
				out[i] = Outcome{Err: notAttempted()}
			default: // not there, or the lookup failed: send, and judge by the answer
				jobs <- i
			}
		}
	}
	close(jobs)
	wg.Wait()
	for i, c := range contacts {
		if j := first[c.Name]; j != i {
			out[i] = repeated(out[j], contacts[j], c)
		}
	}
	return out
}

// repeated is the outcome of a contact whose name came earlier in the batch:
// the earlier one's with the same email, a conflict with another.
func repeated(o Outcome, earlier, c contact.Contact) Outcome {
	if o.Err != nil || strings.EqualFold(earlier.ContactInfo, c.ContactInfo) {
		return Outcome{ID: o.ID, RequestID: o.RequestID, Err: o.Err, Existing: o.Err == nil}
	}
	return conflict(c, o.RequestID)
}

// lookupResult is one chunk's lookup.
type lookupResult struct {
	known []dbbrain.Contact
	err   error
}

// lookAhead yields, in order, each chunk of the unique contacts' indexes
// with its lookup. Up to Concurrency lookups run ahead of the caller at the
// lookup pace, so that a long, mostly registered batch spends its time on
// calls, not on waiting for answers one after the other.
func (r *Registrar) lookAhead(ctx context.Context, contacts []contact.Contact, unique []int) iter.Seq2[[]int, lookupResult] {
	return func(yield func([]int, lookupResult) bool) {
		var chunks [][]int
		for start := 0; start < len(unique); start += LookupChunk {
			chunks = append(chunks, unique[start:min(start+LookupChunk, len(unique))])
		}
		results := make([]chan lookupResult, len(chunks))
		for k := range results {
			results[k] = make(chan lookupResult, 1)
		}
		ctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		defer func() {
			cancel() // the caller stopped reading: the rest is not needed
			wg.Wait()
		}()
		wg.Go(func() {
			slots := make(chan struct{}, max(1, r.Concurrency))
			for k, chunk := range chunks {
				select {
				case slots <- struct{}{}:
				case <-ctx.Done():
					results[k] <- lookupResult{err: notAttempted()}
					continue
				}
				wg.Go(func() {
					defer func() { <-slots }()
					names := make([]string, len(chunk))
					for j, i := range chunk {
						names[j] = contacts[i].Name
					}
					known, err := r.lookup(ctx, names)
					results[k] <- lookupResult{known, err}
				})
			}
		})
		for k, chunk := range chunks {
			if !yield(chunk, <-results[k]) {
				return
			}
		}
	}
}

// logOutcome logs one batch item's outcome: at debug when it went plainly,
// at info when it needed more than one call or existed already, at warn when
// it failed (a single contact's outcome is the invocation's own log line).
func (r *Registrar) logOutcome(ctx context.Context, c contact.Contact, o Outcome) {
	level := slog.LevelDebug
	switch {
	case o.Err != nil:
		level = slog.LevelWarn
	case o.Attempts > 1 || o.Existing:
		level = slog.LevelInfo
	}
	r.logger().Log(ctx, level, "contact outcome", "name", c.Name, "email", c.ContactInfo, "code", apierror.CodeOf(o.Err),
		"id", o.ID, "existing", o.Existing, "attempts", o.Attempts, "upstream_request_id", o.RequestID)
}

// register sends one contact until it succeeds, fails for good, or no time
// is left, in the manner of go-retryablehttp's Client.Do: each failed attempt
// is judged by CheckRetry, whose decision the loop carries out. After an
// attempt that may have created the contact, nothing is sent again until a
// lookup has shown the name is not there.
func (r *Registrar) register(ctx context.Context, c contact.Contact, inBatch bool) Outcome {
	log := r.logger().With("name", c.Name, "email", c.ContactInfo)
	deadline, _ := ctx.Deadline()
	schedule := r.backoff()()
	var (
		out          Outcome
		lastErr      error
		lookFirst    bool // an attempt may have created the contact
		maybeApplied bool
	)
	for {
		need := r.Adds.Typical()
		if !inBatch && out.Attempts == 0 {
			// A single contact is always tried while any time is left,
			// since its call is bounded by the deadline anyway.
			need = minCall
		}
		send := true
		if lookFirst {
			known, err := r.lookup(ctx, []string{c.Name})
			if o, ok := match(known, c); ok {
				o.Attempts = out.Attempts
				return o
			}
			if err != nil {
				// Unknown whether it exists: sending could duplicate it.
				if apierror.CodeOf(err) == apierror.DeadlineExceeded {
					break // no time left: the last attempt's failure says more
				}
				lastErr, send = err, false
				if !apierror.Retryable(apierror.CodeOf(err)) {
					break
				}
			}
		}
		if send {
			if err := r.Adds.Wait(ctx, deadline, need); err != nil {
				if out.Attempts == 0 {
					out.Err = notAttempted()
					return out
				}
				break // the last attempt's failure says more than "no time"
			}
			out.Attempts++
			start := r.now()
			res, err := r.API.AddUserContact(ctx, r.Credential, c.Name, c.ContactInfo, c.Product)
			r.Adds.Observe(r.now().Sub(start), apierror.Family(apierror.CodeOf(err)) == apierror.RequestLimitExceeded)
			if err == nil {
				out.ID, out.RequestID = res.ID, res.RequestID
				if out.Attempts > 1 {
					log.Info("attempt succeeded", "attempt", out.Attempts)
				}
				return out
			}
			lastErr = err
			maybeApplied = maybeApplied || errors.Is(err, dbbrain.ErrMaybeApplied)
			decision := r.check()(err)
			if decision == Stop {
				break
			}
			lookFirst = lookFirst || decision == LookUpFirst
		}
		wait := schedule.NextBackOff()
		if wait == backoff.Stop || r.now().Add(wait+need).After(deadline) {
			break
		}
		log.Warn("attempt failed, retrying", "attempt", out.Attempts, "code", apierror.CodeOf(lastErr),
			"upstream_request_id", apierror.From(lastErr).RequestID, "retry_in_ms", wait.Milliseconds())
		if !sleep(ctx, wait) {
			break
		}
	}
	out.Err = lastErr
	if maybeApplied || mayExist(lastErr) {
		known, err := r.lookup(ctx, []string{c.Name})
		if o, ok := match(known, c); ok {
			o.Attempts = out.Attempts
			return o
		}
		if err != nil && !apierror.Retryable(apierror.CodeOf(lastErr)) {
			// It may exist, so the answer must not be final (a conflict, a
			// rule): it is the lookup's failure, which a retry settles.
			out.Err = apierror.Wrap(apierror.CodeOf(err), lastErr,
				"%s; whether an earlier attempt created the contact could not be checked (%s): retry the invocation",
				apierror.From(lastErr).Message, apierror.From(err).Message)
		}
	}
	return out
}

func notAttempted() error {
	return apierror.New(apierror.DeadlineExceeded,
		"not attempted: too little of the invocation's time was left to call "+dbbrain.ActionAddUserContact+"; retry the invocation to register this contact")
}

// maxLookupAttempts bounds the calls one lookup makes: a lookup only saves
// calls, and one that keeps failing must not use up the time the contacts
// themselves need.
const maxLookupAttempts = 3

// lookup lists the contacts whose names contain any of names, retrying what
// a retry can fix. An error means it is unknown which of them exist: a
// DeadlineExceeded when too little time was left to ask at all.
func (r *Registrar) lookup(ctx context.Context, names []string) ([]dbbrain.Contact, error) {
	deadline, _ := ctx.Deadline()
	schedule := r.backoff()()
	for attempt := 1; ; attempt++ {
		if err := r.Lookups.Wait(ctx, deadline, r.Lookups.Typical()); err != nil {
			return nil, apierror.Wrap(apierror.DeadlineExceeded, err, "too little of the invocation's time is left for another call")
		}
		start := r.now()
		res, err := r.API.DescribeAllUserContact(ctx, r.Credential, names)
		r.Lookups.Observe(r.now().Sub(start), apierror.Family(apierror.CodeOf(err)) == apierror.RequestLimitExceeded)
		if err == nil {
			for i := range res.Contacts {
				res.Contacts[i].RequestID = res.RequestID
			}
			return res.Contacts, nil
		}
		wait := schedule.NextBackOff()
		if attempt == maxLookupAttempts || !apierror.Retryable(apierror.CodeOf(err)) || wait == backoff.Stop || !sleep(ctx, wait) {
			r.logger().Warn("lookup failed", "names", len(names), "code", apierror.CodeOf(err))
			return nil, err
		}
	}
}

// match finds the contact named exactly c.Name among a lookup's answer
// (DBbrain matches names as substrings): with the same email it is c,
// registered already; with another it is a conflict no retry can fix.
func match(known []dbbrain.Contact, c contact.Contact) (Outcome, bool) {
	for _, e := range known {
		if e.Name != c.Name {
			continue
		}
		if strings.EqualFold(strings.TrimSpace(e.Mail), c.ContactInfo) {
			return Outcome{ID: e.ID, RequestID: e.RequestID, Existing: true}, true
		}
		return conflict(c, e.RequestID), true
	}
	return Outcome{}, false
}

// conflict is the outcome of a name that exists with another email.
func conflict(c contact.Contact, requestID string) Outcome {
	return Outcome{Conflict: true, Err: &apierror.Error{
		Code: apierror.FailedOperation,
		Message: "a contact named " + strconv.Quote(c.Name) + " already exists with a different email address; " +
			"DBbrain cannot modify or delete contacts through the API, so register this one under another name",
		RequestID: requestID,
	}}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// deadline is when work must end: the context's deadline less the margin. A
// context without a deadline gets SCF's longest timeout.
func (r *Registrar) deadline(ctx context.Context) time.Time {
	return WorkDeadline(ctx, r.now(), r.Margin)
}

// WorkDeadline is when work for an invocation must end: its deadline less
// the margin kept for answering.
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

func (r *Registrar) check() CheckRetry {
	if r.CheckRetry == nil {
		return DefaultCheckRetry
	}
	return r.CheckRetry
}

func (r *Registrar) backoff() BackoffFactory {
	if r.Backoff == nil {
		return DefaultBackoff
	}
	return r.Backoff
}
