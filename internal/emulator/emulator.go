// Package emulator is a local stand-in for the DBbrain API: AddUserContact
// and DescribeAllUserContact, versions 2019-10-16 and 2021-05-27, over one
// contact store, signed with TC3 or signature v1 (package signature), as
// JSON, query or form parameters. Answers are HTTP 200 JSON envelopes with
// a fresh RequestId, but for injected faults (a bare HTML 503, a closed
// connection) and non-API requests (404, or 405 with Allow).
//
// Checks, in order: body over 10 MB (RequestSizeLimitExceeded); signature
// (AuthFailure.*); Action, Version, Region (required by 2019-10-16 only); the
// rate limit (Config.RPS calls per account and action in any sliding
// second, shared by the account's keys); an injected InternalError or 503;
// parameters (missing, unknown, wrongly typed, invalid); the action; then
// the injected latency, and the answer or an injected drop.
//
// Each version keeps its documented rules: 2019-10-16 a unique Name of 2-60
// characters; 2021-05-27 a Name of at most 20 letters, digits, spaces and
// !@#$%^&*()_+-=（）, and a unique ContactInfo starting with a letter or
// digit. Neither documents the error for a duplicate: FailedOperation is a
// guess. Faults are drawn once per authenticated request from Config.Seed.
// Unsigned admin endpoints: GET and PUT /_emulator/faults
// ({"Drop":0.05,"Latency":"200ms"}; unknown fields refused),
// GET /_emulator/contacts, GET /_emulator/stats.
package emulator

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-playground/validator/v10"
	"github.com/google/uuid"

	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/signature"
)

// Codes that Stats counts besides the API error codes.
// Facts of the API that only the emulator needs.
const (
	// Version20210527 has the same contact actions with other rules.
	Version20210527 = "2021-05-27"
	// MaxNameLen20210527 bounds a name in that version.
	MaxNameLen20210527 = 20
	// MaxBodyBytes is API 3.0's limit on a POST body.
	MaxBodyBytes = 10 << 20
)

const (
	StatOK          = "OK"      // a success envelope
	StatUnavailable = "HTTP503" // injected bare 503
	StatDropped     = "Dropped" // injected closed connection
	statsOther      = "(other)" // Stats.Actions key for unknown actions
)

// Key is an API key pair the emulator accepts; a non-empty Token makes it a
// temporary key whose requests must carry it.
type Key struct {
	SecretID  string // The key's public id.
	SecretKey string // The signing secret.
	Token     string // The session token of a temporary key.
	Account   string // The owner ("" is the default account), whose rate limit it shares.
}

// NewTemporaryKey returns a fresh random temporary key of account, as SCF
// gives each function instance.
func NewTemporaryKey(account string) Key {
	return Key{SecretID: "AKIDLOCAL" + rand.Text(), SecretKey: rand.Text(), Token: rand.Text() + rand.Text(), Account: account}
}

// Config configures a Server.
type Config struct {
	Keys   []Key  // The accepted key pairs; at least one.
	Seed   int64  // Seeds the fault draws.
	Faults Faults // The initial faults.
	// RPS is the limit per account and action in any one-second window: 0
	// means dbbrain.RateLimit, a negative value unlimited.
	RPS int
	// StatePath is "" to keep contacts in memory; otherwise they live in
	// this file, in an existing directory, which several emulators may share.
	StatePath string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewRequestID makes RequestIds; nil means a fresh UUID v4 each.
	NewRequestID func() string
	// Logger gets one line per request, contact emails included: build it
	// with redact.NewLogger. Nil discards them.
	Logger *slog.Logger
}

// Server is the emulator, an http.Handler. It is safe for concurrent use
// and starts no goroutines.
type Server struct {
	verifier  *signature.Verifier
	accounts  map[string]string // SecretID to account
	validate  *validator.Validate
	now       func() time.Time
	newID     func() string
	log       *slog.Logger
	mux       *http.ServeMux
	done      chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex // guards everything below
	faults   Faults
	rng      *mrand.Rand
	limiter  *slidingWindow
	store    *store
	requests int64 // the Stats counters
	codes    map[string]int64
	actions  map[string]*ActionStats
}

// New makes a Server; it loads Config.StatePath if that file exists.
func New(cfg Config) (*Server, error) {
	if len(cfg.Keys) == 0 {
		return nil, errors.New("emulator: no keys configured")
	}
	keys, accounts := signature.KeyStore{}, map[string]string{}
	for i, k := range cfg.Keys {
		if _, dup := accounts[k.SecretID]; dup || k.SecretID == "" || k.SecretKey == "" {
			return nil, fmt.Errorf("emulator: key %d lacks a SecretID or SecretKey, or repeats a SecretID", i)
		}
		accounts[k.SecretID] = k.Account
		keys[k.SecretID] = signature.Key{SecretID: k.SecretID, SecretKey: k.SecretKey, Token: k.Token}
	}
	if err := cfg.Faults.Validate(); err != nil {
		return nil, err
	}
	st, err := newStore(cfg.StatePath)
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewRequestID == nil {
		cfg.NewRequestID = uuid.NewString
	}
	if cfg.RPS == 0 {
		cfg.RPS = dbbrain.RateLimit
	}
	s := &Server{
		verifier: &signature.Verifier{Keys: keys, Service: dbbrain.Service, Now: cfg.Now},
		accounts: accounts,
		validate: validator.New(),
		now:      cfg.Now,
		newID:    cfg.NewRequestID,
		log:      cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)),
		mux:      http.NewServeMux(),
		done:     make(chan struct{}),
		faults:   cfg.Faults,
		rng:      mrand.New(mrand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15)),
		limiter:  &slidingWindow{limit: cfg.RPS, arrivals: map[windowKey][]time.Time{}},
		store:    st,
		codes:    map[string]int64{},
		actions:  map[string]*ActionStats{},
	}
	s.mux.HandleFunc("GET /{$}", s.serveAPI)
	s.mux.HandleFunc("POST /{$}", s.serveAPI)
	s.adminRoutes(s.mux)
	return s, nil
}

// ServeHTTP serves the API at "/" and the admin endpoints under
// AdminPrefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

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

// Contacts returns the stored contacts ordered by Id, including those
// another process sharing the state file added.
func (s *Server) Contacts() []Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store.list()
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Stats{Requests: s.requests, Codes: maps.Clone(s.codes), Actions: map[string]ActionStats{}}
	for k, a := range s.actions {
		out.Actions[k] = ActionStats{Requests: a.Requests, Codes: maps.Clone(a.Codes),
			Accepted: slices.Clone(a.Accepted), Refused: slices.Clone(a.Refused)}
	}
	return out
}

// Close cuts short every injected latency, running or later. The state
// file needs no flush (each change is written as it is made). Close is
// idempotent and the Server keeps answering afterwards.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.done) })
	return nil
}

// Stats counts the API requests a Server answered.
type Stats struct {
	Requests int64 // API requests, admin and non-API requests excluded.
	// Codes counts answers by error code, StatOK, StatUnavailable or
	// StatDropped.
	Codes map[string]int64
	// Actions breaks the counts down by action ("(other)" for anything
	// that is not an emulated action).
	Actions map[string]ActionStats
}

// ActionStats counts one action's requests.
type ActionStats struct {
	Requests int64            // Every request for the action.
	Codes    map[string]int64 // Answers by code.
	// Accepted and Refused hold the arrival times (server clock) of the
	// calls the rate limiter admitted and refused, in order, so that a
	// bench can count both per second.
	Accepted []time.Time
	Refused  []time.Time
}

// admit asks the rate limiter about a call arriving at at and records the
// verdict in Stats.
func (s *Server) admit(k windowKey, at time.Time) (admitted bool, inWindow int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	admitted, inWindow = s.limiter.allow(k, at)
	if a := s.actionStats(k.action); admitted {
		a.Accepted = append(a.Accepted, at)
	} else {
		a.Refused = append(a.Refused, at)
	}
	return admitted, inWindow
}

// count records one answered request.
func (s *Server) count(action, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.codes[code]++
	a := s.actionStats(action)
	a.Requests++
	a.Codes[code]++
}

// actionStats returns an action's counters; s.mu must be held.
func (s *Server) actionStats(action string) *ActionStats {
	if s.actions[action] == nil {
		s.actions[action] = &ActionStats{Codes: map[string]int64{}}
	}
	return s.actions[action]
}
