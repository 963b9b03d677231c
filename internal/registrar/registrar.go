// Package registrar registers contacts at the API's pace (Pacer) without losing
// or duplicating any, as the README's "Retries and idempotency" describes.
package registrar

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

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

// Registrar registers contacts: one per invocation, around the process's Pacers.
type Registrar struct {
	API         API                    // The DBbrain calls.
	Credential  common.CredentialIface // Signs every call of the invocation.
	Adds        *Pacer                 // Paces AddUserContact for the process.
	Lookups     *Pacer                 // Paces DescribeAllUserContact for the process.
	Concurrency int                    // Bounds the contacts, and the lookups, in flight at once.
	LookFirst   bool                   // Look names up before sending: a redelivery costs a lookup, not a repeated add.
	Margin      time.Duration          // Kept free before the deadline, so the function can still answer.
	CheckRetry  CheckRetry             // Nil means DefaultCheckRetry.
	Backoff     BackoffFactory         // Nil means DefaultBackoff.
	Logger      *slog.Logger           // Nil discards.
	Now         func() time.Time       // Nil means time.Now.

	// Per invocation: the "no time" failure, one value for every contact
	// (60,000 copies held 12 MB), and the stop.
	noTime error
	stop   context.CancelCauseFunc
}

// Outcome is what happened to one contact.
type Outcome struct {
	held      *dbbrain.Contact // On a conflict, the contact that holds the name.
	ID        int64            // The contact's id on success.
	RequestID string           // DBbrain's RequestId of the answer that decided it.
	Err       error            // An *apierror.Error on failure; its kind is the verdict.
	Attempts  int              // AddUserContact calls made.
	Existing  bool             // It was registered already, with the same email.
}

const (
	// LookupChunk is how many names one DescribeAllUserContact asks for.
	LookupChunk       = 50
	minCall           = 50 * time.Millisecond // the least time worth starting a call with
	maxRounds         = 3                     // the rounds a refused name's copies get: one per email, up to this many
	maxLookupAttempts = 3                     // a failing lookup must not use up the contacts' time
)

// Decision is what to do after a failed AddUserContact attempt.
type Decision int

// The decisions a CheckRetry makes.
const (
	Stop        Decision = iota // The failure is final (a rule, a credential, a conflict).
	Retry                       // Send again after a backoff.
	LookUpFirst                 // The attempt may have created the contact: look it up before sending again.
)

// CheckRetry judges a failed attempt.
type CheckRetry func(err error) Decision

// BackoffFactory returns a fresh backoff schedule for one contact.
type BackoffFactory func() backoff.BackOff

// DefaultCheckRetry retries a throttle or a transient fault, after a lookup
// when the attempt may have been applied; anything else (a refusal, a conflict,
// the setup, no time left) stops.
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

// DefaultBackoff is 200 ms doubling to 5 s, each wait randomised by ±50% so
// that concurrent instances spread out.
func DefaultBackoff() backoff.BackOff {
	return &backoff.ExponentialBackOff{InitialInterval: 200 * time.Millisecond, RandomizationFactor: 0.5,
		Multiplier: 2, MaxInterval: 5 * time.Second}
}

// Register registers contacts concurrently and returns their outcomes in order.
// With LookFirst it sends only the names a lookup did not find. A name given
// twice is sent once and its copies judged against the name's holder, except
// that a copy with another email than one DBbrain refused gets a round of its
// own, up to maxRounds. Contacts left without time are "not attempted"; after a
// Setup failure, what was not sent carries that failure.
func (r *Registrar) Register(ctx context.Context, contacts []contact.Contact) []Outcome {
	c := *r
	r = &c
	r.Logger = cmp.Or(r.Logger, slog.New(slog.DiscardHandler))
	if r.CheckRetry == nil {
		r.CheckRetry = DefaultCheckRetry
	}
	if r.Backoff == nil {
		r.Backoff = DefaultBackoff
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	r.noTime = apierror.E(apierror.NotAttempted, apierror.DeadlineExceeded,
		"not attempted: too little of the invocation's time was left to call %s; retry the invocation to register this contact", dbbrain.ActionAddUserContact)
	ctx, cancel := context.WithDeadline(ctx, WorkDeadline(ctx, r.Now(), r.Margin))
	defer cancel()
	ctx, r.stop = context.WithCancelCause(ctx)
	defer r.stop(nil)
	return r.registerAll(ctx, contacts, len(contacts) == 1, 0)
}

// registerAll is one round of Register: alone says that contacts is the invocation's only contact.
func (r *Registrar) registerAll(ctx context.Context, contacts []contact.Contact, alone bool, round int) []Outcome {
	out := make([]Outcome, len(contacts))
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
				out[i] = r.register(ctx, contacts[i], alone)
				r.stopAt(out[i].Err)
			}
		})
	}
	r.lookAhead(ctx, contacts, unique, func(chunk []int, lookup lookupResult) {
		for _, i := range chunk {
			o, found := match(lookup.known, contacts[i])
			switch k := apierror.KindOf(lookup.err); {
			case found:
				out[i] = o
			case k == apierror.Setup:
				out[i] = Outcome{Err: lookup.err}
			case k == apierror.NotAttempted || ctx.Err() != nil:
				out[i] = Outcome{Err: r.notAttempted(ctx)}
			default: // not there, or the lookup failed: send, and judge by the answer
				jobs <- i
			}
		}
	})
	close(jobs)
	wg.Wait()
	var again []int // copies with another email than one DBbrain refused: the name's holder is unknown
	var rest []contact.Contact
	for i, c := range contacts {
		j := first[c.Name]
		o, earlier := out[j], contacts[j]
		switch {
		case j == i:
		case apierror.KindOf(o.Err) == apierror.Invalid && round < maxRounds && !sameEmail(earlier.ContactInfo, c.ContactInfo):
			again, rest = append(again, i), append(rest, c)
		case o.held != nil: // judged against the name's holder
			out[i], _ = match([]dbbrain.Contact{*o.held}, c)
		case o.Err != nil || sameEmail(earlier.ContactInfo, c.ContactInfo):
			out[i] = Outcome{ID: o.ID, RequestID: o.RequestID, Err: o.Err, Existing: o.Err == nil}
		default: // the earlier copy registered the name with another email
			out[i] = conflict(c, dbbrain.Contact{ID: o.ID, Name: earlier.Name, Mail: earlier.ContactInfo, RequestID: o.RequestID})
		}
	}
	if len(rest) > 0 {
		for k, o := range r.registerAll(ctx, rest, false, round+1) {
			out[again[k]] = o
		}
	}
	return out
}

// lookupResult is one chunk's lookup.
type lookupResult struct {
	known []dbbrain.Contact
	err   error
}

// lookAhead hands judge each chunk of the unique contacts, in order, with its
// lookup (none without LookFirst), keeping up to Concurrency lookups running or
// answered ahead of the chunk judged, so that a long, mostly registered batch
// does not wait for their answers one by one.
func (r *Registrar) lookAhead(ctx context.Context, contacts []contact.Contact, unique []int, judge func([]int, lookupResult)) {
	if !r.LookFirst {
		judge(unique, lookupResult{})
		return
	}
	chunks := slices.Collect(slices.Chunk(unique, LookupChunk))
	results := make([]chan lookupResult, len(chunks))
	var wg sync.WaitGroup
	defer wg.Wait()
	start := func(k int) {
		if k >= len(chunks) {
			return
		}
		results[k] = make(chan lookupResult, 1)
		wg.Go(func() {
			names := make([]string, len(chunks[k]))
			for j, i := range chunks[k] {
				names[j] = contacts[i].Name
			}
			known, err := r.lookup(ctx, names)
			r.stopAt(err) // at once: the chunk judged may be the last to be answered
			results[k] <- lookupResult{known, err}
		})
	}
	ahead := max(1, r.Concurrency)
	for k := range ahead {
		start(k)
	}
	for k, chunk := range chunks {
		res := <-results[k]
		start(k + ahead)
		judge(chunk, res)
	}
}

// register sends one contact until it succeeds, fails for good, or no time is
// left, as go-retryablehttp's Client.Do does with CheckRetry's decisions. An
// invocation's only contact (alone) is tried while any time is left.
func (r *Registrar) register(ctx context.Context, c contact.Contact, alone bool) (out Outcome) {
	log := r.Logger.With("name", c.Name, "email", c.ContactInfo)
	deadline, _ := ctx.Deadline()
	schedule := r.Backoff()
	// unsure: an attempt may have created the contact (a refusal may mean
	// the name exists; a failure after sending may hide a success), so the
	// name is looked up before sending again, and on the last pass before
	// giving up.
	unsure, last := false, false
	for {
		need := r.Adds.Typical()
		if alone && out.Attempts == 0 {
			need = minCall // its call is bounded by the deadline anyway
		}
		send := true
		if unsure {
			known, err := r.lookup(ctx, []string{c.Name})
			o, found := match(known, c)
			switch k := apierror.KindOf(err); {
			case found:
				o.Attempts = out.Attempts
				return o
			case k == apierror.Setup:
				out.Err = err // the role or the endpoint: the batch stops
				return out
			case last && k.Retryable() && !apierror.KindOf(out.Err).Retryable():
				// It may exist: the answer is the lookup's
				// failure, which a retry settles.
				out.Err = apierror.Wrap(apierror.Transient, apierror.CodeOf(err), out.Err,
					"%s; whether an earlier attempt created the contact could not be checked (%s): retry the invocation",
					apierror.From(out.Err).Message, apierror.From(err).Message)
				return out
			case last, k == apierror.NotAttempted, err != nil && !k.Retryable():
				return out // no time left, or DBbrain will not look the name up: the last attempt's answer stands
			case err != nil: // unknown whether it exists: sending could duplicate it
				out.Err, send = err, false
			}
		}
		if last {
			return out
		}
		if send {
			if err := r.Adds.Wait(ctx, deadline, need); err != nil {
				if out.Attempts == 0 {
					out.Err = r.notAttempted(ctx)
					return out
				}
				last = true // the last attempt's failure says more than "no time"
				continue
			}
			out.Attempts++
			start := r.Now()
			res, err := r.API.AddUserContact(ctx, r.Credential, c.Name, c.ContactInfo, c.Product)
			r.Adds.Observe(r.Now().Sub(start), apierror.KindOf(err) == apierror.Throttled)
			if err == nil {
				if out.Attempts > 1 {
					log.Info("attempt succeeded", "attempt", out.Attempts)
				}
				out.ID, out.RequestID, out.Err = res.ID, res.RequestID, nil
				return out
			}
			out.Err = err
			decision := r.CheckRetry(err)
			unsure = unsure || decision == LookUpFirst || apierror.KindOf(err) == apierror.Invalid || errors.Is(err, dbbrain.ErrMaybeApplied)
			if decision == Stop {
				last = true
				continue
			}
		}
		wait := schedule.NextBackOff()
		last = wait == backoff.Stop || r.Now().Add(wait+need).After(deadline)
		if !last {
			log.Warn("attempt failed, retrying", "attempt", out.Attempts, "code", apierror.CodeOf(out.Err),
				"upstream_request_id", apierror.From(out.Err).RequestID, "retry_in_ms", wait.Milliseconds())
			last = !sleep(ctx, wait)
		}
	}
}

// notAttempted is the failure of a contact not sent: the batch's stop, or too little time left.
func (r *Registrar) notAttempted(ctx context.Context) error {
	if cause := context.Cause(ctx); apierror.KindOf(cause) == apierror.Setup {
		return cause
	}
	return r.noTime
}

// stopAt stops the batch at a Setup failure, which every other call would meet too.
func (r *Registrar) stopAt(err error) {
	if e := apierror.From(err); e != nil && e.Kind == apierror.Setup {
		r.stop(&apierror.Error{Kind: apierror.Setup, Code: e.Code, RequestID: e.RequestID, Err: err,
			Message: "not attempted: the batch stopped at the first failure of the function's own setup: " + e.Message})
	}
}

// lookup lists the contacts whose names contain any of names; an error means it
// is unknown which exist. A throttled lookup is retried while time allows:
// sending unchecked would spend an add on every contact already registered.
func (r *Registrar) lookup(ctx context.Context, names []string) ([]dbbrain.Contact, error) {
	deadline, _ := ctx.Deadline()
	schedule := r.Backoff()
	for attempt := 1; ; attempt++ {
		if err := r.Lookups.Wait(ctx, deadline, r.Lookups.Typical()); err != nil {
			return nil, r.notAttempted(ctx)
		}
		start := r.Now()
		res, err := r.API.DescribeAllUserContact(ctx, r.Credential, names)
		r.Lookups.Observe(r.Now().Sub(start), apierror.KindOf(err) == apierror.Throttled)
		if err == nil {
			for i := range res.Contacts {
				res.Contacts[i].RequestID = res.RequestID
			}
			return res.Contacts, nil
		}
		wait := schedule.NextBackOff()
		k := apierror.KindOf(err)
		if (attempt >= maxLookupAttempts && k != apierror.Throttled) || !k.Retryable() || wait == backoff.Stop ||
			r.Now().Add(wait+r.Lookups.Typical()).After(deadline) || !sleep(ctx, wait) {
			r.Logger.Warn("lookup failed", "names", len(names), "code", apierror.CodeOf(err))
			return nil, err
		}
	}
}

// match finds the contact named exactly c.Name (DBbrain matches substrings): c
// registered already, or a conflict. An entry with c's email wins over others
// of the name, which the 2021-05-27 API, sharing the store, may have added.
func match(known []dbbrain.Contact, c contact.Contact) (Outcome, bool) {
	named := func(e dbbrain.Contact) bool { return e.Name == c.Name }
	if i := slices.IndexFunc(known, func(e dbbrain.Contact) bool { return named(e) && sameEmail(e.Mail, c.ContactInfo) }); i >= 0 {
		return Outcome{ID: known[i].ID, RequestID: known[i].RequestID, Existing: true}, true
	}
	if i := slices.IndexFunc(known, named); i >= 0 {
		return conflict(c, known[i]), true
	}
	return Outcome{}, false
}

// sameEmail compares addresses up to surrounding spaces and ASCII case: Unicode
// folds a Kelvin sign (U+212A) into k.
func sameEmail(stored, given string) bool {
	asciiOnly := unicode.SpecialCase{{Lo: utf8.RuneSelf, Hi: unicode.MaxRune}} // beyond ASCII, a rune is its own lower case
	return strings.ToLowerSpecial(asciiOnly, strings.TrimSpace(stored)) == strings.ToLowerSpecial(asciiOnly, given)
}

// conflict is the outcome of a name that exists with another email.
func conflict(c contact.Contact, held dbbrain.Contact) Outcome {
	return Outcome{held: &held, Err: &apierror.Error{
		Kind: apierror.Conflict, Code: apierror.FailedOperation, RequestID: held.RequestID,
		Message: "a contact named " + strconv.Quote(c.Name) + " already exists with a different email address; " +
			"DBbrain cannot modify or delete contacts through the API, so register this one under another name",
	}}
}

// sleep waits d, or less if ctx ends first; it tells whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-time.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}

// WorkDeadline is the invocation's deadline (else SCF's longest timeout) less
// the margin kept for answering.
func WorkDeadline(ctx context.Context, now time.Time, margin time.Duration) time.Time {
	d, ok := ctx.Deadline()
	if !ok {
		d = now.Add(15 * time.Minute)
	}
	return d.Add(-margin)
}
