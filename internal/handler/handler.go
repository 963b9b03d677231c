// Package handler is the function: it takes one SCF event, registers the
// contacts it asks for, and answers in the form its trigger expects. Invoke
// takes the raw event (scf-go-lib's cloudfunction.Handler), so that a
// malformed one gets an InvalidParameter answer, not a bare runtime error.
package handler

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
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

// Deps are the handler's dependencies; nil ones get the defaults noted.
type Deps struct {
	Getenv         func(string) string      // The configuration, once in New, and the role's credentials, every invocation.
	Log            io.Writer                // One JSON line per invocation, and WARN lines for what needs attention; nil discards them.
	Transport      http.RoundTripper        // Every DBbrain call; nil means one sized for the configured concurrency.
	Fallback       common.Provider          // Credentials after the role's variables; nil means config.DefaultFallback.
	Now            func() time.Time         // The clock; nil means time.Now.
	NewRequestID   func() string            // Names invocations without a RequestId; nil means uuid.NewString.
	Backoff        registrar.BackoffFactory // Overrides the registrar's (tests use it).
	CheckRetry     registrar.CheckRetry     // Overrides the registrar's (tests use it).
	SetMemoryLimit func(int64) int64        // Applies the soft memory limit; nil means debug.SetMemoryLimit.
}

// Handler serves invocations; one per process, safe for concurrent use.
type Handler struct {
	deps          Deps
	cfg           config.Config
	cfgErr        error // a bad configuration, answered to every invocation
	decoder       *contact.Decoder
	adds, lookups *registrar.Pacer
	log           *slog.Logger
	memoryLimit   sync.Once
}

// New returns a Handler. A bad configuration does not stop the process but
// answers every invocation, so that callers learn what is wrong.
func New(d Deps) (*Handler, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	d.Log = cmp.Or(d.Log, io.Writer(io.Discard))
	if d.NewRequestID == nil {
		d.NewRequestID = uuid.NewString
	}
	if d.SetMemoryLimit == nil {
		d.SetMemoryLimit = debug.SetMemoryLimit
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

// MemoryShare is the percentage of the instance's memory the Go runtime aims
// to stay within, rather than let the heap grow to twice what is live.
const MemoryShare = 40

// MaxFailures bounds the failures of a delivery kept one by one: past it, a
// message's failed contacts are one failure, its first, with their count.
const MaxFailures = 10_000

// invocation is what one Invoke learned, for the answer and the log line.
type invocation struct {
	requestID string
	source    Source
	start     time.Time
	timeLimit time.Duration     // the function's timeout, if known
	err       error             // the whole request's failure, or the single contact's
	batch     bool              // the answer takes the batch form
	items     []item            // the contacts, in order
	contacts  []contact.Contact // the valid ones, in order, for the registrar
	records   []string          // a record trigger's coordinates, by record
}

// item is one contact, or what stood in for one (an unreadable record).
type item struct {
	record int               // its record's index, or -1
	name   string            // as given, for the answer
	out    registrar.Outcome // Err set when it failed before or during registration
}

// Invoke handles one event.
func (h *Handler) Invoke(ctx context.Context, payload []byte) (out []byte, err error) {
	fc, _ := functioncontext.FromContext(ctx)
	fc = cmp.Or(fc, &functioncontext.FunctionContext{}) // none outside SCF
	inv := &invocation{requestID: fc.RequestID, source: Direct, start: h.deps.Now(),
		timeLimit: time.Duration(fc.TimeLimitInMs) * time.Millisecond}
	if inv.requestID == "" {
		inv.requestID = h.deps.NewRequestID()
	}
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("panic", "request_id", inv.requestID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			inv.err = apierror.E(apierror.Transient, apierror.InternalError, "the function failed unexpectedly; the failure is logged under this RequestId")
			inv.batch = false
			out, err = h.answer(inv)
		}
		h.logInvocation(ctx, inv)
	}()
	if fc.MemoryLimitInMb > 0 {
		h.memoryLimit.Do(func() {
			if h.deps.Getenv("GOMEMLIMIT") == "" { // the runtime has read it
				h.deps.SetMemoryLimit(int64(fc.MemoryLimitInMb) << 20 * MemoryShare / 100)
			}
		})
	}
	h.serve(ctx, inv, payload)
	return h.answer(inv)
}

func (h *Handler) serve(ctx context.Context, inv *invocation, payload []byte) {
	d, err := read(payload)
	inv.source = d.source
	if inv.err = cmp.Or(h.cfgErr, err); inv.err != nil {
		return
	}
	inv.batch = d.source.records()
	failures := 0
	for i, r := range d.records {
		d.records[i] = record{} // its contacts replace it: a delivery is held once
		inv.records = append(inv.records, r.coords)
		req, err := contact.Request{}, r.err
		if err == nil {
			req, err = h.decoder.Decode(r.params, h.cfg.Region)
		}
		if err != nil { // the whole message: one failed item
			name, _, _ := r.params.String("Name")
			req.Items = []contact.Item{{Name: apierror.ClipRunes(name, dbbrain.MaxNameLen), Err: err}}
		}
		failures += inv.add(i, req.Items, failures > MaxFailures)
	}
	if !inv.batch {
		req, err := h.decoder.Decode(d.params, h.cfg.Region)
		if inv.err = err; err != nil {
			return
		}
		inv.batch = req.Batch
		inv.add(-1, req.Items, false)
	}
	if inv.err = h.register(ctx, inv); inv.err == nil && !inv.batch {
		inv.err = inv.items[0].out.Err
	}
}

// add appends a message's items, and its valid contacts to those to register.
// Past MaxFailures (collapse) it keeps only the first failure, which then
// counts the others: the record's verdict is the same.
func (inv *invocation) add(record int, items []contact.Item, collapse bool) (failed int) {
	at := 0 // the first failure's place in inv.items
	for _, it := range items {
		if it.Err == nil {
			inv.contacts = append(inv.contacts, it.Contact)
		} else if failed++; failed == 1 {
			at = len(inv.items)
		} else if collapse {
			continue
		}
		inv.items = append(inv.items, item{record: record, name: it.Name, out: registrar.Outcome{Err: it.Err}})
	}
	if collapse && failed > 1 {
		e := *apierror.From(inv.items[at].out.Err)
		e.Message = fmt.Sprintf("%s (and %d more contacts of this message failed)", e.Message, failed-1)
		inv.items[at].out.Err = &e
	}
	return failed
}

// register registers the valid contacts in one call of the registrar, with
// the credentials found afresh. A delivery or a batch looks its names up
// first; a single contact is sent at once, so that it costs one request.
func (h *Handler) register(ctx context.Context, inv *invocation) error {
	if len(inv.contacts) == 0 {
		return nil
	}
	if inv.timeLimit > 0 && h.cfg.Margin >= inv.timeLimit { // else every contact would be "not attempted"
		return apierror.E(apierror.Setup, apierror.InvalidConfiguration, "%s is %s, which leaves nothing of the function's %s timeout; keep it well below the timeout",
			config.EnvMargin, h.cfg.Margin, inv.timeLimit)
	}
	// The margin is kept, so that "no credentials" is answered if a provider hangs.
	credCtx, cancel := context.WithDeadline(ctx, registrar.WorkDeadline(ctx, h.deps.Now(), h.cfg.Margin))
	cred, source, err := config.Credentials{Getenv: h.deps.Getenv, Fallback: h.deps.Fallback}.Resolve(credCtx)
	cancel()
	if err != nil {
		return err
	}
	log := h.log.With("request_id", inv.requestID)
	log.Debug("credential", "source", source, "secret_id", cred.GetSecretId(), "temporary", cred.GetToken() != "",
		"endpoint", h.cfg.Endpoint.URL(), "region", h.cfg.Region)
	outcomes := (&registrar.Registrar{
		API:         dbbrain.NewClient(h.cfg.Region, h.cfg.Endpoint, h.deps.Transport),
		Credential:  cred,
		Adds:        h.adds,
		Lookups:     h.lookups,
		Concurrency: h.cfg.Concurrency,
		LookFirst:   inv.source.records() || inv.batch,
		Margin:      h.cfg.Margin,
		CheckRetry:  h.deps.CheckRetry,
		Backoff:     h.deps.Backoff,
		Logger:      log,
		Now:         h.deps.Now,
	}).Register(ctx, inv.contacts)
	for i := range inv.items {
		if inv.items[i].out.Err == nil { // the valid ones, in the order of inv.contacts
			inv.items[i].out, outcomes = outcomes[0], outcomes[1:]
		}
	}
	return nil
}
