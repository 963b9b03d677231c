// Package scflocal runs a built SCF (Tencent Serverless Cloud Function) Go1
// binary on this machine the way the Go1 runtime runs it in the cloud: the
// binary answers Go net/rpc calls Function.Ping and Function.Invoke
// (github.com/tencentyun/scf-go-lib's own code), gets a
// real deadline and the per-invocation Environment on every call, is killed
// when it overruns its time limit or panics, and is started again (a cold
// start) for the next request. A Runtime is one instance: one request at a
// time.
//
// The function's output and SCF-style platform lines go to Config.Stderr:
//
//	START RequestId:<id>
//	<the function's output>
//	ERROR RequestId:<id> Result:<Type>: <Message>      (failed invocations only)
//	END RequestId:<id>
//	Report RequestId:<id> Duration:0.48ms BilledDuration:1ms Memory:128MB MemUsage:7.89MB InitDuration:4.24ms
//
// InitDuration appears on a cold start only. Output is copied through a pipe,
// so a function's last lines can land just after END.
//
// Unlike the cloud, where scf-go-lib listens on 0.0.0.0:$_LAMBDA_SERVER_PORT
// inside the sandbox, a local instance listens nowhere: it inherits one end
// of a Unix socket pair as fd 3 (SCF_LOCAL_RPC_FD, served by
// internal/rpcserve), so that no other host or local process can invoke it
// with the credentials it holds. A binary that ignores the fd cannot listen
// either (_LAMBDA_SERVER_PORT is not a port) and fails to start.
package scflocal

import (
	"cmp"
	"errors"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
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
	DefaultStopGrace     = 2 * time.Second
	DefaultRegion        = dbbrain.DefaultRegion
	DefaultAppID         = "1250000000"
	DefaultUin           = "100000000001"
)

// Config describes the function and its instance. Zero fields take the
// Default* values.
type Config struct {
	Binary string // The built function, e.g. dist/main. Required.

	FunctionName  string // Reported to the function, as the next three.
	Namespace     string
	Version       string
	MemoryLimitMB int // Reported (MemoryLimitInMb, the report line), not enforced.

	// Timeout is the time limit of an invocation: its Deadline and
	// TimeLimitInMs. An invocation still running then is timed out.
	Timeout     time.Duration
	InitTimeout time.Duration // Bounds the wait for the first Function.Ping answer.
	StopGrace   time.Duration // Between SIGTERM and SIGKILL when Close stops the instance.

	Region string // TencentcloudRegion.
	AppID  string // TencentcloudAppID.
	Uin    string // TencentcloudUin.

	// Env is the Environment sent with every invocation, which the library
	// os.Setenv's before calling the handler: SCF sends the execution role's
	// temporary credentials (TENCENTCLOUD_SECRETID, ...) this way.
	Env map[string]string

	// ProcessEnv is the environment the binary starts with; nil means
	// BaseProcessEnv(cfg). It is never the caller's own, so that secrets in
	// the developer's shell do not reach the function. HOME, TMPDIR,
	// SCF_LOCAL_RPC_FD and _LAMBDA_SERVER_PORT are set on top of it.
	ProcessEnv []string

	// Stderr receives the function's output and the platform lines; nil
	// discards them. The Runtime serialises its writes.
	Stderr io.Writer
}

// withDefaults copies c with zero fields defaulted, and its map and slice
// copied so that the caller's later changes cannot race with the runtime.
func (c Config) withDefaults() (Config, error) {
	c.FunctionName = cmp.Or(c.FunctionName, DefaultFunctionName)
	c.Namespace = cmp.Or(c.Namespace, DefaultNamespace)
	c.Version = cmp.Or(c.Version, DefaultVersion)
	c.MemoryLimitMB = cmp.Or(c.MemoryLimitMB, DefaultMemoryLimitMB)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.InitTimeout = cmp.Or(c.InitTimeout, DefaultInitTimeout)
	c.StopGrace = cmp.Or(c.StopGrace, DefaultStopGrace)
	c.Region = cmp.Or(c.Region, DefaultRegion)
	c.AppID = cmp.Or(c.AppID, DefaultAppID)
	c.Uin = cmp.Or(c.Uin, DefaultUin)
	c.Env, c.ProcessEnv = maps.Clone(c.Env), slices.Clone(c.ProcessEnv)
	if c.Env == nil {
		c.Env = map[string]string{}
	}
	if c.Binary == "" {
		return c, errors.New("scflocal: Config.Binary is required")
	}
	// TimeLimitInMs is an int32 on the wire.
	if c.Timeout < 0 || c.InitTimeout < 0 || c.StopGrace < 0 || c.MemoryLimitMB < 0 || c.Timeout.Milliseconds() > 1<<31-1 {
		return c, errors.New("scflocal: a duration or MemoryLimitMB is negative or too large")
	}
	return c, nil
}

// BaseProcessEnv returns the environment SCF gives a Go1 instance at start:
// the function's identity (SCF_*), the account (TENCENTCLOUD_REGION, _APPID,
// _UIN), TENCENTCLOUD_RUNENV=SCF, USER_CODE_ROOT (the binary's directory, as
// /var/user/ in the cloud), a fixed PATH and an empty TZ (UTC, without
// changing what os.Getenv("TZ") returns). Callers that need more append to it
// and pass the result as Config.ProcessEnv.
func BaseProcessEnv(cfg Config) []string {
	cfg, _ = cfg.withDefaults()
	root, err := filepath.Abs(filepath.Dir(cfg.Binary))
	if err != nil {
		root = filepath.Dir(cfg.Binary)
	}
	return []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
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
