// Package registrar registers contacts at the API's pace without losing or
// duplicating any: an adaptive pace per process (Pacer), bounded concurrency,
// retries with jittered exponential backoff inside the invocation's deadline,
// and idempotency: a batch first looks its names up and sends only what is
// missing, and a failure that may hide an earlier success is looked up before
// anything is sent again.
//
// Every decision reads the kind of the error DBbrain's answer was translated
// to (package apierror): a throttle is retried slowly, a transient fault
// retried, a refusal of the contact looked up once and then final, and a
// fault of the function's own setup stops the whole batch at once, since
// every further call would fail the same way and spend the account's limit.
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
	// Concurrency bounds the contacts, and the lookups, in flight at once.
	Concurrency int
	// LookFirst looks the names up before sending any, so that a delivery
	// that comes again costs a lookup and never relies on DBbrain refusing a
	// repeated name.
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
	ID        int64  // The contact's id on success.
	RequestID string // DBbrain's RequestId of the answer that decided it.
	// Err is an *apierror.Error on failure; its kind is the verdict.
	Err      error
	Attempts int  // AddUserContact calls made.
	Existing bool // It was registered already, with the same email.
}

// LookupChunk is how many names one DescribeAllUserContact asks for.
const LookupChunk = 50

// minCall is the least time worth starting a call with.
const minCall = 50 * time.Millisecond

// Register registers contacts concurrently and returns their outcomes in
// input order. With LookFirst it looks the names up first, a chunk per call,
// several calls running ahead of the registration, and sends AddUserContact
// only for the contacts not registered yet. A name given twice is sent once.
// Contacts left when too little time remains for another call are "not
// attempted" (kind NotAttempted); after a Setup failure nothing more is
// sent, and what was not sent carries that failure.
func (r *Registrar) Register(ctx context.Context, contacts []contact.Contact) []Outcome {
	out := make([]Outcome, len(contacts))
	ctx, cancel := context.WithDeadline(ctx, r.deadline(ctx))
	defer cancel()
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
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
				out[i] = r.register(ctx, stop, contacts[i], len(contacts) == 1)
			}
		})
	}
	for chunk, lookup := range r.lookAhead(ctx, contacts, unique) {
		for _, i := range chunk {
			o, found := match(lookup.known, contacts[i])
			switch k := apierror.KindOf(lookup.err); {
			case found:
				out[i] = o
			case k == apierror.Setup:
				stop(lookup.err)
				out[i] = Outcome{Err: lookup.err}
			case k == apierror.NotAttempted || ctx.Err() != nil:
				out[i] = Outcome{Err: r.notAttempted(ctx)}
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
// the earlier one's with the same email (its failure included), a conflict
// with another.
func repeated(o Outcome, earlier, c contact.Contact) Outcome {
	if o.Err != nil || sameEmail(earlier.ContactInfo, c.ContactInfo) {
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
// with its lookup (nothing known and no error without LookFirst). Up to
// Concurrency lookups run ahead of the caller at the lookup pace, so that a
// long, mostly registered batch spends its time on calls, not on waiting for
// answers one after the other.
func (r *Registrar) lookAhead(ctx context.Context, contacts []contact.Contact, unique []int) iter.Seq2[[]int, lookupResult] {
	return func(yield func([]int, lookupResult) bool) {
		if !r.LookFirst {
			yield(unique, lookupResult{})
			return
		}
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
					results[k] <- lookupResult{err: r.notAttempted(ctx)}
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

// register sends one contact until it succeeds, fails for good, or no time
// is left, in the manner of go-retryablehttp's Client.Do: each failed attempt
// is judged by CheckRetry, whose decision the loop carries out. After an
// attempt that may have created the contact, nothing is sent again until a
// lookup has shown the name is not there. alone says the contact is the
// invocation's only one, which is tried while any time is left.
func (r *Registrar) register(ctx context.Context, stop context.CancelCauseFunc, c contact.Contact, alone bool) (out Outcome) {
	log := r.logger().With("name", c.Name, "email", c.ContactInfo)
	deadline, _ := ctx.Deadline()
	schedule := r.backoff()()
	var lastErr error
	lookFirst, lookAfter := false, false // an attempt may have created the contact
	defer func() {
		if apierror.KindOf(out.Err) == apierror.Setup {
			stop(out.Err) // every other call would fail the same way
		}
	}()
loop:
	for {
		need := r.Adds.Typical()
		if alone && out.Attempts == 0 {
			need = minCall // its call is bounded by the deadline anyway
		}
		send := true
		if lookFirst {
			known, err := r.lookup(ctx, []string{c.Name})
			if o, ok := match(known, c); ok {
				o.Attempts = out.Attempts
				return o
			}
			switch k := apierror.KindOf(err); {
			case k == apierror.Setup:
				out.Err = err
				return out
			case k == apierror.NotAttempted:
				lookAfter = false
				break loop // no time left: the last attempt's failure says more
			case err != nil: // unknown whether it exists: sending could duplicate it
				lastErr, send = err, false
			}
		}
		if send {
			if err := r.Adds.Wait(ctx, deadline, need); err != nil {
				if out.Attempts == 0 {
					out.Err = r.notAttempted(ctx)
					return out
				}
				break loop // the last attempt's failure says more than "no time"
			}
			out.Attempts++
			start := r.now()
			res, err := r.API.AddUserContact(ctx, r.Credential, c.Name, c.ContactInfo, c.Product)
			r.Adds.Observe(r.now().Sub(start), apierror.KindOf(err) == apierror.Throttled)
			if err == nil {
				if out.Attempts > 1 {
					log.Info("attempt succeeded", "attempt", out.Attempts)
				}
				out.ID, out.RequestID = res.ID, res.RequestID
				return out
			}
			lastErr = err
			// A refusal may be DBbrain's answer to a name that exists, and a
			// failure after the request left may hide a success.
			lookAfter = lookAfter || apierror.KindOf(err) == apierror.Invalid || errors.Is(err, dbbrain.ErrMaybeApplied)
			decision := r.check()(err)
			if decision == Stop {
				break loop
			}
			lookFirst = lookFirst || decision == LookUpFirst
		}
		wait := schedule.NextBackOff()
		if wait == backoff.Stop || r.now().Add(wait+need).After(deadline) {
			break loop
		}
		log.Warn("attempt failed, retrying", "attempt", out.Attempts, "code", apierror.CodeOf(lastErr),
			"upstream_request_id", apierror.From(lastErr).RequestID, "retry_in_ms", wait.Milliseconds())
		if !sleep(ctx, wait) {
			break loop
		}
	}
	out.Err = lastErr
	if !lookAfter {
		return out
	}
	known, err := r.lookup(ctx, []string{c.Name})
	if o, ok := match(known, c); ok {
		o.Attempts = out.Attempts
		return o
	}
	if err != nil && !apierror.KindOf(lastErr).Retryable() {
		// It may exist, so the answer must not be final: it is the lookup's
		// failure, which a later try settles.
		out.Err = apierror.Wrap(apierror.Transient, apierror.CodeOf(err), lastErr,
			"%s; whether an earlier attempt created the contact could not be checked (%s): retry the invocation",
			apierror.From(lastErr).Message, apierror.From(err).Message)
	}
	return out
}

// notAttempted is the failure of a contact no call was made for: the batch
// stopped at a Setup failure, or too little of the invocation's time was
// left.
func (r *Registrar) notAttempted(ctx context.Context) error {
	if cause := context.Cause(ctx); apierror.KindOf(cause) == apierror.Setup {
		e := apierror.From(cause)
		return &apierror.Error{Kind: apierror.Setup, Code: e.Code, RequestID: e.RequestID, Err: cause,
			Message: "not attempted: the batch stopped at the first failure of the function's own setup: " + e.Message}
	}
	return apierror.E(apierror.NotAttempted, apierror.DeadlineExceeded,
		"not attempted: too little of the invocation's time was left to call %s; retry the invocation to register this contact", dbbrain.ActionAddUserContact)
}

// maxLookupAttempts bounds the calls one lookup makes when DBbrain fails: a
// lookup only saves calls, and one that keeps failing must not use up the
// time the contacts themselves need. A throttled lookup is retried while time
// allows: the account is busy, not broken, and sending unchecked would spend
// an add on every contact a redelivery already registered.
const maxLookupAttempts = 3

// lookup lists the contacts whose names contain any of names, retrying what
// a retry can fix. An error means it is unknown which of them exist; its kind
// is NotAttempted when too little time was left to ask at all.
func (r *Registrar) lookup(ctx context.Context, names []string) ([]dbbrain.Contact, error) {
	deadline, _ := ctx.Deadline()
	schedule := r.backoff()()
	for attempt := 1; ; attempt++ {
		if err := r.Lookups.Wait(ctx, deadline, r.Lookups.Typical()); err != nil {
			return nil, r.notAttempted(ctx)
		}
		start := r.now()
		res, err := r.API.DescribeAllUserContact(ctx, r.Credential, names)
		r.Lookups.Observe(r.now().Sub(start), apierror.KindOf(err) == apierror.Throttled)
		if err == nil {
			for i := range res.Contacts {
				res.Contacts[i].RequestID = res.RequestID
			}
			return res.Contacts, nil
		}
		wait := schedule.NextBackOff()
		k := apierror.KindOf(err)
		if (attempt >= maxLookupAttempts && k != apierror.Throttled) || !k.Retryable() || wait == backoff.Stop ||
			r.now().Add(wait+r.Lookups.Typical()).After(deadline) || !sleep(ctx, wait) {
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
		if sameEmail(e.Mail, c.ContactInfo) {
			return Outcome{ID: e.ID, RequestID: e.RequestID, Existing: true}, true
		}
		return conflict(c, e.RequestID), true
	}
	return Outcome{}, false
}

// sameEmail compares addresses as DBbrain can be assumed to store them:
// surrounding spaces aside, equal up to ASCII letter case. Unicode case
// folding would take "\u212Aate@qq.com" (a Kelvin sign) for kate@qq.com.
func sameEmail(stored, given string) bool {
	lower := func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	return strings.Map(lower, strings.TrimSpace(stored)) == strings.Map(lower, given)
}

// conflict is the outcome of a name that exists with another email.
func conflict(c contact.Contact, requestID string) Outcome {
	return Outcome{Err: &apierror.Error{
		Kind: apierror.Conflict, Code: apierror.FailedOperation,
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

// deadline is when work must end: the context's deadline less the margin.
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
