// Package config is the function's configuration, read once per process, and
// its credentials, found per invocation.
package config

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/redact"
)

// Environment variables; the README's configuration table lists the same.
const (
	EnvRegion      = "DBBRAIN_REGION"
	EnvEndpoint    = "DBBRAIN_ENDPOINT"
	EnvRPS         = "DBBRAIN_RPS"
	EnvConcurrency = "DBBRAIN_CONCURRENCY"
	EnvMargin      = "DBBRAIN_DEADLINE_MARGIN"
	EnvLogLevel    = "LOG_LEVEL"

	// The execution role's, which SCF sets before every invocation.
	EnvRoleSecretID  = "TENCENTCLOUD_SECRETID"
	EnvRoleSecretKey = "TENCENTCLOUD_SECRETKEY"
	EnvRoleToken     = "TENCENTCLOUD_SESSIONTOKEN"
)

// Config is the function's configuration.
type Config struct {
	Region      string           // DBbrain region, and the only Region parameter accepted.
	Endpoint    dbbrain.Endpoint // Where calls go.
	RPS         float64          // The adaptive pace's ceiling, in calls per second for the process.
	Concurrency int              // Calls in flight at once within a batch.
	Margin      time.Duration    // Time kept free before the deadline.
	LogLevel    slog.Level       // The lowest level logged.
}

var regionPattern = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+)+$`)

const maxRPS = 1000 // Above any account's limit, low enough that a typo cannot turn the pacer off.

// Load reads the configuration, an unset variable meaning its default; a bad
// value is a Setup InvalidConfiguration.
func Load(getenv func(string) string) (c Config, err error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	invalid := func(name, want string) error {
		shown := apierror.Quote(redact.URL(get(name)))
		return apierror.E(apierror.Setup, apierror.InvalidConfiguration, "%s is %s; it must be %s", name, shown, want)
	}
	if c.Region = cmp.Or(get(EnvRegion), dbbrain.DefaultRegion); !regionPattern.MatchString(c.Region) {
		return Config{}, invalid(EnvRegion, "a region such as "+dbbrain.DefaultRegion)
	}
	if c.Endpoint, err = dbbrain.ResolveEndpoint(c.Region, get(EnvEndpoint)); err != nil {
		return Config{}, apierror.Wrap(apierror.Setup, apierror.InvalidConfiguration, err, "%s: %v", EnvEndpoint, err)
	}
	if c.RPS, err = strconv.ParseFloat(cmp.Or(get(EnvRPS), fmt.Sprint(dbbrain.RateLimit)), 64); err != nil || !(c.RPS > 0 && c.RPS <= maxRPS) {
		return Config{}, invalid(EnvRPS, fmt.Sprintf("a number of calls per second greater than 0 and at most %d (DBbrain allows %d per account)", maxRPS, dbbrain.RateLimit))
	}
	if c.Concurrency, err = strconv.Atoi(cmp.Or(get(EnvConcurrency), "10")); err != nil || c.Concurrency < 1 || c.Concurrency > 256 {
		return Config{}, invalid(EnvConcurrency, "a whole number from 1 to 256")
	}
	if c.Margin, err = time.ParseDuration(cmp.Or(get(EnvMargin), "500ms")); err != nil || c.Margin < 0 {
		return Config{}, invalid(EnvMargin, "a duration such as 500ms")
	}
	if c.LogLevel.UnmarshalText([]byte(cmp.Or(get(EnvLogLevel), "info"))) != nil {
		return Config{}, invalid(EnvLogLevel, "debug, info, warn or error")
	}
	return c, nil
}

// String renders the configuration for the start-up log line.
func (c Config) String() string {
	return fmt.Sprintf("region=%s endpoint=%s rps=%g concurrency=%d margin=%s log=%s",
		c.Region, c.Endpoint.URL(), c.RPS, c.Concurrency, c.Margin, c.LogLevel)
}

// Credentials finds an invocation's credentials, never cached: SCF rotates the
// role's keys over a warm instance's life.
type Credentials struct {
	Getenv   func(string) string // Reads the role's variables (os.Getenv in production).
	Fallback common.Provider     // Asked when the role's variables are absent; nil means DefaultFallback.
}

// DefaultFallback is the SDK's provider chain: the environment, the profile
// file, then the CVM role, except inside SCF, where no metadata service answers
// and the SDK's provider would wait on it.
func DefaultFallback(getenv func(string) string) common.Provider {
	chain := []common.Provider{common.DefaultEnvProvider(), common.DefaultProfileProvider()}
	if getenv("TENCENTCLOUD_RUNENV") != "SCF" {
		chain = append(chain, common.DefaultCvmRoleProvider())
	}
	return common.NewProviderChain(chain)
}

// Resolve returns the invocation's credential and where it came from, or a
// Setup AuthFailure saying how to provide one.
func (c Credentials) Resolve(ctx context.Context) (common.CredentialIface, string, error) {
	id, key := c.Getenv(EnvRoleSecretID), c.Getenv(EnvRoleSecretKey)
	switch {
	case id != "" && key != "":
		return common.NewTokenCredential(id, key, c.Getenv(EnvRoleToken)), "execution role", nil
	case id != "" || key != "":
		missing := EnvRoleSecretID
		if key == "" {
			missing = EnvRoleSecretKey
		}
		return nil, "", apierror.E(apierror.Setup, apierror.AuthFailure, "incomplete credentials: %s is empty while its pair is set", missing)
	}
	fallback := cmp.Or(c.Fallback, DefaultFallback(c.Getenv))
	found := make(chan common.CredentialIface, 1) // the provider may outlive the wait
	go func() {
		if cred, err := fallback.GetCredential(); err == nil && cred != nil && cred.GetSecretId() != "" && cred.GetSecretKey() != "" {
			found <- cred
		}
		close(found)
	}()
	select {
	case cred := <-found:
		if cred != nil {
			return cred, "provider chain", nil
		}
	case <-ctx.Done():
	case <-time.After(2 * time.Second): // the SDK's CVM-role provider calls the metadata service without a timeout
	}
	return nil, "", apierror.E(apierror.Setup, apierror.AuthFailure,
		"no credentials found: attach an execution role to the function (a CAM role trusted by scf.qcloud.com that allows dbbrain:AddUserContact and dbbrain:DescribeAllUserContact; serverless.yml `role`), "+
			"or for local runs set %s and %s (and %s for temporary keys)", EnvRoleSecretID, EnvRoleSecretKey, EnvRoleToken)
}
