// Package emulator is a local stand-in for the DBbrain API 3.0 endpoint
// (service dbbrain, version 2019-10-16), serving AddUserContact and
// DescribeAllUserContact the way the real service does, for tests,
// benchmarks and local runs.
//
// # The API
//
// POST / with a JSON body is what the SDKs send; GET / with the parameters in
// the query string and POST / with an application/x-www-form-urlencoded body
// are accepted too (arrays as Names.0, Names.1, ...). Headers: X-TC-Action,
// X-TC-Version, X-TC-Timestamp, X-TC-Region, X-TC-Token (temporary keys),
// Authorization (TC3-HMAC-SHA256, checked by package tc3). Every answer is
// HTTP 200 with Content-Type application/json and a fresh RequestId:
//
//	{"Response":{"Id":1,"RequestId":"..."}}
//	{"Response":{"Error":{"Code":"...","Message":"..."},"RequestId":"..."}}
//
// except the injected faults (a bare HTTP 503 with an HTML body, or a closed
// connection) and requests that are not API calls at all (404 for another
// path, 405 for another method).
//
// A request is checked in this order, stopping at the first failure:
//
//  1. Body over 64 MiB: RequestSizeLimitExceeded without authentication
//     (the body cannot be hashed for free beyond that).
//  2. Authentication (tc3): AuthFailure.InvalidAuthorization,
//     .SecretIdNotFound, .SignatureExpire, .SignatureFailure, .TokenFailure.
//  3. X-TC-Action (MissingParameter, InvalidAction), X-TC-Version
//     (MissingParameter, NoSuchVersion), X-TC-Region (MissingParameter,
//     UnsupportedRegion).
//  4. Rate limit: at most Config.RPS accepted calls per SecretId and action in
//     any sliding one-second window; the excess gets RequestLimitExceeded and
//     changes nothing.
//  5. Injected InternalError or HTTP 503 (nothing is changed).
//  6. Body over 10 MB: RequestSizeLimitExceeded.
//  7. Parameters: InvalidParameter (malformed body, wrong JSON type),
//     MissingParameter, UnknownParameter (naming it), InvalidParameterValue.
//     Missing parameters are reported before unknown ones, unknown before
//     wrongly typed, wrongly typed before invalid values.
//  8. The action: AddUserContact answers FailedOperation when the name
//     exists (exact match).
//  9. Injected latency, then the answer, or an injected drop: the action has
//     been applied but the connection closes without an answer.
//
// Faults are drawn once per authenticated request from a math/rand/v2 source
// seeded with Config.Seed, so the same sequence of requests meets the same
// faults.
//
// # Admin endpoints
//
// Under /_emulator/, which the API never uses (its only path is "/"); they
// need no signature:
//
//	GET /_emulator/faults    current Faults as JSON
//	PUT /_emulator/faults    replace them: {"InternalError":0.1,"Unavailable":0,"Drop":0.05,"Latency":"200ms"}
//	GET /_emulator/contacts  {"TotalCount":N,"Contacts":[{"Id":1,"Name":"..","Mail":".."}]}
//	GET /_emulator/stats     Stats as JSON
package emulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/go-playground/validator/v10"
	"github.com/google/uuid"

	"github.com/scf-dbbrain/addusercontact/internal/tc3"
)

// API constants of the emulated service.
const (
	Service                      = "dbbrain"
	Version                      = "2019-10-16"
	ActionAddUserContact         = "AddUserContact"
	ActionDescribeAllUserContact = "DescribeAllUserContact"
	// MaxBodyBytes is the API 3.0 limit on a request body.
	MaxBodyBytes = 10 << 20
	// DefaultRPS is the documented AddUserContact limit per second.
	DefaultRPS = 20
	// AdminPrefix starts every admin path.
	AdminPrefix = "/_emulator/"
)

// Codes that Stats counts besides the API error codes.
const (
	StatOK          = "OK"      // a success envelope
	StatUnavailable = "HTTP503" // injected bare 503
	StatDropped     = "Dropped" // injected closed connection
	StatNotAPI      = "NotAPI"  // wrong path or method
	statsOther      = "(other)" // Stats.Actions key for unknown actions
)

// Key is an API key pair the emulator accepts; a non-empty Token makes it a
// temporary key whose requests must carry X-TC-Token equal to Token.
type Key = tc3.Key

// Config configures a Server.
type Config struct {
	// Keys are the accepted key pairs; at least one.
	Keys []Key
	// RPS is the per-SecretId, per-action limit in any one-second window:
	// 0 means DefaultRPS, a negative value means unlimited.
	RPS int
	// Seed seeds the fault draws.
	Seed int64
	// Faults are the initial faults.
	Faults Faults
	// StatePath is "" to keep contacts in memory; otherwise they are loaded
	// from it at start and written to it atomically after each change.
	StatePath string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewRequestID makes RequestIds; nil means a fresh UUID v4 each.
	NewRequestID func() string
	// Logger gets one line per request; nil discards them.
	Logger *slog.Logger
}

// Server is the emulator, an http.Handler. It is safe for concurrent use and
// starts no goroutines.
type Server struct {
	verifier  *tc3.Verifier
	validate  *validator.Validate
	now       func() time.Time
	newID     func() string
	log       *slog.Logger
	done      chan struct{}
	closeOnce sync.Once

	mu      sync.Mutex // guards everything below
	faults  Faults
	rng     *rand.Rand
	limiter *slidingWindow
	store   *store
	stats   Stats
}

// New makes a Server; it loads Config.StatePath if that file exists.
func New(cfg Config) (*Server, error) {
	if len(cfg.Keys) == 0 {
		return nil, errors.New("emulator: no keys configured")
	}
	for i, k := range cfg.Keys {
		if k.SecretID == "" || k.SecretKey == "" {
			return nil, fmt.Errorf("emulator: key %d needs SecretID and SecretKey", i)
		}
		if slices.ContainsFunc(cfg.Keys[:i], func(o Key) bool { return o.SecretID == k.SecretID }) {
			return nil, fmt.Errorf("emulator: SecretID %s configured twice", k.SecretID)
		}
	}
	if err := cfg.Faults.Validate(); err != nil {
		return nil, err
	}
	st, err := newStore(cfg.StatePath)
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	newID := cfg.NewRequestID
	if newID == nil {
		newID = uuid.NewString
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	rps := cfg.RPS
	if rps == 0 {
		rps = DefaultRPS
	}
	return &Server{
		verifier: &tc3.Verifier{Keys: tc3.NewStaticKeys(cfg.Keys...), Service: Service, Now: now},
		validate: validator.New(),
		now:      now,
		newID:    newID,
		log:      logger,
		done:     make(chan struct{}),
		faults:   cfg.Faults,
		rng:      rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15)),
		limiter:  newSlidingWindow(rps),
		store:    st,
		stats:    newStats(),
	}, nil
}

// SetFaults replaces the injected faults; invalid ones are refused.
func (s *Server) SetFaults(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	return nil
}

// Faults returns the injected faults.
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// Contacts returns the stored contacts ordered by Id.
func (s *Server) Contacts() []Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store.snapshot()
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.clone()
}

// Close cuts short any injected latency (running or later) and flushes the
// state file. It is idempotent; the Server keeps answering afterwards, so
// call it before or after shutting the http.Server down.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		s.mu.Lock()
		defer s.mu.Unlock()
		err = s.store.flush()
	})
	return err
}

// wait sleeps for an injected latency, or less if the client gave up or the
// Server is closing.
func (s *Server) wait(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-s.done:
	}
}

// Stats counts the requests a Server answered.
type Stats struct {
	// Requests counts API requests (admin requests excluded).
	Requests int64
	// Codes counts answers by error code, StatOK, StatUnavailable,
	// StatDropped or StatNotAPI.
	Codes map[string]int64
	// Actions breaks the counts down by X-TC-Action ("(other)" for
	// anything that is not an emulated action).
	Actions map[string]ActionStats
}

// ActionStats counts one action's requests.
type ActionStats struct {
	Requests int64            // Every request for the action.
	Codes    map[string]int64 // Answers by code.
	// Accepted holds the arrival times (server clock) of the calls the rate
	// limiter admitted, in order of admission.
	Accepted []time.Time
}

func newStats() Stats {
	return Stats{Codes: map[string]int64{}, Actions: map[string]ActionStats{}}
}

func (st *Stats) count(action, code string) {
	st.Requests++
	st.Codes[code]++
	a := st.Actions[action]
	if a.Codes == nil {
		a.Codes = map[string]int64{}
	}
	a.Requests++
	a.Codes[code]++
	st.Actions[action] = a
}

func (st *Stats) accept(action string, at time.Time) {
	a := st.Actions[action]
	if a.Codes == nil {
		a.Codes = map[string]int64{}
	}
	a.Accepted = append(a.Accepted, at)
	st.Actions[action] = a
}

func (st Stats) clone() Stats {
	out := Stats{Requests: st.Requests, Codes: maps.Clone(st.Codes), Actions: make(map[string]ActionStats, len(st.Actions))}
	for k, a := range st.Actions {
		out.Actions[k] = ActionStats{Requests: a.Requests, Codes: maps.Clone(a.Codes), Accepted: slices.Clone(a.Accepted)}
	}
	return out
}
