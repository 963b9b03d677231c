package scflocal

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"time"
)

// Defaults used when the matching Config field is zero. The account ids are
// fakes of the right shape: nothing here talks to Tencent Cloud.
const (
	DefaultFunctionName  = "addusercontact"
	DefaultNamespace     = "default"
	DefaultVersion       = "$LATEST"
	DefaultMemoryLimitMB = 128
	DefaultTimeout       = 3 * time.Second
	DefaultInitTimeout   = 10 * time.Second
	DefaultRegion        = "ap-guangzhou"
	DefaultAppID         = "1250000000"
	DefaultUin           = "100000000001"
	// DefaultStopGrace is how long Close waits after SIGTERM before SIGKILL.
	DefaultStopGrace = 2 * time.Second
)

// defaultPath is the PATH the function sees. It is fixed rather than copied
// from the caller so that the function's environment does not depend on (or
// leak) the developer's shell.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Config describes the function and its instance. Zero fields take the
// Default* values.
type Config struct {
	// Binary is the path of the built function (e.g. dist/main). Required.
	Binary string

	FunctionName string // Reported to the function.
	Namespace    string // Reported to the function.
	Version      string // Reported to the function.

	// MemoryLimitMB is reported to the function (MemoryLimitInMb) and in the
	// report line. It is not enforced.
	MemoryLimitMB int
	// Timeout is the per-invocation time limit: it becomes the request's
	// Deadline and TimeLimitInMs, and an invocation still running at
	// Deadline (plus a small grace for the answer to travel) is timed out.
	Timeout time.Duration
	// InitTimeout bounds the wait for a started binary to answer
	// Function.Ping.
	InitTimeout time.Duration
	// StopGrace is how long Close waits for the process to exit after
	// SIGTERM before it sends SIGKILL.
	StopGrace time.Duration

	Region string // TencentcloudRegion.
	AppID  string // TencentcloudAppID.
	Uin    string // TencentcloudUin.

	// Env is the invocation Environment sent with every request; the
	// library sets each entry with os.Setenv before calling the handler.
	// The execution role's temporary credentials (TENCENTCLOUD_SECRETID,
	// TENCENTCLOUD_SECRETKEY, TENCENTCLOUD_SESSIONTOKEN) belong here, as
	// SCF sends them per invocation. The map is copied by Start.
	Env map[string]string

	// ProcessEnv is the process environment the binary starts with. When
	// nil, BaseProcessEnv(cfg) is used. It is never the caller's own
	// environment: secrets in the developer's shell must not reach the
	// function. TMPDIR, HOME and _LAMBDA_SERVER_PORT are always set by
	// the runtime on top of it.
	ProcessEnv []string

	// Stderr receives the function's stdout and stderr (its logs) and the
	// platform lines (START, ERROR, END, Report). Nil discards them. Writes
	// are serialised by the Runtime.
	Stderr io.Writer
}

// withDefaults returns a copy of c with zero fields defaulted and the maps
// and slices copied, so that later changes by the caller cannot race with
// the runtime.
func (c Config) withDefaults() Config {
	if c.FunctionName == "" {
		c.FunctionName = DefaultFunctionName
	}
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if c.Version == "" {
		c.Version = DefaultVersion
	}
	if c.MemoryLimitMB == 0 {
		c.MemoryLimitMB = DefaultMemoryLimitMB
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.InitTimeout == 0 {
		c.InitTimeout = DefaultInitTimeout
	}
	if c.StopGrace == 0 {
		c.StopGrace = DefaultStopGrace
	}
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	if c.AppID == "" {
		c.AppID = DefaultAppID
	}
	if c.Uin == "" {
		c.Uin = DefaultUin
	}
	c.Env = maps.Clone(c.Env)
	if c.ProcessEnv != nil {
		c.ProcessEnv = append([]string(nil), c.ProcessEnv...)
	}
	if c.Stderr == nil {
		c.Stderr = io.Discard
	}
	return c
}

func (c Config) validate() error {
	if c.Binary == "" {
		return errors.New("scflocal: Config.Binary is required")
	}
	if c.Timeout < 0 || c.InitTimeout < 0 || c.StopGrace < 0 {
		return errors.New("scflocal: durations must not be negative")
	}
	if c.MemoryLimitMB < 0 {
		return fmt.Errorf("scflocal: MemoryLimitMB %d must not be negative", c.MemoryLimitMB)
	}
	// TimeLimitInMs is an int32 on the wire.
	if c.Timeout.Milliseconds() > 1<<31-1 {
		return fmt.Errorf("scflocal: Timeout %s too large", c.Timeout)
	}
	return nil
}

// BaseProcessEnv returns the environment SCF gives a Go1 instance at start,
// for cfg: the function's identity (SCF_FUNCTIONNAME, SCF_FUNCTIONVERSION,
// SCF_NAMESPACE, SCF_RUNTIME), the account (TENCENTCLOUD_REGION,
// TENCENTCLOUD_APPID, TENCENTCLOUD_UIN), TENCENTCLOUD_RUNENV=SCF,
// USER_CODE_ROOT (the binary's directory, /var/user/ in the cloud), a fixed
// PATH and an empty TZ (UTC, SCF's default, without changing what
// os.Getenv("TZ") returns). Callers that need more append to it and pass the
// result as Config.ProcessEnv.
func BaseProcessEnv(cfg Config) []string {
	cfg = cfg.withDefaults()
	root := filepath.Dir(cfg.Binary)
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	return []string{
		"PATH=" + defaultPath,
		"TZ=",
		"USER_CODE_ROOT=" + root + string(filepath.Separator),
		"SCF_RUNTIME=Go1",
		"SCF_FUNCTIONNAME=" + cfg.FunctionName,
		"SCF_FUNCTIONVERSION=" + cfg.Version,
		"SCF_NAMESPACE=" + cfg.Namespace,
		"TENCENTCLOUD_RUNENV=SCF",
		"TENCENTCLOUD_REGION=" + cfg.Region,
		"TENCENTCLOUD_APPID=" + cfg.AppID,
		"TENCENTCLOUD_UIN=" + cfg.Uin,
	}
}
