package scflocal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/rpc"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"

	"github.com/scf-dbbrain/addusercontact/internal/syncio"
)

// ErrClosed is returned by Invoke after Close.
var ErrClosed = errors.New("scflocal: runtime closed")

// deadlineGrace is how long after the deadline an answer is still accepted,
// so that a function that stops exactly at its context's deadline is
// reported with its own answer rather than as a timeout.
const deadlineGrace = 200 * time.Millisecond

// Runtime is one local function instance, started by Start. It serves one
// invocation at a time (concurrent Invoke calls queue), restarts the process
// after a timeout, a panic or a crash (the next Invoke is a cold start), and
// must be closed.
type Runtime struct {
	cfg Config
	log *syncio.Writer

	// invokeMu serialises invocations: an SCF instance handles one request
	// at a time.
	invokeMu sync.Mutex

	mu       sync.Mutex // guards the fields below
	inst     *instance  // nil when the next Invoke must start one
	used     bool       // inst has served a request (so the next is warm)
	lastInit time.Duration
	closed   bool
}

// Start validates cfg, starts the function binary on a free loopback port
// and waits (at most cfg.InitTimeout) until it answers Function.Ping. ctx
// bounds only the start, not the life of the process; Close ends that.
func Start(ctx context.Context, cfg Config) (*Runtime, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	r := &Runtime{cfg: cfg, log: syncio.NewWriter(cfg.Stderr)}
	inst, err := spawn(ctx, cfg, r.log)
	if err != nil {
		return nil, err
	}
	r.inst = inst
	r.lastInit = inst.initDuration
	return r, nil
}

// InitDuration is how long the most recently started instance took from
// process start to its first answer to Function.Ping.
func (r *Runtime) InitDuration() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastInit
}

// Close stops the instance (SIGTERM, then SIGKILL after Config.StopGrace),
// waits for it and removes its scratch directory. An Invoke in flight fails.
// Close is idempotent.
func (r *Runtime) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	inst := r.inst
	r.inst = nil
	r.mu.Unlock()
	if inst != nil {
		inst.stop(r.cfg.StopGrace)
	}
	return nil
}

// InvokeOption adjusts one invocation.
type InvokeOption func(*invokeSettings)

type invokeSettings struct {
	env       map[string]string
	requestID string
}

// WithEnv adds or overrides Environment entries for this invocation only,
// e.g. freshly rotated role credentials. As in the cloud, the library sets
// them with os.Setenv, so they stay set in the process for later
// invocations unless overridden again.
func WithEnv(env map[string]string) InvokeOption {
	return func(s *invokeSettings) {
		if s.env == nil {
			s.env = map[string]string{}
		}
		maps.Copy(s.env, env)
	}
}

// WithRequestID sets the RequestId instead of a fresh UUID.
func WithRequestID(id string) InvokeOption {
	return func(s *invokeSettings) { s.requestID = id }
}

// Invoke sends payload to the function as one invocation, exactly as the SCF
// Go1 runtime does: a fresh RequestId, Deadline = now + Timeout, the
// Environment as a JSON object, and the function's identity. It starts a new
// instance first when the previous one was discarded.
//
// A function error, a panic and a timeout are results, not errors: see
// Result.FunctionError and Result.TimedOut. Invoke returns an error when
// the invocation could not be carried out: the process exited or crashed
// (a *ProcessExitError carrying the tail of its output), ctx ended, or the
// runtime was closed.
func (r *Runtime) Invoke(ctx context.Context, payload []byte, opts ...InvokeOption) (*Result, error) {
	r.invokeMu.Lock()
	defer r.invokeMu.Unlock()

	var s invokeSettings
	for _, o := range opts {
		o(&s)
	}
	env := maps.Clone(r.cfg.Env)
	if env == nil {
		env = map[string]string{}
	}
	maps.Copy(env, s.env)
	envJSON, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("scflocal: encode environment: %w", err)
	}
	id := s.requestID
	if id == "" {
		id = uuid.NewString()
	}

	inst, cold, err := r.acquire(ctx)
	if err != nil {
		return nil, err
	}

	res := &Result{RequestID: id, ColdStart: cold, MemoryLimitMB: r.cfg.MemoryLimitMB, Timeout: r.cfg.Timeout}
	if cold {
		res.InitDuration = inst.initDuration
	}
	r.logf("START RequestId:%s\n", id)

	start := time.Now()
	deadline := start.Add(r.cfg.Timeout)
	req := r.request(id, payload, deadline, string(envJSON))
	var resp messages.InvokeResponse
	call := inst.client.Go("Function.Invoke", req, &resp, make(chan *rpc.Call, 1))
	timer := time.NewTimer(time.Until(deadline) + deadlineGrace)
	defer timer.Stop()

	select {
	case <-call.Done:
		res.Duration = time.Since(start)
		if call.Error != nil {
			return nil, r.lost(inst, id, call.Error)
		}
		res.Payload = resp.Payload
		res.FunctionError = resp.Error
		res.MaxMemoryUsedBytes = measure(inst)
		if resp.Error != nil && resp.Error.ShouldExit {
			// scf-go-lib asks for this after a panic: the instance's
			// state is suspect, so SCF replaces it.
			r.discard(inst)
		}
	case <-timer.C:
		// The function used its whole limit; the grace is only ours.
		res.Duration = r.cfg.Timeout
		res.TimedOut = true
		res.MaxMemoryUsedBytes = measure(inst)
		res.FunctionError = &messages.InvokeResponse_Error{
			Type:    "TimeLimitReached",
			Message: fmt.Sprintf("Task timed out after %.2f seconds", r.cfg.Timeout.Seconds()),
		}
		r.discard(inst)
	case <-inst.exited:
		return nil, r.lost(inst, id, nil)
	case <-ctx.Done():
		// The function cannot be told to stop; an instance busy with an
		// abandoned request is of no further use.
		r.discard(inst)
		r.logf("END RequestId:%s\n", id)
		return nil, fmt.Errorf("scflocal: invocation %s abandoned: %w", id, ctx.Err())
	}
	res.BilledDuration = billedDuration(res)
	if res.FunctionError != nil {
		r.logf("ERROR RequestId:%s Result:%s: %s\n", id, res.FunctionError.Type, res.FunctionError.Message)
	}
	r.logf("END RequestId:%s\n", id)
	r.logf("%s\n", res.ReportLine())
	return res, nil
}

// request builds the InvokeRequest the SCF Go1 runtime would send.
func (r *Runtime) request(id string, payload []byte, deadline time.Time, env string) *messages.InvokeRequest {
	c := r.cfg
	return &messages.InvokeRequest{
		Payload:   payload,
		RequestId: id,
		TraceId:   uuid.NewString(),
		Deadline: messages.InvokeRequest_Timestamp{
			Seconds: deadline.Unix(),
			Nanos:   int64(deadline.Nanosecond()),
		},
		// The function's CAM resource name, the closest public notion of a
		// unique function id.
		InvokedFunctionUnique: fmt.Sprintf("qcs::scf:%s:uin/%s:namespace/%s/function/%s", c.Region, c.Uin, c.Namespace, c.FunctionName),
		Namespace:             c.Namespace,
		FunctionName:          c.FunctionName,
		FunctionVersion:       c.Version,
		MemoryLimitInMb:       int32(c.MemoryLimitMB),
		TimeLimitInMs:         int32(c.Timeout.Milliseconds()),
		Environment:           env,
		TencentcloudRegion:    c.Region,
		TencentcloudAppID:     c.AppID,
		TencentcloudUin:       c.Uin,
	}
}

// acquire returns the live instance, starting one when there is none.
// cold reports whether the instance has not served a request yet.
func (r *Runtime) acquire(ctx context.Context) (inst *instance, cold bool, err error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, false, ErrClosed
	}
	if r.inst != nil {
		inst, cold = r.inst, !r.used
		r.used = true
		r.mu.Unlock()
		return inst, cold, nil
	}
	r.mu.Unlock()

	// Started outside the lock so that Close is not held up by a slow start.
	inst, err = spawn(ctx, r.cfg, r.log)
	if err != nil {
		return nil, false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		inst.kill()
		return nil, false, ErrClosed
	}
	r.inst, r.used, r.lastInit = inst, true, inst.initDuration
	return inst, true, nil
}

// discard kills inst and forgets it, so that the next Invoke starts afresh.
func (r *Runtime) discard(inst *instance) {
	r.mu.Lock()
	if r.inst == inst {
		r.inst = nil
		r.used = false
	}
	r.mu.Unlock()
	inst.kill()
}

// lost handles an invocation whose process or connection went away.
func (r *Runtime) lost(inst *instance, id string, callErr error) error {
	// Give the process a moment to be reaped, so that the error can say
	// how it ended and carry all of its last output.
	timer := time.NewTimer(waitDelay)
	select {
	case <-inst.exited:
	case <-timer.C:
	}
	timer.Stop()
	exited := false
	select {
	case <-inst.exited:
		exited = true
	default:
	}
	r.discard(inst)
	r.logf("END RequestId:%s\n", id)

	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	switch {
	case closed:
		return fmt.Errorf("invocation %s: %w", id, ErrClosed)
	case exited:
		return inst.exitError("invoke")
	default:
		return fmt.Errorf("scflocal: invocation %s: connection to the function lost: %w", id, callErr)
	}
}

// measure reads the instance's peak RSS; 0 when it cannot be read.
func measure(inst *instance) int64 {
	n, err := peakRSS(inst.pid)
	if err != nil {
		return 0
	}
	return n
}

func (r *Runtime) logf(format string, args ...any) {
	_, _ = fmt.Fprintf(r.log, format, args...)
}
