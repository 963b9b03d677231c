// Package handler is the function: it takes one SCF event, registers the
// contacts it asks for, and answers in the form its trigger expects.
//
// Handler.Invoke has the signature of scf-go-lib's cloudfunction.Handler, so
// the runtime calls it with the raw event bytes and tests drive it the same
// way; taking raw bytes is what lets a malformed or empty event get an
// InvalidParameter answer instead of a bare runtime error. One event's path:
// read.go tells the trigger and reads the request or the records,
// contact.Decoder checks them, registrar calls DBbrain, and answer.go gives
// each record its verdict and renders the answer.
package handler

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/google/uuid"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentyun/scf-go-lib/functioncontext"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/config"
	"github.com/scf-dbbrain/addusercontact/internal/contact"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/redact"
	"github.com/scf-dbbrain/addusercontact/internal/registrar"
)

// Deps are the handler's dependencies; main wires the real ones.
type Deps struct {
	// Getenv reads the environment: the configuration once, in New, and the
	// role's credentials on every invocation.
	Getenv func(string) string
	// Log receives one JSON line per invocation, and WARN lines for what
	// needs attention.
	Log io.Writer
	// Transport carries every DBbrain call of the process; nil means one
	// sized for the configured concurrency.
	Transport http.RoundTripper
	// Fallback credential provider after the role's variables; nil means the
	// SDK's chain (config.DefaultFallback).
	Fallback common.Provider
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewRequestID names invocations that came without a RequestId; nil
	// means uuid.NewString.
	NewRequestID func() string
	// Backoff and CheckRetry override the registrar's (tests use them).
	Backoff    registrar.BackoffFactory
	CheckRetry registrar.CheckRetry
}

// Handler serves invocations. One lives per process; it is safe for
// concurrent use.
type Handler struct {
	deps    Deps
	cfg     config.Config
	cfgErr  error // a bad configuration, answered to every invocation
	decoder *contact.Decoder
	adds    *registrar.Pacer
	lookups *registrar.Pacer
	log     *slog.Logger
}

// New returns a Handler. It reads the configuration once; a bad one does not
// stop the process but is the answer to every invocation, so that callers
// learn what is wrong instead of meeting a runtime that never starts.
func New(d Deps) (*Handler, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.NewRequestID == nil {
		d.NewRequestID = uuid.NewString
	}
	if d.Log == nil {
		d.Log = io.Discard
	}
	dec, err := contact.NewDecoder()
	if err != nil {
		return nil, fmt.Errorf("building the contact decoder: %w", err)
	}
	cfg, cfgErr := config.Load(d.Getenv)
	if d.Transport == nil {
		d.Transport = dbbrain.NewTransport(max(cfg.Concurrency, 8))
	}
	h := &Handler{
		deps: d, cfg: cfg, cfgErr: cfgErr, decoder: dec,
		adds:    registrar.NewPacer(cfg.RPS, d.Now),
		lookups: registrar.NewPacer(cfg.RPS, d.Now),
		log:     redact.NewLogger(d.Log, cfg.LogLevel),
	}
	if cfgErr != nil {
		h.log.Error("invalid configuration", "error", cfgErr)
	} else {
		h.log.Info("starting", "config", cfg.String())
	}
	return h, nil
}

// Close releases idle connections; a process calls it on the way out.
func (h *Handler) Close() {
	if t, ok := h.deps.Transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
}

// invocation is what one Invoke learned, for the answer and the log line.
type invocation struct {
	requestID string
	source    Source
	start     time.Time
	// err is the failure of the whole request: an event or request that
	// cannot be used, the configuration, the credentials, or the single
	// contact's own outcome.
	err     error
	batch   bool     // the answer takes the batch form
	items   []item   // the contacts, in order
	records []string // a record trigger's coordinates, by record
	single  registrar.Outcome
}

// item is one contact of the invocation, or what stood in for one: a record
// that could not be read, a batch item that broke a rule.
type item struct {
	record  int    // its record's index, for record triggers
	name    string // as given, for the answer
	contact contact.Contact
	out     registrar.Outcome // Err set when it failed before or during registration
}

// Invoke handles one event.
func (h *Handler) Invoke(ctx context.Context, payload []byte) (out []byte, err error) {
	inv := &invocation{requestID: h.requestID(ctx), source: Direct, start: h.deps.Now()}
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("panic", "request_id", inv.requestID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			inv.err = apierror.E(apierror.Transient, apierror.InternalError, "the function failed unexpectedly; the failure is logged under this RequestId")
			inv.batch = false
			out, err = h.answer(inv)
		}
		h.logInvocation(ctx, inv)
	}()
	h.serve(ctx, inv, payload)
	return h.answer(inv)
}

func (h *Handler) serve(ctx context.Context, inv *invocation, payload []byte) {
	d, err := read(payload)
	inv.source = d.source
	switch {
	case h.cfgErr != nil:
		inv.err = h.cfgErr
		return
	case err != nil:
		inv.err = err
		return
	case d.source.records():
		inv.batch = true
		for i, r := range d.records {
			inv.records = append(inv.records, r.coords)
			req, err := contact.Request{}, r.err
			if err == nil {
				req, err = h.decoder.Decode(r.params, h.cfg.Region)
			}
			if err != nil { // the whole message: one failed item
				name, _, _ := r.params.String("Name")
				inv.items = append(inv.items, item{record: i, name: apierror.ClipRunes(name, dbbrain.MaxNameLen), out: registrar.Outcome{Err: err}})
				continue
			}
			inv.addItems(i, req)
		}
	default:
		req, err := h.decoder.Decode(d.params, h.cfg.Region)
		if err != nil {
			inv.err = err
			return
		}
		inv.batch = req.Batch
		inv.addItems(-1, req)
	}
	h.register(ctx, inv)
}

func (inv *invocation) addItems(record int, req contact.Request) {
	for _, it := range req.Items {
		inv.items = append(inv.items, item{record: record, name: it.Name, contact: it.Contact, out: registrar.Outcome{Err: it.Err}})
	}
}

// register registers every item not failed yet, in one call of the
// registrar, and fills in the outcomes.
func (h *Handler) register(ctx context.Context, inv *invocation) {
	var valid []contact.Contact
	var at []int
	for i, it := range inv.items {
		if it.out.Err == nil {
			valid = append(valid, it.contact)
			at = append(at, i)
		}
	}
	if len(valid) > 0 {
		reg, err := h.registrar(ctx, inv, len(valid))
		if err != nil {
			inv.err = err
			return
		}
		for j, o := range reg.Register(ctx, valid) {
			inv.items[at[j]].out = o
		}
	}
	if !inv.batch {
		inv.single = inv.items[0].out
		inv.err = inv.single.Err
	}
}

// registrar builds the invocation's registrar: the margin checked against
// the function's time limit, and the credentials found afresh. A record
// trigger's delivery, and any batch, looks its names up first; a single
// contact over HTTP, a timer or a direct call is sent at once, so that it
// costs one request.
func (h *Handler) registrar(ctx context.Context, inv *invocation, n int) (*registrar.Registrar, error) {
	if err := checkMargin(ctx, h.cfg); err != nil {
		return nil, err
	}
	// Looking for credentials keeps the margin too, so that "no
	// credentials" is still answered when a fallback provider hangs.
	credCtx, cancel := context.WithDeadline(ctx, registrar.WorkDeadline(ctx, h.deps.Now(), h.cfg.Margin))
	cred, source, err := config.Credentials{Getenv: h.deps.Getenv, Fallback: h.deps.Fallback}.Resolve(credCtx)
	cancel()
	if err != nil {
		return nil, err
	}
	log := h.log.With("request_id", inv.requestID)
	log.Debug("credential", "source", source, "secret_id", cred.GetSecretId(), "temporary", cred.GetToken() != "",
		"endpoint", h.cfg.Endpoint.URL(), "region", h.cfg.Region)
	return &registrar.Registrar{
		API:         dbbrain.NewClient(h.cfg.Region, h.cfg.Endpoint, h.deps.Transport),
		Credential:  cred,
		Adds:        h.adds,
		Lookups:     h.lookups,
		Concurrency: h.cfg.Concurrency,
		LookFirst:   inv.source.records() || n > 1,
		Margin:      h.cfg.Margin,
		CheckRetry:  h.deps.CheckRetry,
		Backoff:     h.deps.Backoff,
		Logger:      log,
		Now:         h.deps.Now,
	}, nil
}

// checkMargin refuses a margin that leaves no time at all within the
// function's time limit: every invocation would end "not attempted" and be
// retried for ever.
func checkMargin(ctx context.Context, cfg config.Config) error {
	fc, ok := functioncontext.FromContext(ctx)
	if !ok || fc.TimeLimitInMs <= 0 {
		return nil
	}
	limit := time.Duration(fc.TimeLimitInMs) * time.Millisecond
	if cfg.Margin >= limit {
		return apierror.E(apierror.Setup, apierror.InvalidConfiguration, "%s is %s, which leaves nothing of the function's %s timeout; keep it well below the timeout",
			config.EnvMargin, cfg.Margin, limit)
	}
	return nil
}

func (h *Handler) requestID(ctx context.Context) string {
	if fc, ok := functioncontext.FromContext(ctx); ok && fc.RequestID != "" {
		return fc.RequestID
	}
	return h.deps.NewRequestID()
}
