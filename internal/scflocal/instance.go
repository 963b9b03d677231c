package scflocal

import (
	"context"
	"fmt"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"

	"github.com/scf-dbbrain/addusercontact/internal/redact"
	"github.com/scf-dbbrain/addusercontact/internal/rpcserve"
)

// ProcessExitError reports that the function's process ended on its own
// while starting or handling a request (os.Exit, a fatal error, a failed
// listen...).
type ProcessExitError struct {
	During string // "init" or "invoke".
	Err    error  // The exit status, as os/exec reports it.
	Output string // The tail of the process's stdout and stderr.
}

// Error describes the exit and the output before it, with any URL's
// password masked.
func (e *ProcessExitError) Error() string {
	msg := fmt.Sprintf("function process exited during %s: %v", e.During, e.Err)
	if strings.Contains(e.Output, refusedPort) {
		msg += fmt.Sprintf("\nit tried to listen on every interface (scf-go-lib's StartHandler), which scf-local does not allow:"+
			" a function must serve on the connection in %s (internal/rpcserve); make build-local rebuilds this project's", rpcserve.EnvFD)
	}
	if out := strings.TrimSpace(e.Output); out != "" {
		msg += "\nlast output of the function:\n" + redact.URLsIn(out)
	}
	return msg
}

// Unwrap returns the exit status.
func (e *ProcessExitError) Unwrap() error { return e.Err }

// instance is one running function process and its RPC connection.
type instance struct {
	cmd          *exec.Cmd
	cancel       context.CancelFunc // starts the shutdown, through cmd.Cancel
	client       *rpc.Client
	out          *output
	tmpDir       string
	initDuration time.Duration
	exited       chan struct{} // closed once the process is reaped
	waitErr      error         // valid once exited is closed
	stopOnce     sync.Once
}

// spawn starts an instance and waits until it answers Function.Ping. The
// function gets one end of a Unix socket pair as fd 3 (SCF_LOCAL_RPC_FD) and
// serves scf-go-lib's Function on it alone (internal/rpcserve): no port,
// so nothing else on this machine or the network can invoke it, and the
// process sees the runtime hang up when scf-local ends, on any system.
// _LAMBDA_SERVER_PORT is set to a value that scf-go-lib's own StartHandler
// cannot listen on, so that a binary that ignores the fd exits at start
// instead of listening on every interface.
func spawn(ctx context.Context, cfg Config, out *output) (*instance, error) {
	bin, err := filepath.Abs(cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("scflocal: binary path: %w", err)
	}
	// Each instance has its own scratch directory, as each SCF instance has
	// its own /tmp.
	tmpDir, err := os.MkdirTemp("", "scf-local-")
	if err != nil {
		return nil, fmt.Errorf("scflocal: instance temp dir: %w", err)
	}
	conn, fnEnd, err := socketPair()
	if err != nil {
		_ = os.RemoveAll(tmpDir)
		return nil, err
	}
	defer fnEnd.Close() // the process holds its own copy once started
	env := cfg.ProcessEnv
	if env == nil {
		env = BaseProcessEnv(cfg)
	}
	// The process outlives ctx, which bounds only the start; stop ends it.
	procCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	in := &instance{cancel: cancel, out: out, tmpDir: tmpDir, exited: make(chan struct{}), client: rpc.NewClient(conn)}
	in.cmd = exec.CommandContext(procCtx, bin)
	in.cmd.Dir = filepath.Dir(bin)
	in.cmd.ExtraFiles = []*os.File{fnEnd} // fd 3
	// Later entries win in os/exec, so these cannot be overridden by accident.
	in.cmd.Env = append(slices.Clip(env), "HOME="+tmpDir, "TMPDIR="+tmpDir,
		rpcserve.EnvFD+"=3", "_LAMBDA_SERVER_PORT="+refusedPort)
	// One comparable writer for both streams makes os/exec copy them in one
	// goroutine, keeping their lines in order.
	in.cmd.Stdout, in.cmd.Stderr = in.out, in.out
	in.cmd.SysProcAttr = sysProcAttr()
	in.cmd.Cancel = func() error { return signalGroup(in.cmd.Process.Pid, syscall.SIGTERM) }
	// os/exec sends SIGKILL this long after Cancel, and waits no longer than
	// this for output pipes that a grandchild may hold open.
	in.cmd.WaitDelay = cfg.StopGrace

	out.reset()
	started := time.Now()
	if err := in.cmd.Start(); err != nil {
		cancel()
		_ = in.client.Close()
		_ = os.RemoveAll(tmpDir)
		return nil, fmt.Errorf("scflocal: start %s: %w", cfg.Binary, err)
	}
	go func() {
		in.waitErr = in.cmd.Wait()
		close(in.exited)
	}()
	if err := in.waitReady(ctx, cfg.InitTimeout); err != nil {
		in.stop(true)
		return nil, err
	}
	in.initDuration = time.Since(started)
	return in, nil
}

// refusedPort is _LAMBDA_SERVER_PORT for a local instance: not a port, so
// that scf-go-lib's StartHandler fails to listen on "0.0.0.0:"+refusedPort,
// and its log line says why.
const refusedPort = "none:scf-local-serves-on-SCF_LOCAL_RPC_FD"

// waitReady sends Function.Ping, the library's only readiness signal, and
// waits until it is answered, the process exits, or initTimeout passes. The
// request waits in the socket until the function serves it.
func (in *instance) waitReady(parent context.Context, initTimeout time.Duration) error {
	ctx, cancel := context.WithTimeout(parent, initTimeout)
	defer cancel()
	call := in.client.Go("Function.Ping", &messages.PingRequest{}, &messages.PingResponse{}, make(chan *rpc.Call, 1))
	select {
	case <-call.Done:
		if call.Error == nil {
			return nil
		}
		// The function hung up: it is exiting, and its exit says more.
		select {
		case <-in.exited:
			return in.exitError("init")
		case <-time.After(time.Second):
		}
		return fmt.Errorf("scflocal: Function.Ping: %w", call.Error)
	case <-in.exited:
		return in.exitError("init")
	case <-ctx.Done():
		if parent.Err() != nil {
			return fmt.Errorf("scflocal: wait for function: %w", parent.Err())
		}
		return fmt.Errorf("scflocal: function did not answer Function.Ping within %s (is it a scf-go-lib function serving on %s?): %w",
			initTimeout, rpcserve.EnvFD, ctx.Err())
	}
}

// exitError describes the process's exit; call only once exited is closed.
func (in *instance) exitError(during string) *ProcessExitError {
	return &ProcessExitError{During: during, Err: in.waitErr, Output: in.out.Tail()}
}

// stop ends the instance, waits until it is reaped and removes its scratch
// directory: with SIGKILL at once when hard (as SCF treats an instance that
// timed out or panicked), else SIGTERM and SIGKILL after Config.StopGrace.
// Safe to call more than once and from several goroutines.
func (in *instance) stop(hard bool) {
	in.stopOnce.Do(func() {
		if in.client != nil {
			_ = in.client.Close()
		}
		if hard {
			_ = signalGroup(in.cmd.Process.Pid, syscall.SIGKILL)
		}
		in.cancel()
		<-in.exited
		// os/exec's SIGKILL reaches the process only; this ends what it started.
		_ = signalGroup(in.cmd.Process.Pid, syscall.SIGKILL)
		_ = os.RemoveAll(in.tmpDir)
	})
}
