package scflocal

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/rpc"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"

	"github.com/scf-dbbrain/addusercontact/internal/redact"
)

// errorLineMax bounds the message in the ERROR platform line.
const errorLineMax = 300

// Clip shortens s to at most n bytes, cut at a rune boundary, saying how
// long it was; a message of several lines keeps its first.
func Clip(s string, n int) string {
	first, _, multiline := strings.Cut(s, "\n")
	if len(first) <= n && !multiline {
		return s
	}
	if len(first) > n {
		first = first[:n]
		for len(first) > 0 && !utf8.ValidString(first) {
			first = first[:len(first)-1]
		}
	}
	return fmt.Sprintf("%s… (%d bytes)", first, len(s))
}

// ErrClosed is returned by Invoke after Close.
var ErrClosed = errors.New("scflocal: runtime closed")

// deadlineGrace is how long after the deadline an answer is still taken, so
// that a function that stops exactly at its deadline is reported with its
// own answer rather than as a timeout.
const deadlineGrace = 200 * time.Millisecond

// Runtime is one local function instance, started by Start. It serves one
// invocation at a time (concurrent Invoke calls queue), restarts the process
// after a timeout, a panic or a crash (the next Invoke is a cold start), and
// must be closed.
type Runtime struct {
	cfg      Config
	out      *output
	invokeMu sync.Mutex               // an SCF instance handles one request at a time
	used     bool                     // inst has served a request, so the next is warm; under invokeMu
	inst     atomic.Pointer[instance] // nil when the next Invoke must start one
	closed   atomic.Bool
}

// Start starts the function binary on a free loopback port and waits (at
// most cfg.InitTimeout) until it answers Function.Ping. ctx bounds only the
// start; Close ends the process.
func Start(ctx context.Context, cfg Config) (*Runtime, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &Runtime{cfg: cfg, out: &output{w: cmp.Or[io.Writer](cfg.Stderr, io.Discard)}}
	inst, err := spawn(ctx, cfg, r.out)
	if err != nil {
		return nil, err
	}
	r.inst.Store(inst)
	return r, nil
}

// Close stops the instance (SIGTERM, then SIGKILL after Config.StopGrace)
// and waits for it; an Invoke in flight fails with ErrClosed. Idempotent.
func (r *Runtime) Close() error {
	r.closed.Store(true)
	if inst := r.inst.Swap(nil); inst != nil {
		inst.stop(false)
	}
	return nil
}

// InvokeOption adjusts one invocation.
type InvokeOption func(*messages.InvokeRequest, map[string]string)

// WithEnv adds or overrides Environment entries for one invocation, e.g.
// rotated role credentials. As in the cloud, the library os.Setenv's them,
// so they stay set for later invocations unless overridden again.
func WithEnv(env map[string]string) InvokeOption {
	return func(_ *messages.InvokeRequest, e map[string]string) { maps.Copy(e, env) }
}

// WithRequestID sets the RequestId instead of a fresh UUID.
func WithRequestID(id string) InvokeOption {
	return func(req *messages.InvokeRequest, _ map[string]string) { req.RequestId = id }
}

// Invoke sends payload as one invocation, as the SCF Go1 runtime does: a
// fresh RequestId, Deadline = now + Timeout, the Environment as a JSON
// object, and the function's identity. It starts an instance first when the
// last one was discarded.
//
// A function error, a panic and a timeout are results: see
// Result.FunctionError and Result.TimedOut. Invoke fails when the
// invocation could not be carried out: the process died (a
// *ProcessExitError with the tail of its output), ctx ended, or the runtime
// was closed.
func (r *Runtime) Invoke(ctx context.Context, payload []byte, opts ...InvokeOption) (*Result, error) {
	r.invokeMu.Lock()
	defer r.invokeMu.Unlock()
	c := r.cfg
	req := &messages.InvokeRequest{
		Payload: payload, RequestId: uuid.NewString(), TraceId: uuid.NewString(),
		// The function's CAM resource name, the closest public notion of a
		// unique function id.
		InvokedFunctionUnique: fmt.Sprintf("qcs::scf:%s:uin/%s:namespace/%s/function/%s", c.Region, c.Uin, c.Namespace, c.FunctionName),
		Namespace:             c.Namespace, FunctionName: c.FunctionName, FunctionVersion: c.Version,
		MemoryLimitInMb: int32(c.MemoryLimitMB), TimeLimitInMs: int32(c.Timeout.Milliseconds()),
		TencentcloudRegion: c.Region, TencentcloudAppID: c.AppID, TencentcloudUin: c.Uin,
	}
	env := maps.Clone(c.Env)
	for _, o := range opts {
		o(req, env)
	}
	envJSON, _ := json.Marshal(env) // strings only: cannot fail
	req.Environment = string(envJSON)
	inst, cold, err := r.acquire(ctx)
	if err != nil {
		return nil, err
	}
	id := req.RequestId
	res := &Result{RequestID: id, ColdStart: cold, MemoryLimitMB: c.MemoryLimitMB, Timeout: c.Timeout}
	if cold {
		res.InitDuration = inst.initDuration
	}
	r.logf("START RequestId:%s\n", id)
	start := time.Now()
	deadline := start.Add(c.Timeout)
	req.Deadline = messages.InvokeRequest_Timestamp{Seconds: deadline.Unix(), Nanos: int64(deadline.Nanosecond())}
	var resp messages.InvokeResponse
	call := inst.client.Go("Function.Invoke", req, &resp, make(chan *rpc.Call, 1))
	timer := time.NewTimer(time.Until(deadline) + deadlineGrace)
	defer timer.Stop()

	select {
	case <-call.Done:
		if call.Error != nil {
			return nil, r.lost(inst, id, call.Error)
		}
		res.Duration, res.Payload, res.FunctionError = time.Since(start), resp.Payload, resp.Error
		res.MaxMemoryUsedBytes = peakRSS(inst.cmd.Process.Pid)
		if resp.Error != nil && resp.Error.ShouldExit {
			// scf-go-lib asks for this after a panic: the instance's state
			// is suspect, so SCF replaces it.
			r.discard(inst)
		}
	case <-timer.C:
		// The function used its whole limit; the grace is only ours.
		res.Duration, res.TimedOut = c.Timeout, true
		res.MaxMemoryUsedBytes = peakRSS(inst.cmd.Process.Pid)
		res.FunctionError = &messages.InvokeResponse_Error{Type: "TimeLimitReached",
			Message: fmt.Sprintf("Task timed out after %.2f seconds", c.Timeout.Seconds())}
		r.discard(inst)
	case <-inst.exited:
		return nil, r.lost(inst, id, nil)
	case <-ctx.Done():
		// The function cannot be told to stop: an instance busy with an
		// abandoned request is of no further use.
		r.discard(inst)
		r.logf("END RequestId:%s\n", id)
		return nil, fmt.Errorf("scflocal: invocation %s abandoned: %w", id, ctx.Err())
	}
	res.BilledDuration = billedDuration(res)
	if fe := res.FunctionError; fe != nil {
		// One line of bounded length: a batch's error can be the whole
		// envelope, hundreds of kilobytes, which callers summarise better.
		r.logf("ERROR RequestId:%s Result:%s: %s\n", id, fe.Type, Clip(redact.URLsIn(fe.Message), errorLineMax))
	}
	r.logf("END RequestId:%s\n%s\n", id, res.ReportLine())
	return res, nil
}

// acquire returns the live instance, starting one when there is none; cold
// reports whether it has not served a request yet. Call with invokeMu held.
func (r *Runtime) acquire(ctx context.Context) (inst *instance, cold bool, err error) {
	if r.closed.Load() {
		return nil, false, ErrClosed
	}
	if inst = r.inst.Load(); inst != nil {
		cold, r.used = !r.used, true
		return inst, cold, nil
	}
	if inst, err = spawn(ctx, r.cfg, r.out); err != nil {
		return nil, false, err
	}
	r.inst.Store(inst)
	if r.closed.Load() { // Close ran during the start
		r.discard(inst)
		return nil, false, ErrClosed
	}
	r.used = true
	return inst, true, nil
}

// discard kills inst and forgets it, so that the next Invoke starts afresh.
func (r *Runtime) discard(inst *instance) {
	r.inst.CompareAndSwap(inst, nil)
	inst.stop(true)
}

// lost handles an invocation whose process or connection went away. It
// gives the process a moment to be reaped, so that the error can say how it
// ended and carry all of its last output.
func (r *Runtime) lost(inst *instance, id string, callErr error) error {
	var exited bool
	select {
	case <-inst.exited:
		exited = true
	case <-time.After(time.Second):
	}
	r.discard(inst)
	r.logf("END RequestId:%s\n", id)
	switch {
	case r.closed.Load():
		return fmt.Errorf("invocation %s: %w", id, ErrClosed)
	case exited:
		return inst.exitError("invoke")
	}
	return fmt.Errorf("scflocal: invocation %s: connection to the function lost: %w", id, callErr)
}

func (r *Runtime) logf(format string, args ...any) {
	r.out.mu.Lock()
	defer r.out.mu.Unlock()
	_, _ = fmt.Fprintf(r.out.w, format, args...)
}

// output is Config.Stderr, which gets the function's output and the
// platform lines in one order. It keeps the last 4 KB of the current
// instance's output, so that a crash can be explained.
type output struct {
	mu   sync.Mutex
	w    io.Writer
	tail []byte
}

// Write forwards p and keeps its tail. It never fails: a failing log must
// not break the function's pipe, or the child would see EPIPE, unlike in the
// cloud.
func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tail = append(o.tail, p...)
	o.tail = o.tail[max(0, len(o.tail)-4<<10):]
	_, _ = o.w.Write(p)
	return len(p), nil
}

// Tail returns the latest output of the instance.
func (o *output) Tail() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return string(o.tail)
}

func (o *output) reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tail = nil
}
