package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/scflocal"
)

// maxSyncPayload is SCF's limit on a synchronous request and response.
const maxSyncPayload = 6 << 20

// service is something the function talks to that scf-local starts before
// the function and stops after it (for example a local emulator of an
// upstream API). The Environment entries it returns are added to every
// invocation, below --env-file and --env so that the user can still override
// them. Log output goes to stderr.
type service func(ctx context.Context, stderr io.Writer) (env map[string]string, stop func() error, err error)

// invokeOptions are the parsed flags of `scf-local invoke`.
type invokeOptions struct {
	event    string
	cfg      scflocal.Config
	env      envEntries
	envFiles []string
	// services start, in order, before the function. To add an option
	// such as --emulator: declare its flag in parseInvokeFlags and, when
	// it is set, append a service that starts the emulator and returns
	// the Environment entries pointing the function at it.
	services []service
}

func parseInvokeFlags(args []string, getenv func(string) string, stderr io.Writer) (*invokeOptions, error) {
	o := &invokeOptions{env: envEntries{getenv: getenv}}
	fs := flag.NewFlagSet("scf-local invoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: scf-local invoke [flags]

Starts the function binary as SCF's Go1 runtime does, sends it one event, prints
the function's answer on stdout exactly as returned, and the function's logs and
SCF-style platform lines (START, ERROR, END, Report) on stderr.

The execution role's credentials TENCENTCLOUD_SECRETID, TENCENTCLOUD_SECRETKEY and
TENCENTCLOUD_SESSIONTOKEN are taken from scf-local's environment and sent in the
invocation Environment; nothing else from this environment reaches the function.

Exit status: 0 success; 1 scf-local failed; 2 bad usage or invalid event;
3 function error (returned error, panic, or process died); 4 function timed out.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.event, "event", "", "event `file`, or - for stdin (default: the empty event {})")
	fs.StringVar(&o.cfg.Binary, "bin", "dist/main", "the built function `binary`")
	fs.Var(&o.env, "env", "add or override an invocation Environment entry, `KEY=VALUE` (KEY alone passes scf-local's own value); repeatable")
	fs.Func("env-file", "read Environment entries from a `file` of KEY=VALUE lines; repeatable, before --env", func(s string) error {
		o.envFiles = append(o.envFiles, s)
		return nil
	})
	o.cfg.Timeout = scflocal.DefaultTimeout
	fs.Func("timeout", "time limit per invocation, a Go `duration` or whole seconds (default 3s)", func(s string) error {
		d, err := parseSeconds(s)
		o.cfg.Timeout = d
		return err
	})
	o.cfg.InitTimeout = scflocal.DefaultInitTimeout
	fs.Func("init-timeout", "how long the binary may take to start serving, a Go `duration` or whole seconds (default 10s)", func(s string) error {
		d, err := parseSeconds(s)
		o.cfg.InitTimeout = d
		return err
	})
	var withEmulator bool
	var emulatorState string
	fs.BoolVar(&withEmulator, "emulator", false, "start the DBbrain emulator on a free loopback port and point the function at it, with a fresh temporary key and token")
	fs.StringVar(&emulatorState, "emulator-state", "", "with --emulator: keep the emulator's contacts in this `file` across runs")
	fs.IntVar(&o.cfg.MemoryLimitMB, "memory", scflocal.DefaultMemoryLimitMB, "memory size in `MB` (reported, not enforced)")
	fs.StringVar(&o.cfg.FunctionName, "function-name", scflocal.DefaultFunctionName, "function `name`")
	fs.StringVar(&o.cfg.Namespace, "namespace", scflocal.DefaultNamespace, "function `namespace`")
	fs.StringVar(&o.cfg.Version, "function-version", scflocal.DefaultVersion, "function `version`")
	fs.StringVar(&o.cfg.Region, "region", scflocal.DefaultRegion, "`region` reported to the function")
	fs.StringVar(&o.cfg.AppID, "appid", scflocal.DefaultAppID, "account `AppID` reported to the function")
	fs.StringVar(&o.cfg.Uin, "uin", scflocal.DefaultUin, "account `UIN` reported to the function")

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		// The flag package has already reported the error and the usage.
		return nil, &exitError{code: exitUsage}
	}
	if fs.NArg() > 0 {
		return nil, usageError("invoke: unexpected argument %q", fs.Arg(0))
	}
	if withEmulator {
		o.services = append(o.services, emulatorService(emulatorState))
	} else if emulatorState != "" {
		return nil, usageError("invoke: --emulator-state needs --emulator")
	}
	if o.cfg.Timeout <= 0 || o.cfg.InitTimeout <= 0 || o.cfg.MemoryLimitMB <= 0 {
		return nil, usageError("invoke: --timeout, --init-timeout and --memory must be positive")
	}
	return o, nil
}

// parseSeconds reads a Go duration ("3s", "500ms") or whole seconds ("3"),
// the unit serverless.yml uses for timeouts.
func parseSeconds(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}

func runInvoke(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	o, err := parseInvokeFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	event, err := readEvent(o.event, stdin)
	if err != nil {
		return err
	}

	env := roleCredentials(getenv)
	for _, start := range o.services {
		svcEnv, stop, err := start(ctx, stderr)
		if err != nil {
			return fmt.Errorf("start service: %w", err)
		}
		defer func() {
			if err := stop(); err != nil {
				fmt.Fprintf(stderr, "scf-local: stop service: %v\n", err)
			}
		}()
		maps.Copy(env, svcEnv)
	}
	for _, path := range o.envFiles {
		entries, err := readEnvFile(path)
		if err != nil {
			return &exitError{code: exitUsage, err: err}
		}
		for _, kv := range entries {
			env[kv[0]] = kv[1]
		}
	}
	for _, kv := range o.env.entries {
		env[kv[0]] = kv[1]
	}
	if env["TENCENTCLOUD_SECRETID"] == "" || env["TENCENTCLOUD_SECRETKEY"] == "" {
		fmt.Fprintln(stderr, "scf-local: note: no TENCENTCLOUD_SECRETID/TENCENTCLOUD_SECRETKEY, so the function gets no role credentials")
	}

	cfg := o.cfg
	cfg.Env = env
	cfg.Stderr = stderr
	cfg.ProcessEnv = startEnv(cfg, env)
	rt, err := scflocal.Start(ctx, cfg)
	if err != nil {
		return failure(err)
	}
	defer rt.Close()
	res, err := rt.Invoke(ctx, event)
	// Close before printing: it waits for the function's last log lines,
	// so they come before the outcome.
	_ = rt.Close()
	if err != nil {
		return failure(err)
	}

	switch {
	case res.TimedOut:
		fmt.Fprintf(stderr, "%s\n", res.ErrorResponse())
		return &exitError{code: exitTimeout}
	case res.FunctionError != nil:
		fmt.Fprintf(stderr, "%s\n", res.ErrorResponse())
		return &exitError{code: exitFunctionError}
	}
	if len(res.Payload) > maxSyncPayload {
		fmt.Fprintf(stderr, "scf-local: warning: the response is %d bytes; SCF fails responses over 6 MB\n", len(res.Payload))
	}
	out := res.Payload
	if len(out) == 0 || out[len(out)-1] != '\n' {
		out = append(out[:len(out):len(out)], '\n')
	}
	if _, err := stdout.Write(out); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// startEnv is the process environment at start: SCF's own variables plus
// the function's configured ones, which SCF also sets at start. The role's
// temporary keys are left to the per-invocation Environment, where SCF
// refreshes them.
func startEnv(cfg scflocal.Config, env map[string]string) []string {
	out := scflocal.BaseProcessEnv(cfg)
	for _, k := range slices.Sorted(maps.Keys(env)) {
		switch k {
		case "TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN":
			continue
		}
		out = append(out, k+"="+env[k])
	}
	return out
}

// failure classifies an error from the runtime: the function's process
// dying is the function's failure, anything else is scf-local's.
func failure(err error) error {
	var pe *scflocal.ProcessExitError
	if errors.As(err, &pe) {
		return &exitError{code: exitFunctionError, err: err}
	}
	return err
}

// readEvent loads the event and rejects what SCF would reject: an event that
// is not JSON (400 InvalidParameterValue) or over 6 MB (406 RequestTooLarge).
func readEvent(name string, stdin io.Reader) ([]byte, error) {
	var (
		event []byte
		err   error
	)
	switch name {
	case "":
		return []byte("{}"), nil
	case "-":
		event, err = io.ReadAll(io.LimitReader(stdin, maxSyncPayload+1))
	default:
		event, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, fmt.Errorf("read event: %w", err)
	}
	if len(event) > maxSyncPayload {
		return nil, usageError("event is over 6 MB; SCF rejects it (RequestTooLarge)")
	}
	if !json.Valid(event) {
		return nil, usageError("event is not valid JSON; SCF rejects it (InvalidParameterValue)")
	}
	return event, nil
}
