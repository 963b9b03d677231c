package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/emulator"
	"github.com/scf-dbbrain/addusercontact/internal/redact"
	"github.com/scf-dbbrain/addusercontact/internal/scflocal"
)

// The execution role's variables, which SCF fills on every invocation with
// the role's temporary keys.
const (
	envSecretID  = "TENCENTCLOUD_SECRETID"
	envSecretKey = "TENCENTCLOUD_SECRETKEY"
	envToken     = "TENCENTCLOUD_SESSIONTOKEN"
)

const functionUsage = `Of scf-local's environment only TENCENTCLOUD_SECRETID, _SECRETKEY and _SESSIONTOKEN
reach the function, in the invocation Environment, as the role's credentials.
`

// functionFlags are what invoke and serve share: the binary, its
// configuration, its environment and the optional DBbrain emulator.
type functionFlags struct {
	cfg      scflocal.Config
	env      [][2]string // --env, in order
	envFiles []string
	emulator bool
	state    string
}

func (f *functionFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&f.cfg.Binary, "bin", "dist/local/main", "the function `binary`, built for this machine by make build-local")
	fs.Func("env", "set an invocation Environment entry, `KEY=VALUE` (KEY alone passes scf-local's own); repeatable", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			v = getenv(k)
		}
		f.env = append(f.env, [2]string{k, v})
		return checkEnvKey(k)
	})
	fs.Func("env-file", "read Environment entries from a `file` of KEY=VALUE lines (make emulator writes one); repeatable", func(s string) error {
		f.envFiles = append(f.envFiles, s)
		return nil
	})
	fs.BoolVar(&f.emulator, "emulator", false, "start the DBbrain emulator on a free loopback port and point the function at it, with a temporary key")
	fs.StringVar(&f.state, "emulator-state", "", "with --emulator: keep its contacts in this `file` across runs")
	seconds := func(name, usage string, d *time.Duration) {
		fs.Func(name, usage, func(s string) (err error) {
			if n, nerr := strconv.Atoi(s); nerr == nil {
				*d = time.Duration(n) * time.Second
				return nil
			}
			*d, err = time.ParseDuration(s)
			return err
		})
	}
	f.cfg.Timeout, f.cfg.InitTimeout = scflocal.DefaultTimeout, scflocal.DefaultInitTimeout
	seconds("timeout", "time limit per invocation, a `duration` or seconds as in serverless.yml (default 3s)", &f.cfg.Timeout)
	seconds("init-timeout", "how long the binary may take to start serving, a `duration` (default 10s)", &f.cfg.InitTimeout)
	fs.IntVar(&f.cfg.MemoryLimitMB, "memory", scflocal.DefaultMemoryLimitMB, "memory size in `MB` (reported, not enforced)")
	fs.StringVar(&f.cfg.FunctionName, "function-name", scflocal.DefaultFunctionName, "function `name`")
	fs.StringVar(&f.cfg.Namespace, "namespace", scflocal.DefaultNamespace, "function `namespace`")
	fs.StringVar(&f.cfg.Version, "function-version", scflocal.DefaultVersion, "function `version`")
	fs.StringVar(&f.cfg.Region, "region", scflocal.DefaultRegion, "`region` reported to the function")
	fs.StringVar(&f.cfg.AppID, "appid", scflocal.DefaultAppID, "account `AppID` reported to the function")
	fs.StringVar(&f.cfg.Uin, "uin", scflocal.DefaultUin, "account `UIN` reported to the function")
}

func (f *functionFlags) check() error {
	if f.state != "" && !f.emulator {
		return usageError("--emulator-state needs --emulator")
	}
	if f.cfg.Timeout <= 0 || f.cfg.InitTimeout <= 0 || f.cfg.MemoryLimitMB <= 0 {
		return usageError("--timeout, --init-timeout and --memory must be positive")
	}
	return nil
}

// start brings up the emulator (with --emulator) and one warm instance of
// the function; stop ends both.
func (f *functionFlags) start(ctx context.Context, getenv func(string) string, stderr io.Writer) (rt *scflocal.Runtime, stop func(), err error) {
	if _, err := os.Stat(f.cfg.Binary); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("no function binary at %s: run make build-local (make build on linux/amd64), or pass --bin: %w", f.cfg.Binary, err)
	}
	role := []string{envSecretID, envSecretKey, envToken}
	env := map[string]string{}
	for _, k := range role {
		if v := getenv(k); v != "" {
			env[k] = v
		}
	}
	stopEmulator := func() {}
	if f.emulator {
		key := emulator.NewTemporaryKey(f.cfg.Uin)
		emu, err := emulator.Start(ctx, "127.0.0.1:0", emulator.Config{Keys: []emulator.Key{key}, StatePath: f.state,
			Logger: redact.NewLogger(stderr, slog.LevelInfo).With("component", "dbbrain-local")})
		if err != nil {
			return nil, nil, fmt.Errorf("start the DBbrain emulator: %w", err)
		}
		stopEmulator = func() {
			if err := emu.Stop(); err != nil {
				fmt.Fprintf(stderr, "scf-local: stop the emulator: %v\n", err)
			}
		}
		fmt.Fprintf(stderr, "scf-local: DBbrain emulator at %s (temporary key %s)\n", emu.URL, key.SecretID)
		env[envSecretID], env[envSecretKey], env[envToken], env["DBBRAIN_ENDPOINT"] = key.SecretID, key.SecretKey, key.Token, emu.URL
	}
	for _, path := range f.envFiles {
		entries, err := readEnvFile(path)
		if err != nil {
			stopEmulator()
			return nil, nil, &exitError{code: exitUsage, err: err}
		}
		maps.Copy(env, entries)
	}
	for _, kv := range f.env {
		env[kv[0]] = kv[1]
	}
	if env[envSecretID] == "" || env[envSecretKey] == "" {
		fmt.Fprintln(stderr, "scf-local: note: no TENCENTCLOUD_SECRETID/TENCENTCLOUD_SECRETKEY, so the function gets no role credentials")
	}
	cfg := f.cfg
	cfg.Env, cfg.Stderr = env, stderr
	// SCF sets the configured variables at start too; the role's keys only
	// per invocation, where it refreshes them.
	cfg.ProcessEnv = scflocal.BaseProcessEnv(cfg)
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if !slices.Contains(role, k) {
			cfg.ProcessEnv = append(cfg.ProcessEnv, k+"="+env[k])
		}
	}
	if rt, err = scflocal.Start(ctx, cfg); err != nil {
		stopEmulator()
		return nil, nil, failure(err)
	}
	return rt, sync.OnceFunc(func() { _ = rt.Close(); stopEmulator() }), nil
}

// failure classifies an error of the runtime: the function's process dying
// is the function's failure, anything else scf-local's.
func failure(err error) error {
	var pe *scflocal.ProcessExitError
	if errors.As(err, &pe) {
		return &exitError{code: exitFunctionError, err: err}
	}
	return err
}
