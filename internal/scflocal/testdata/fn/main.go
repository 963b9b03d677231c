// Command fn is a test fixture: a real scf-go-lib function whose behaviour is
// chosen by its payload, so that the tests of scflocal and scf-local can drive
// every path of the SCF Go1 protocol (echo, context, environment, errors,
// panics, hangs, crashes, signals, HTTP events) against one binary. A payload
// that is not a JSON object with a known mode is echoed back byte for byte.
package main

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction"
	"github.com/tencentyun/scf-go-lib/functioncontext"

	"github.com/scf-dbbrain/addusercontact/internal/rpcserve"
)

type command struct {
	Mode    string   `json:"mode"`
	Message string   `json:"message"`
	SleepMS int      `json:"sleep_ms"`
	Env     []string `json:"env"`    // the variables mode "info" reports
	Status  int      `json:"status"` // mode "http"'s statusCode
	Fails   int      `json:"fails"`  // how many invocations mode "flaky" fails
	// An HTTP event carries the command in its body.
	HTTPMethod string `json:"httpMethod"`
	Body       string `json:"body"`
}

// typedError lets the tests see that the error's Go type name reaches the caller.
type typedError struct{ msg string }

func (e *typedError) Error() string { return e.msg }

// handler counts its invocations, for mode "flaky", and remembers mode
// "trap-term".
type handler struct {
	calls    int
	trapTerm bool
}

func (h *handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var cmd command
	if err := json.Unmarshal(payload, &cmd); err != nil || cmd.HTTPMethod == "" {
		return h.do(ctx, cmd, payload)
	}
	// An integration response whose body is the event itself, so that the
	// tests of scf-local serve see the event the request became.
	var inner command
	_ = json.Unmarshal([]byte(cmd.Body), &inner)
	if _, err := h.do(ctx, inner, nil); err != nil {
		return nil, err
	}
	resp := map[string]any{"statusCode": cmp.Or(inner.Status, 200), "body": string(payload),
		"headers": map[string]string{"Content-Type": "application/json", "X-Fixture": "http"}}
	switch inner.Mode {
	case "raw":
		return []byte(`{"not":"an integration response"}`), nil
	case "base64":
		resp["isBase64Encoded"], resp["body"] = true, base64.StdEncoding.EncodeToString([]byte(inner.Message))
	}
	return json.Marshal(resp)
}

func (h *handler) do(ctx context.Context, cmd command, payload []byte) ([]byte, error) {
	h.calls++
	switch cmd.Mode {
	case "info":
		return info(ctx, cmd.Env)
	case "log":
		fmt.Fprintln(os.Stdout, "stdout:", cmd.Message)
		fmt.Fprintln(os.Stderr, "stderr:", cmd.Message)
	case "error":
		return nil, errors.New(cmd.Message)
	case "flaky": // fails the instance's first invocations, as an outage would
		if h.calls <= cmd.Fails {
			return nil, fmt.Errorf("flaky failure %d", h.calls)
		}
	case "typed-error":
		return nil, &typedError{msg: cmd.Message}
	case "panic":
		panic(cmd.Message)
	case "sleep": // ignores ctx: the function that overruns its time limit
		time.Sleep(time.Duration(cmd.SleepMS) * time.Millisecond)
	case "exit":
		fmt.Fprintln(os.Stderr, "fixture exiting:", cmd.Message)
		os.Exit(3)
	case "trap-term": // reports SIGTERM and lives on, until SIGKILL
		h.trapTerm = true
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		go func() {
			<-term
			fmt.Fprintln(os.Stderr, "fixture got SIGTERM")
		}()
	case "child": // a grandchild of the runtime, which must not outlive the instance
		child := exec.Command("sleep", "600")
		if err := child.Start(); err != nil {
			return nil, err
		}
		return []byte(fmt.Sprint(child.Process.Pid)), nil
	}
	return payload, nil
}

// info reports what the function sees of its invocation and process.
func info(ctx context.Context, names []string) ([]byte, error) {
	env, keys := map[string]string{}, []string{}
	for _, n := range names {
		if v, ok := os.LookupEnv(n); ok {
			env[n] = v
		}
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
	}
	fc, _ := functioncontext.FromContext(ctx)
	deadline, ok := ctx.Deadline()
	cwd, _ := os.Getwd()
	return json.Marshal(map[string]any{"context": fc, "env": env, "env_keys": keys, "has_deadline": ok,
		"deadline_unix_nano": deadline.UnixNano(), "pid": os.Getpid(), "cwd": cwd, "temp_dir": os.TempDir()})
}

// main serves as the project's function does: on the connection the local
// runtime hands it (internal/rpcserve), else with scf-go-lib's StartHandler,
// which FIXTURE_STOCK forces, as a binary unaware of the connection would.
func main() {
	if os.Getenv("FIXTURE_INIT_FAIL") != "" {
		fmt.Fprintln(os.Stderr, "fixture init failed on purpose")
		os.Exit(2)
	}
	fmt.Fprintln(os.Stderr, "fixture init")
	h := &handler{}
	conn, err := rpcserve.Inherited(os.Getenv)
	if err != nil || conn == nil || os.Getenv("FIXTURE_STOCK") != "" {
		cloudfunction.StartHandler(h)
	}
	if err := rpcserve.Serve(context.Background(), conn, h); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if h.trapTerm {
		select {} // lives on after the runtime hangs up, until SIGKILL
	}
}
