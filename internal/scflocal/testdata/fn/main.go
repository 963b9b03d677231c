// Command fn is a test fixture: a real scf-go-lib function whose behaviour is
// chosen by its payload, so the tests of scflocal and scf-local can drive every
// path of the SCF Go1 protocol (echo, context, environment, errors, panics,
// hangs, crashes) against one binary.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction"
	"github.com/tencentyun/scf-go-lib/functioncontext"
)

// command is the payload shape the fixture understands. A payload that is not
// a JSON object with a known mode is echoed back byte for byte.
type command struct {
	Mode    string   `json:"mode"`
	Message string   `json:"message"`
	SleepMS int      `json:"sleep_ms"`
	Env     []string `json:"env"`
}

// info is what mode "info" returns.
type info struct {
	Context     *functioncontext.FunctionContext `json:"context"`
	Env         map[string]string                `json:"env"`
	EnvKeys     []string                         `json:"env_keys"`
	HasDeadline bool                             `json:"has_deadline"`
	DeadlineNS  int64                            `json:"deadline_unix_nano"`
	PID         int                              `json:"pid"`
	Cwd         string                           `json:"cwd"`
	TempDir     string                           `json:"temp_dir"`
}

// typedError lets the tests see that the error's Go type name reaches the caller.
type typedError struct{ msg string }

func (e *typedError) Error() string { return e.msg }

type handler struct{}

func (handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var cmd command
	if err := json.Unmarshal(payload, &cmd); err != nil {
		return payload, nil
	}
	switch cmd.Mode {
	case "info":
		return json.Marshal(collectInfo(ctx, cmd.Env))
	case "log":
		fmt.Fprintln(os.Stdout, "stdout:", cmd.Message)
		fmt.Fprintln(os.Stderr, "stderr:", cmd.Message)
		return payload, nil
	case "error":
		return nil, errors.New(cmd.Message)
	case "typed-error":
		return nil, &typedError{msg: cmd.Message}
	case "panic":
		panic(cmd.Message)
	case "sleep":
		// Deliberately ignores ctx: this is the function that overruns its time limit.
		time.Sleep(time.Duration(cmd.SleepMS) * time.Millisecond)
		return payload, nil
	case "wait-deadline":
		<-ctx.Done()
		return nil, ctx.Err()
	case "exit":
		fmt.Fprintln(os.Stderr, "fixture exiting:", cmd.Message)
		os.Exit(3)
	}
	return payload, nil
}

func collectInfo(ctx context.Context, names []string) info {
	out := info{Env: map[string]string{}, PID: os.Getpid(), TempDir: os.TempDir()}
	if fc, ok := functioncontext.FromContext(ctx); ok {
		out.Context = fc
	}
	for _, n := range names {
		if v, ok := os.LookupEnv(n); ok {
			out.Env[n] = v
		}
	}
	for _, kv := range os.Environ() {
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				out.EnvKeys = append(out.EnvKeys, kv[:i])
				break
			}
		}
	}
	if d, ok := ctx.Deadline(); ok {
		out.HasDeadline = true
		out.DeadlineNS = d.UnixNano()
	}
	out.Cwd, _ = os.Getwd()
	return out
}

func main() {
	if os.Getenv("FIXTURE_INIT_FAIL") != "" {
		fmt.Fprintln(os.Stderr, "fixture init failed on purpose")
		os.Exit(2)
	}
	fmt.Fprintln(os.Stderr, "fixture init")
	cloudfunction.StartHandler(handler{})
}
