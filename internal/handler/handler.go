// Package handler is the function: it takes one SCF event, registers the
// contacts it asks for, and answers in the form its trigger expects.
//
// Handler.Invoke has the signature of scf-go-lib's cloudfunction.Handler, so
// the runtime calls it with the raw event bytes and tests drive it the same
// way; taking raw bytes is what lets a malformed or empty event get an
// InvalidParameter answer instead of a bare runtime error. One event's path:
// event.Decode tells the trigger and finds the request, contact.Decoder
// checks it, registrar calls DBbrain, and answer.go renders the envelope.
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
	"github.com/tencentyun/scf-go-lib/functioncontext"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/config"
	"github.com/scf-dbbrain/addusercontact/internal/contact"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/event"
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
	// Fallback credential providers after the environment.
	Fallback []config.Provider
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
	requestID  string
	source     event.Source
	start      time.Time
	err        error // whole-request failure
	final      bool  // err lies in the event itself: no redelivery can help
	batch      bool
	single     registrar.Outcome
	email      string
	results    []Result
	failed     int
	attempts   int
	upstreamID string
}

// Invoke handles one event.
func (h *Handler) Invoke(ctx context.Context, payload []byte) (out []byte, err error) {
	inv := &invocation{requestID: h.requestID(ctx), source: event.Direct, start: h.deps.Now()}
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("panic", "request_id", inv.requestID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			inv.err = apierror.New(apierror.InternalError, "the function failed unexpectedly; the failure is logged under this RequestId")
			inv.batch = false
			out, err = h.answer(inv)
		}
		h.logInvocation(ctx, inv)
	}()
	h.serve(ctx, inv, payload)
	return h.answer(inv)
}

func (h *Handler) serve(ctx context.Context, inv *invocation, payload []byte) {
	ev, err := event.Decode(payload)
	inv.source = ev.Source
	switch {
	case h.cfgErr != nil:
		inv.err = h.cfgErr
		return
	case err != nil:
		inv.err, inv.final = err, true // the event itself is unusable
		return
	case ev.Source.Records():
		h.serveRecords(ctx, inv, ev.Messages)
		return
	}
	req, err := h.decoder.Decode(ev.Request, h.cfg.Region)
	if err != nil {
		inv.err = err
		return
	}
	inv.batch = req.Batch
	reg, err := h.registrar(ctx, inv)
	if err != nil {
		inv.err = err
		return
	}
	if !req.Batch {
		c := req.Items[0].Contact
		inv.email = c.ContactInfo // masked by the logger
		o := reg.Register(ctx, c)
		inv.single, inv.attempts, inv.upstreamID = o, o.Attempts, o.RequestID
		if o.Err != nil {
			inv.err = o.Err
			inv.upstreamID = apierror.From(o.Err).RequestID
		}
		return
	}
	for _, it := range req.Items {
		inv.results = append(inv.results, Result{Name: it.Name, Error: errorBody(it.Err), contact: it.Contact, final: it.Err != nil})
	}
	h.registerResults(ctx, inv, reg)
}

// serveRecords registers the contacts of a CKafka, CMQ or EventBridge
// delivery. A message that cannot be read, or whose contacts break a rule,
// can never be registered as sent: it is reported and logged, and the others
// proceed.
func (h *Handler) serveRecords(ctx context.Context, inv *invocation, messages []event.Message) {
	inv.batch = true
	reg, err := h.registrar(ctx, inv)
	if err != nil {
		inv.err = err
		return
	}
	for _, m := range messages {
		if m.Err != nil {
			inv.results = append(inv.results, Result{Record: m.Record, Error: errorBody(m.Err), final: true})
			continue
		}
		req, err := h.decoder.Decode(m.Params, h.cfg.Region)
		if err != nil {
			name, _, _ := m.Params.String("Name")
			inv.results = append(inv.results, Result{Record: m.Record, Name: apierror.ClipRunes(name, dbbrain.MaxNameLen), Error: errorBody(err), final: true})
			continue
		}
		for _, it := range req.Items {
			inv.results = append(inv.results, Result{Record: m.Record, Name: it.Name, Error: errorBody(it.Err), contact: it.Contact, final: it.Err != nil})
		}
	}
	h.registerResults(ctx, inv, reg)
}

// registerResults registers the contacts of every result not yet failed, in
// one batch, and fills in their outcomes.
func (h *Handler) registerResults(ctx context.Context, inv *invocation, reg *registrar.Registrar) {
	var valid []contact.Contact
	var at []int
	for i, r := range inv.results {
		if r.Error == nil {
			valid = append(valid, r.contact)
			at = append(at, i)
		}
	}
	for j, o := range reg.RegisterBatch(ctx, valid) {
		r := &inv.results[at[j]]
		inv.attempts += o.Attempts
		if o.Err != nil {
			r.Error, r.final = errorBody(o.Err), final(o)
			continue
		}
		id := o.ID
		r.ID = &id
	}
	for _, r := range inv.results {
		if r.Error == nil {
			continue
		}
		inv.failed++
		if inv.source.Records() && r.final {
			h.log.Warn("record not registered: it can never be as sent", "request_id", inv.requestID, "trigger", string(inv.source),
				"record", r.Record, "name", r.Name, "code", r.Error.Code, "message", r.Error.Message)
		}
	}
}

// registrar builds the invocation's registrar: the margin checked against
// the function's time limit, and the credentials found afresh.
func (h *Handler) registrar(ctx context.Context, inv *invocation) (*registrar.Registrar, error) {
	if err := checkMargin(ctx, h.cfg); err != nil {
		return nil, err
	}
	// Looking for credentials keeps the margin too, so that "no
	// credentials" is still answered when a fallback provider hangs.
	credCtx, cancel := context.WithDeadline(ctx, registrar.WorkDeadline(ctx, h.deps.Now(), h.cfg.Margin))
	cred, err := config.Resolver{Getenv: h.deps.Getenv, Fallback: h.deps.Fallback}.Resolve(credCtx)
	cancel()
	if err != nil {
		return nil, err
	}
	log := h.log.With("request_id", inv.requestID)
	log.Debug("credential", "credential", cred, "endpoint", h.cfg.Endpoint.URL(), "region", h.cfg.Region)
	return &registrar.Registrar{
		API:         dbbrain.NewClient(h.cfg.Region, h.cfg.Endpoint, h.deps.Transport),
		Credential:  cred.SDK(),
		Adds:        h.adds,
		Lookups:     h.lookups,
		Concurrency: h.cfg.Concurrency,
		LookFirst:   inv.source.Records(),
		Margin:      h.cfg.Margin,
		CheckRetry:  h.deps.CheckRetry,
		Backoff:     h.deps.Backoff,
		Logger:      log,
		Now:         h.deps.Now,
	}, nil
}

// checkMargin refuses a margin that leaves no time at all within the
// function's time limit: every invocation would end "not attempted" and,
// being retryable, be retried for ever.
func checkMargin(ctx context.Context, cfg config.Config) error {
	fc, ok := functioncontext.FromContext(ctx)
	if !ok || fc.TimeLimitInMs <= 0 {
		return nil
	}
	limit := time.Duration(fc.TimeLimitInMs) * time.Millisecond
	if cfg.Margin >= limit {
		return apierror.New(apierror.InvalidConfiguration, "%s is %s, which leaves nothing of the function's %s timeout; keep it well below the timeout",
			config.EnvMargin, cfg.Margin, limit)
	}
	return nil
}

func (h *Handler) logInvocation(ctx context.Context, inv *invocation) {
	level := slog.LevelInfo
	switch {
	case inv.redeliver() || httpStatus(inv.err) >= 500:
		level = slog.LevelError
	case inv.err != nil || inv.failed > 0:
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("request_id", inv.requestID),
		slog.String("trigger", string(inv.source)),
		slog.String("outcome", inv.outcome()),
		slog.String("upstream_request_id", inv.upstreamID),
		slog.Float64("duration_ms", float64(h.deps.Now().Sub(inv.start).Microseconds())/1000),
		slog.Int("attempts", inv.attempts),
		slog.Float64("pace_rps", h.adds.Rate()),
	}
	if inv.err != nil {
		attrs = append(attrs, slog.String("message", apierror.Clip(apierror.From(inv.err).Message, apierror.MaxMessage)))
	}
	if inv.batch {
		attrs = append(attrs, slog.Int("contacts", len(inv.results)), slog.Int("failed", inv.failed))
	} else if inv.email != "" {
		attrs = append(attrs, slog.String("email", inv.email))
	}
	if inv.source.Records() {
		attrs = append(attrs, slog.Bool("redeliver", inv.redeliver()))
	}
	h.log.LogAttrs(ctx, level, "invocation", attrs...)
}

func (h *Handler) requestID(ctx context.Context) string {
	if fc, ok := functioncontext.FromContext(ctx); ok && fc.RequestID != "" {
		return fc.RequestID
	}
	return h.deps.NewRequestID()
}
