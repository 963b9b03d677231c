package scflocal

import (
	"context"
	"fmt"
	"net"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"
)

// ProcessExitError reports that the function's process ended on its own
// while starting or handling a request (os.Exit, a fatal error, a failed
// listen...).
type ProcessExitError struct {
	During string // "init" or "invoke".
	Err    error  // The exit status, as os/exec reports it.
	Output string // The tail of the process's stdout and stderr.
}

// Error describes the exit and the output before it.
func (e *ProcessExitError) Error() string {
	msg := fmt.Sprintf("function process exited during %s: %v", e.During, e.Err)
	if out := strings.TrimSpace(e.Output); out != "" {
		msg += "\nlast output of the function:\n" + out
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
// function binds the port itself (scf-go-lib's choice), so another process
// can take it between freePort and then: a few attempts cover that.
func spawn(ctx context.Context, cfg Config, out *output) (inst *instance, err error) {
	for range 3 {
		if inst, err = trySpawn(ctx, cfg, out); err == nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return inst, err
}

func trySpawn(ctx context.Context, cfg Config, out *output) (*instance, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("scflocal: choose a port: %w", err)
	}
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
	env := cfg.ProcessEnv
	if env == nil {
		env = BaseProcessEnv(cfg)
	}
	// The process outlives ctx, which bounds only the start; stop ends it.
	procCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	in := &instance{cancel: cancel, out: out, tmpDir: tmpDir, exited: make(chan struct{})}
	in.cmd = exec.CommandContext(procCtx, bin)
	in.cmd.Dir = filepath.Dir(bin)
	// Later entries win in os/exec, so these cannot be overridden by accident.
	in.cmd.Env = append(slices.Clip(env), "HOME="+tmpDir, "TMPDIR="+tmpDir, "_LAMBDA_SERVER_PORT="+strconv.Itoa(port))
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
		_ = os.RemoveAll(tmpDir)
		return nil, fmt.Errorf("scflocal: start %s: %w", cfg.Binary, err)
	}
	go func() {
		in.waitErr = in.cmd.Wait()
		close(in.exited)
	}()
	if in.client, err = in.waitReady(ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cfg.InitTimeout); err != nil {
		in.stop(true)
		return nil, err
	}
	in.initDuration = time.Since(started)
	return in, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls Function.Ping, the library's only readiness signal, until
// it answers, the process exits, or initTimeout passes. The intervals are
// short: the wait is part of the reported init duration.
func (in *instance) waitReady(parent context.Context, addr string, initTimeout time.Duration) (*rpc.Client, error) {
	ctx, cancel := context.WithTimeout(parent, initTimeout)
	defer cancel()
	for delay := time.Millisecond; ; delay = min(2*delay, 25*time.Millisecond) {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err == nil {
			client := rpc.NewClient(conn)
			call := client.Go("Function.Ping", &messages.PingRequest{}, &messages.PingResponse{}, make(chan *rpc.Call, 1))
			select {
			case <-call.Done:
				if err = call.Error; err == nil {
					return client, nil
				}
			case <-ctx.Done():
				err = ctx.Err()
			case <-in.exited:
			}
			_ = client.Close()
		}
		select {
		case <-in.exited:
			return nil, in.exitError("init")
		case <-ctx.Done():
			if parent.Err() != nil {
				return nil, fmt.Errorf("scflocal: wait for function: %w", parent.Err())
			}
			return nil, fmt.Errorf("scflocal: function did not answer Function.Ping on %s within %s (is it a scf-go-lib function?): %w", addr, initTimeout, err)
		case <-time.After(delay):
		}
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
