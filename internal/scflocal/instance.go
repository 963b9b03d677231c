package scflocal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"

	"github.com/scf-dbbrain/addusercontact/internal/syncio"
)

// ProcessExitError reports that the function's process ended on its own
// while it was starting or handling a request (log.Fatal, os.Exit, a fatal
// runtime error, a failed listen...).
type ProcessExitError struct {
	// During is "init" or "invoke".
	During string
	// Err is the process's exit status as reported by os/exec.
	Err error
	// Output is the tail of the process's stdout and stderr.
	Output string
}

// Error describes the exit and the output before it.
func (e *ProcessExitError) Error() string {
	msg := fmt.Sprintf("function process exited during %s: %v", e.During, e.Err)
	if out := strings.TrimSpace(e.Output); out != "" {
		msg += "\nlast output of the function:\n" + out
	}
	return msg
}

// Unwrap returns the process's exit error.
func (e *ProcessExitError) Unwrap() error { return e.Err }

// waitDelay bounds how long exec waits for the function's output pipes to
// close once the process has exited (a grandchild could hold them open).
const waitDelay = time.Second

// pingAttemptTimeout bounds one dial+Ping attempt; the whole wait is bounded
// by Config.InitTimeout.
const pingAttemptTimeout = time.Second

// spawnAttempts is how many times a start is tried when the chosen port was
// taken between choosing it and the function binding it.
const spawnAttempts = 3

// instance is one running function process and its RPC connection.
type instance struct {
	cmd          *exec.Cmd
	pid          int
	client       *rpc.Client
	out          *instanceOutput
	tmpDir       string
	initDuration time.Duration
	grace        time.Duration

	exited  chan struct{} // closed once the process has been reaped
	waitErr error         // valid after exited is closed

	stopOnce sync.Once
}

// errPortTaken marks a start that failed only because the port was taken.
var errPortTaken = errors.New("port taken")

// spawn starts a new instance of cfg's binary and waits until it answers
// Function.Ping.
func spawn(ctx context.Context, cfg Config, log *syncio.Writer) (*instance, error) {
	var err error
	for range spawnAttempts {
		var inst *instance
		inst, err = trySpawn(ctx, cfg, log)
		if err == nil {
			return inst, nil
		}
		if !errors.Is(err, errPortTaken) {
			return nil, err
		}
	}
	return nil, err
}

func trySpawn(ctx context.Context, cfg Config, log *syncio.Writer) (*instance, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	bin, err := filepath.Abs(cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("scflocal: binary path: %w", err)
	}
	// Each instance gets its own writable scratch directory, as each SCF
	// instance gets its own /tmp; it goes away with the instance.
	tmpDir, err := os.MkdirTemp("", "scf-local-")
	if err != nil {
		return nil, fmt.Errorf("scflocal: instance temp dir: %w", err)
	}

	env := cfg.ProcessEnv
	if env == nil {
		env = BaseProcessEnv(cfg)
	}
	// Later entries win in os/exec, so these cannot be overridden by accident.
	env = append(env[:len(env):len(env)],
		"HOME="+tmpDir,
		"TMPDIR="+tmpDir,
		"_LAMBDA_SERVER_PORT="+strconv.Itoa(port),
	)

	out := &instanceOutput{log: log}
	cmd := exec.Command(bin)
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = env
	// The same comparable writer for both streams: os/exec then copies them
	// with a single goroutine, keeping their lines in order.
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = waitDelay

	started := time.Now()
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(tmpDir)
		return nil, fmt.Errorf("scflocal: start %s: %w", cfg.Binary, err)
	}
	inst := &instance{
		cmd:    cmd,
		pid:    cmd.Process.Pid,
		out:    out,
		tmpDir: tmpDir,
		grace:  cfg.StopGrace,
		exited: make(chan struct{}),
	}
	go func() {
		inst.waitErr = cmd.Wait()
		close(inst.exited)
	}()

	client, err := inst.waitReady(ctx, port, cfg.InitTimeout)
	if err != nil {
		inst.kill()
		return nil, err
	}
	inst.client = client
	inst.initDuration = time.Since(started)
	return inst, nil
}

// freePort asks the kernel for a free loopback port. The function binds
// 0.0.0.0:port itself (scf-go-lib's choice); another process could take the
// port in between, which spawn handles by trying again.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("scflocal: choose a port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("scflocal: choose a port: %w", err)
	}
	return port, nil
}

// waitReady polls Function.Ping on 127.0.0.1:port until it answers, the
// process exits, or initTimeout passes. Polling is the only readiness signal
// the library gives.
func (in *instance) waitReady(parent context.Context, port int, initTimeout time.Duration) (*rpc.Client, error) {
	ctx, cancel := context.WithTimeout(parent, initTimeout)
	defer cancel()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	// Short intervals: the wait is part of the reported init duration.
	bo := &backoff.ExponentialBackOff{
		InitialInterval:     time.Millisecond,
		RandomizationFactor: 0.2,
		Multiplier:          1.5,
		MaxInterval:         25 * time.Millisecond,
	}
	client, err := backoff.Retry(ctx, func() (*rpc.Client, error) {
		select {
		case <-in.exited:
			return nil, backoff.Permanent(in.exitError("init"))
		default:
		}
		return in.ping(ctx, addr)
	}, backoff.WithBackOff(bo), backoff.WithMaxElapsedTime(0))
	if err == nil {
		return client, nil
	}
	var exitErr *ProcessExitError
	if errors.As(err, &exitErr) {
		if strings.Contains(exitErr.Output, "address already in use") {
			return nil, fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return nil, err
	}
	if parent.Err() == nil && ctx.Err() != nil {
		return nil, fmt.Errorf("scflocal: function did not answer Function.Ping on %s within %s (is it a scf-go-lib function?): %w",
			addr, initTimeout, err)
	}
	return nil, fmt.Errorf("scflocal: wait for function: %w", err)
}

// ping makes one connection to the instance and checks it with Function.Ping;
// the connection is kept for invocations when it answers.
func (in *instance) ping(ctx context.Context, addr string) (*rpc.Client, error) {
	d := net.Dialer{Timeout: pingAttemptTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	client := rpc.NewClient(conn)
	call := client.Go("Function.Ping", &messages.PingRequest{}, &messages.PingResponse{}, make(chan *rpc.Call, 1))
	timer := time.NewTimer(pingAttemptTimeout)
	defer timer.Stop()
	select {
	case <-call.Done:
		if call.Error != nil {
			_ = client.Close()
			return nil, call.Error
		}
		return client, nil
	case <-timer.C:
		_ = client.Close()
		return nil, errors.New("Function.Ping timed out")
	case <-in.exited:
		_ = client.Close()
		return nil, backoff.Permanent(in.exitError("init"))
	}
}

// exitError describes the process's exit; call only after exited is closed.
func (in *instance) exitError(during string) *ProcessExitError {
	return &ProcessExitError{During: during, Err: in.waitErr, Output: in.out.Tail()}
}

// kill stops the instance at once, as SCF does with an instance that timed
// out or panicked.
func (in *instance) kill() { in.stop(0) }

// stop ends the instance: SIGTERM, then SIGKILL after grace (at once when
// grace is 0), waits for the process to be reaped and removes its scratch
// directory. Safe to call more than once and from several goroutines.
func (in *instance) stop(grace time.Duration) {
	in.stopOnce.Do(func() {
		if in.client != nil {
			_ = in.client.Close()
		}
		if grace > 0 {
			_ = signalGroup(in.pid, syscall.SIGTERM)
			timer := time.NewTimer(grace)
			select {
			case <-in.exited:
			case <-timer.C:
			}
			timer.Stop()
		}
		select {
		case <-in.exited:
		default:
			_ = signalGroup(in.pid, syscall.SIGKILL)
			<-in.exited
		}
		_ = os.RemoveAll(in.tmpDir)
	})
}
