// Package handler is the function: it takes one SCF event, registers the
// contact or contacts it asks for, and answers in the form its trigger
// expects.
//
// Handler.Invoke has the signature of scf-go-lib's cloudfunction.Handler,
// so the runtime calls it directly with the raw event bytes and tests drive
// it the same way. Taking raw bytes, rather than letting scf-go-lib
// unmarshal into a typed event, is what lets a malformed or empty event get
// an InvalidParameter answer instead of a bare runtime error.
package handler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/google/uuid"
	"github.com/tencentyun/scf-go-lib/functioncontext"
	"golang.org/x/time/rate"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/config"
	"github.com/scf-dbbrain/addusercontact/internal/contact"
	"github.com/scf-dbbrain/addusercontact/internal/credentials"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/envelope"
	"github.com/scf-dbbrain/addusercontact/internal/redact"
	"github.com/scf-dbbrain/addusercontact/internal/registrar"
	"github.com/scf-dbbrain/addusercontact/internal/trigger"
)

// Deps are the handler's dependencies; main wires the real ones.
type Deps struct {
	// Getenv reads the environment on every invocation.
	Getenv func(string) string
	// Log receives one JSON line per invocation (and attempt lines).
	Log io.Writer
	// Transport carries every DBbrain call of the process.
	Transport http.RoundTripper
	// Fallback credential providers after the environment.
	Fallback []credentials.Provider
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewRequestID names invocations that came without a RequestId; nil
	// means uuid.NewString.
	NewRequestID func() string
	// Backoff overrides the registrar's backoff (tests use it).
	Backoff registrar.BackoffFactory
	// Retry overrides the registrar's retry policy.
	Retry registrar.RetryPolicy
}

// Handler serves invocations. One lives per process; it is safe for
// concurrent use.
type Handler struct {
	deps      Deps
	validator *contact.Validator
	limiter   *rate.Limiter
	estimator *registrar.Estimator
	level     *slog.LevelVar
	log       *slog.Logger
}

// New returns a Handler. It fails when the configuration in the environment
// is invalid, so that a misconfigured deployment fails at start-up.
func New(d Deps) (*Handler, error) {
	cfg, err := config.Load(d.Getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	v, err := contact.NewValidator()
	if err != nil {
		return nil, fmt.Errorf("building the contact validator: %w", err)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.NewRequestID == nil {
		d.NewRequestID = uuid.NewString
	}
	if d.Log == nil {
		d.Log = io.Discard
	}
	level := new(slog.LevelVar)
	level.Set(cfg.LogLevel)
	return &Handler{
		deps:      d,
		validator: v,
		limiter:   registrar.NewLimiter(cfg.RPS),
		estimator: registrar.NewEstimator(),
		level:     level,
		log:       slog.New(slog.NewJSONHandler(d.Log, &slog.HandlerOptions{Level: level})),
	}, nil
}

// Close releases idle connections; a process calls it on the way out.
func (h *Handler) Close() {
	if t, ok := h.deps.Transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
}

// RetryableError is returned to the runtime, as a function error, when a
// timer or direct invocation failed in a way a retry can fix, so that SCF's
// asynchronous retry (or the workflow's) runs. Its text is the response
// envelope, so a synchronous caller still learns the code, the message and,
// for a batch, which contacts did succeed.
type RetryableError struct {
	Code     string // The code of the failure, or PartialSuccess/Failed for a batch.
	Envelope []byte // The answer the caller would have got.
}

// Error is the envelope with every address masked: SCF logs function errors,
// and an upstream message may quote the address it refused.
func (e *RetryableError) Error() string { return redact.Emails(string(e.Envelope)) }

// invocation is what one Invoke learned, for the answer and the log line.
type invocation struct {
	requestID  string
	kind       trigger.Kind
	start      time.Time
	err        error // whole-request failure
	batch      bool
	single     registrar.Outcome
	email      string
	results    []envelope.Result
	failed     int
	attempts   int
	upstreamID string
}

// Invoke handles one event.
func (h *Handler) Invoke(ctx context.Context, payload []byte) (out []byte, err error) {
	inv := &invocation{requestID: h.requestID(ctx), kind: trigger.Direct, start: h.deps.Now()}
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
	ev, err := trigger.Decode(payload)
	inv.kind = ev.Kind
	cfg, cerr := config.Load(h.deps.Getenv)
	if cerr != nil {
		inv.err = cerr
		return
	}
	h.apply(cfg)
	if err != nil {
		inv.err = err
		return
	}
	req, err := h.validator.Parse(ev.Params, cfg.Region)
	if err != nil {
		inv.err = err
		return
	}
	inv.batch = req.Batch
	if !req.Batch {
		inv.email = redact.Email(req.Items[0].Contact.ContactInfo)
	}
	if err := checkMargin(ctx, cfg); err != nil {
		inv.err = err
		return
	}
	// Looking for credentials keeps the margin too, so that "no
	// credentials" is still answered when a fallback provider hangs.
	credCtx, cancel := context.WithDeadline(ctx, registrar.WorkDeadline(ctx, h.deps.Now(), cfg.Margin))
	cred, err := credentials.Resolver{Getenv: h.deps.Getenv, Fallback: h.deps.Fallback}.Resolve(credCtx)
	cancel()
	if err != nil {
		inv.err = err
		return
	}
	log := h.log.With("request_id", inv.requestID)
	log.Debug("credential", "credential", cred, "endpoint", cfg.Endpoint.URL(), "region", cfg.Region)
	reg := &registrar.Registrar{
		API:         dbbrain.NewClient(cfg.Region, cfg.Endpoint, h.deps.Transport),
		Credential:  cred.SDK(),
		Limiter:     h.limiter,
		Estimator:   h.estimator,
		Concurrency: cfg.Concurrency,
		Margin:      cfg.Margin,
		Retry:       h.deps.Retry,
		Backoff:     h.deps.Backoff,
		Logger:      log,
		Now:         h.deps.Now,
	}
	if !req.Batch {
		o := reg.Register(ctx, req.Items[0].Contact)
		inv.single, inv.attempts, inv.upstreamID = o, o.Attempts, o.RequestID
		if o.Err != nil {
			inv.err = o.Err
			inv.upstreamID = apierror.As(o.Err).RequestID
		}
		return
	}
	h.serveBatch(ctx, inv, reg, req.Items)
}

func (h *Handler) serveBatch(ctx context.Context, inv *invocation, reg *registrar.Registrar, items []contact.Item) {
	var valid []contact.Contact
	var at []int
	inv.results = make([]envelope.Result, len(items))
	for i, it := range items {
		inv.results[i].Name = it.Name
		if it.Err != nil {
			inv.results[i].Error = errorBody(it.Err)
			continue
		}
		valid = append(valid, it.Contact)
		at = append(at, i)
	}
	for j, o := range reg.RegisterBatch(ctx, valid) {
		r := &inv.results[at[j]]
		inv.attempts += o.Attempts
		if o.Err != nil {
			r.Error = errorBody(o.Err)
			continue
		}
		id := o.ID
		r.ID = &id
	}
	for _, r := range inv.results {
		if r.Error != nil {
			inv.failed++
		}
	}
}

// retryable reports whether a retry of the invocation can fix what failed:
// the whole request's failure, or any batch item's.
func (inv *invocation) retryable() bool {
	if inv.err != nil {
		return apierror.Retryable(apierror.CodeOf(inv.err))
	}
	for _, r := range inv.results {
		if r.Error != nil && apierror.Retryable(r.Error.Code) {
			return true
		}
	}
	return false
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

func errorBody(err error) *envelope.ErrorBody {
	e := apierror.As(err)
	return &envelope.ErrorBody{Code: e.Code, Message: apierror.Clip(e.Message)}
}

// apply adopts settings that live in process-wide state.
func (h *Handler) apply(cfg config.Config) {
	h.level.Set(cfg.LogLevel)
	if want := rate.Limit(cfg.RPS * registrar.Pacing); h.limiter.Limit() != want {
		h.limiter.SetLimit(want)
	}
}

// answer renders the invocation in its trigger's form.
func (h *Handler) answer(inv *invocation) ([]byte, error) {
	var body []byte
	status := http.StatusOK
	switch {
	case inv.err != nil:
		body = envelope.Error(inv.err, inv.requestID)
		status = apierror.HTTPStatus(apierror.CodeOf(inv.err))
	case inv.batch:
		body = envelope.Batch(inv.results, inv.requestID)
		if inv.failed > 0 {
			status = http.StatusMultiStatus
		}
	default:
		body = envelope.Success(inv.single.ID, inv.single.RequestID)
	}
	if inv.kind.HTTP() {
		allow := errors.Is(inv.err, trigger.ErrMethodNotAllowed)
		// HTTP triggers are synchronous and never retried by the platform:
		// the caller gets the status and decides.
		out, err := envelope.JSON(trigger.NewHTTPResponse(status, body, allow))
		if err != nil {
			return nil, fmt.Errorf("encoding the integration response: %w", err)
		}
		return out, nil
	}
	if inv.retryable() {
		return nil, &RetryableError{Code: h.outcome(inv), Envelope: body}
	}
	return body, nil
}

func (h *Handler) outcome(inv *invocation) string {
	switch {
	case inv.err != nil:
		return apierror.CodeOf(inv.err)
	case inv.batch && inv.failed == len(inv.results):
		return "Failed"
	case inv.batch && inv.failed > 0:
		return "PartialSuccess"
	}
	return "Success"
}

func (h *Handler) logInvocation(ctx context.Context, inv *invocation) {
	outcome := h.outcome(inv)
	level := slog.LevelInfo
	switch {
	case inv.retryable() || apierror.HTTPStatus(apierror.CodeOf(inv.err)) >= 500:
		level = slog.LevelError
	case inv.err != nil || inv.failed > 0:
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("request_id", inv.requestID),
		slog.String("trigger", string(inv.kind)),
		slog.String("outcome", outcome),
		slog.String("upstream_request_id", inv.upstreamID),
		slog.Float64("duration_ms", float64(h.deps.Now().Sub(inv.start).Microseconds())/1000),
		slog.Int("attempts", inv.attempts),
	}
	if inv.err != nil {
		attrs = append(attrs, slog.String("message", redact.Emails(apierror.Clip(apierror.As(inv.err).Message))))
	}
	if inv.batch {
		attrs = append(attrs, slog.Int("contacts", len(inv.results)), slog.Int("failed", inv.failed))
	} else if inv.email != "" {
		attrs = append(attrs, slog.String("email", inv.email))
	}
	h.log.LogAttrs(ctx, level, "invocation", attrs...)
}

func (h *Handler) requestID(ctx context.Context) string {
	if fc, ok := functioncontext.FromContext(ctx); ok && fc.RequestID != "" {
		return fc.RequestID
	}
	return h.deps.NewRequestID()
}
