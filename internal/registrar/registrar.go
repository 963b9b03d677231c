// Package registrar registers contacts at the API's pace without losing or
// duplicating any: an adaptive pace per process (Pacer), bounded concurrency,
// retries inside the deadline, and idempotency, as the README's "Retries and
// idempotency" describes.
package registrar

import (
	"cmp"
	"context"
	"errors"
	"iter"
	"log/slog"
	"slices"
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

// Registrar registers contacts: one per invocation, around the process's Pacers.
type Registrar struct {
	API         API                    // The DBbrain calls.
	Credential  common.CredentialIface // Signs every call of the invocation.
	Adds        *Pacer                 // Paces AddUserContact for the process.
	Lookups     *Pacer                 // Paces DescribeAllUserContact for the process.
	Concurrency int                    // Bounds the contacts, and the lookups, in flight at once.
	// LookFirst looks names up before sending, so that a redelivery costs a
	// lookup and never relies on DBbrain refusing a repeated name.
	LookFirst  bool
	Margin     time.Duration    // Kept free before the deadline, so the function can still answer.
	CheckRetry CheckRetry       // Nil means DefaultCheckRetry.
	Backoff    BackoffFactory   // Nil means DefaultBackoff.
	Logger     *slog.Logger     // Nil discards.
	Now        func() time.Time // Nil means time.Now.

	// One failure value each, shared by every contact it befalls: a delivery
	// of 60,000 contacts left without time held 12 MB of copies.
	noTime  error
	stopped func(cause error) error
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

// LookupChunk is how many names one DescribeAllUserContact asks for.
const LookupChunk = 50

// minCall is the least time worth starting a call with.
const minCall = 50 * time.Millisecond

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

// DefaultCheckRetry decides by the error's kind: a throttle or a transient
// fault is retried, after a lookup when the attempt may have been applied;
// anything else (a refusal, a conflict, the setup, no time left) stops.
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

// Register registers contacts concurrently and returns their outcomes in
// order. With LookFirst it sends only the names a lookup did not find. A name
// given twice is sent once: its copies are judged against the name's holder
// once known (the same email: registered; another: a conflict), and when
// DBbrain refused the copy sent, a copy with another email gets a round of
// its own, up to maxRounds. Contacts left without time for a call are "not
// attempted"; after a Setup failure nothing more is sent, and what was not
// sent carries that failure.
func (r *Registrar) Register(ctx context.Context, contacts []contact.Contact) []Outcome {
	r = r.withDefaults()
	r.noTime = apierror.E(apierror.NotAttempted, apierror.DeadlineExceeded,
		"not attempted: too little of the invocation's time was left to call %s; retry the invocation to register this contact", dbbrain.ActionAddUserContact)
	var once sync.Once
	var stopped error
	r.stopped = func(cause error) error { // the cause is the first stop's, fixed once set
		once.Do(func() {
			e := apierror.From(cause)
			stopped = &apierror.Error{Kind: apierror.Setup, Code: e.Code, RequestID: e.RequestID, Err: cause,
				Message: "not attempted: the batch stopped at the first failure of the function's own setup: " + e.Message}
		})
		return stopped
	}
	ctx, cancel := context.WithDeadline(ctx, WorkDeadline(ctx, r.Now(), r.Margin))
	defer cancel()
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	return r.registerAll(ctx, stop, contacts, len(contacts) == 1, 0)
}

// maxRounds bounds the rounds a name's copies get when DBbrain refuses them:
// one per email, up to this many.
const maxRounds = 3

// registerAll is one round of Register: alone says that contacts is the
// invocation's only contact.
func (r *Registrar) registerAll(ctx context.Context, stop context.CancelCauseFunc, contacts []contact.Contact, alone bool, round int) []Outcome {
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
				if apierror.KindOf(out[i].Err) == apierror.Setup {
					stop(out[i].Err) // every other call would fail the same way
				}
			}
		})
	}
	for chunk, lookup := range r.lookAhead(ctx, stop, contacts, unique) {
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
	var again []int // copies with another email than one DBbrain refused: the name's holder is unknown
	for i, c := range contacts {
		j := first[c.Name]
		switch k := apierror.KindOf(out[j].Err); {
		case j == i:
		case k == apierror.Invalid && round < maxRounds && !sameEmail(contacts[j].ContactInfo, c.ContactInfo):
			again = append(again, i)
		default:
			out[i] = repeated(out[j], contacts[j], c)
		}
	}
	if len(again) > 0 {
		rest := make([]contact.Contact, len(again))
		for k, i := range again {
			rest[k] = contacts[i]
		}
		for k, o := range r.registerAll(ctx, stop, rest, false, round+1) {
			out[again[k]] = o
		}
	}
	return out
}

// repeated is the outcome of a name seen earlier in the batch: the earlier
// one's with the same email, else judged against the name's holder, known
// when the earlier one was registered or a conflict.
func repeated(o Outcome, earlier, c contact.Contact) Outcome {
	switch {
	case o.held != nil:
		o, _ = match([]dbbrain.Contact{*o.held}, c)
		return o
	case o.Err != nil || sameEmail(earlier.ContactInfo, c.ContactInfo):
		return Outcome{ID: o.ID, RequestID: o.RequestID, Err: o.Err, Existing: o.Err == nil}
	}
	return conflict(c, dbbrain.Contact{ID: o.ID, Name: earlier.Name, Mail: earlier.ContactInfo, RequestID: o.RequestID})
}

// lookupResult is one chunk's lookup.
type lookupResult struct {
	known []dbbrain.Contact
	err   error
}

// lookAhead yields each chunk of the unique contacts with its lookup (none
// without LookFirst), up to Concurrency lookups running ahead, so that a long,
// mostly registered batch does not wait for their answers one by one. A Setup
// failure stops the batch at once: lookups start in no set order, and the
// chunk waited for may be the last of them.
func (r *Registrar) lookAhead(ctx context.Context, stop context.CancelCauseFunc, contacts []contact.Contact, unique []int) iter.Seq2[[]int, lookupResult] {
	return func(yield func([]int, lookupResult) bool) {
		if !r.LookFirst {
			yield(unique, lookupResult{})
			return
		}
		chunks := slices.Collect(slices.Chunk(unique, LookupChunk))
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
		slots := make(chan struct{}, max(1, r.Concurrency)) // lookups running or answered, not yet read
		wg.Go(func() {
			for k, chunk := range chunks {
				select {
				case slots <- struct{}{}:
				case <-ctx.Done():
					results[k] <- lookupResult{err: r.notAttempted(ctx)}
					continue
				}
				wg.Go(func() {
					names := make([]string, len(chunk))
					for j, i := range chunk {
						names[j] = contacts[i].Name
					}
					known, err := r.lookup(ctx, names)
					if apierror.KindOf(err) == apierror.Setup {
						stop(err)
					}
					results[k] <- lookupResult{known, err}
				})
			}
		})
		for k, chunk := range chunks {
			res := <-results[k]
			select {
			case <-slots: // read: another lookup may start
			default: // it never started: the context ended
			}
			if !yield(chunk, res) {
				return
			}
		}
	}
}

// register sends one contact until it succeeds, fails for good, or no time
// is left, as go-retryablehttp's Client.Do does with CheckRetry's decisions.
// An invocation's only contact (alone) is tried while any time is left.
func (r *Registrar) register(ctx context.Context, c contact.Contact, alone bool) (out Outcome) {
	log := r.Logger.With("name", c.Name, "email", c.ContactInfo)
	deadline, _ := ctx.Deadline()
	schedule := r.Backoff()
	// unsure: an attempt may have created the contact (a refusal may mean the
	// name exists; a failure after sending may hide a success), so the name
	// is looked up before sending again, and before the failure is final.
	unsure := false
	for {
		need := r.Adds.Typical()
		if alone && out.Attempts == 0 {
			need = minCall // its call is bounded by the deadline anyway
		}
		send := true
		if unsure {
			o, found, err := r.find(ctx, c, out.Attempts)
			switch k := apierror.KindOf(err); {
			case found:
				return o
			case k == apierror.Setup:
				out.Err = err
				return out
			case k == apierror.NotAttempted, err != nil && !k.Retryable():
				return out // no time left, or DBbrain will not look the name up: the last attempt's answer stands
			case err != nil: // unknown whether it exists: sending could duplicate it
				out.Err, send = err, false
			}
		}
		if send {
			if err := r.Adds.Wait(ctx, deadline, need); err != nil {
				if out.Attempts == 0 {
					out.Err = r.notAttempted(ctx)
					return out
				}
				break // the last attempt's failure says more than "no time"
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
				break
			}
		}
		wait := schedule.NextBackOff()
		if wait == backoff.Stop || r.Now().Add(wait+need).After(deadline) {
			break
		}
		log.Warn("attempt failed, retrying", "attempt", out.Attempts, "code", apierror.CodeOf(out.Err),
			"upstream_request_id", apierror.From(out.Err).RequestID, "retry_in_ms", wait.Milliseconds())
		if !sleep(ctx, wait) {
			break
		}
	}
	if !unsure {
		return out
	}
	o, found, err := r.find(ctx, c, out.Attempts)
	switch k := apierror.KindOf(err); {
	case found:
		return o
	case k == apierror.Setup:
		out.Err = err // the role or the endpoint: the batch stops
	case k.Retryable() && !apierror.KindOf(out.Err).Retryable():
		// It may exist: the answer is the lookup's failure, which a retry settles.
		out.Err = apierror.Wrap(apierror.Transient, apierror.CodeOf(err), out.Err,
			"%s; whether an earlier attempt created the contact could not be checked (%s): retry the invocation",
			apierror.From(out.Err).Message, apierror.From(err).Message)
	}
	return out
}

// notAttempted is the failure of a contact not sent: the batch stopped at a
// Setup failure, or too little time was left.
func (r *Registrar) notAttempted(ctx context.Context) error {
	if cause := context.Cause(ctx); apierror.KindOf(cause) == apierror.Setup {
		return r.stopped(cause)
	}
	return r.noTime
}

// maxLookupAttempts bounds a failing lookup, which must not use up the
// contacts' time; a throttled one is retried while time allows, since sending
// unchecked would spend an add on every contact already registered.
const maxLookupAttempts = 3

// lookup lists the contacts whose names contain any of names. An error means
// it is unknown which exist (NotAttempted: no time was left to ask).
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

// find looks c's name up: found when it is there, registered or a conflict.
func (r *Registrar) find(ctx context.Context, c contact.Contact, attempts int) (o Outcome, found bool, err error) {
	known, err := r.lookup(ctx, []string{c.Name})
	o, found = match(known, c)
	o.Attempts = attempts
	return o, found, err
}

// match finds the contact named exactly c.Name (DBbrain matches substrings):
// with the same email it is c, registered already; else a conflict. An entry
// with c's email wins over others of the name, which the 2021-05-27 API,
// sharing the store, may have added.
func match(known []dbbrain.Contact, c contact.Contact) (Outcome, bool) {
	i := slices.IndexFunc(known, func(e dbbrain.Contact) bool { return e.Name == c.Name && sameEmail(e.Mail, c.ContactInfo) })
	if i < 0 {
		i = slices.IndexFunc(known, func(e dbbrain.Contact) bool { return e.Name == c.Name })
	}
	switch {
	case i < 0:
		return Outcome{}, false
	case sameEmail(known[i].Mail, c.ContactInfo):
		return Outcome{ID: known[i].ID, RequestID: known[i].RequestID, Existing: true}, true
	}
	return conflict(c, known[i]), true
}

// sameEmail compares addresses up to surrounding spaces and ASCII case:
// Unicode folding would take "\u212Aate@qq.com" (a Kelvin sign) for kate@.
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
func conflict(c contact.Contact, held dbbrain.Contact) Outcome {
	return Outcome{held: &held, Err: &apierror.Error{
		Kind: apierror.Conflict, Code: apierror.FailedOperation,
		Message: "a contact named " + strconv.Quote(c.Name) + " already exists with a different email address; " +
			"DBbrain cannot modify or delete contacts through the API, so register this one under another name",
		RequestID: held.RequestID,
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

// WorkDeadline is the invocation's deadline (else SCF's longest timeout)
// less the margin kept for answering.
func WorkDeadline(ctx context.Context, now time.Time, margin time.Duration) time.Time {
	d, ok := ctx.Deadline()
	if !ok {
		d = now.Add(15 * time.Minute)
	}
	return d.Add(-margin)
}

// withDefaults returns a copy of r with its nil fields set to their defaults.
func (r *Registrar) withDefaults() *Registrar {
	c := *r
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	if c.CheckRetry == nil {
		c.CheckRetry = DefaultCheckRetry
	}
	if c.Backoff == nil {
		c.Backoff = DefaultBackoff
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &c
}
