// Package config is the function's configuration, read once per process
// from its environment, and its credentials, found afresh on every
// invocation.
package config

import (
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

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

	DefaultConcurrency = 10
	DefaultMargin      = 500 * time.Millisecond
	// MaxRPS bounds DBBRAIN_RPS: well above any account's limit, low enough
	// that a typo cannot turn the pacer off.
	MaxRPS = 1000
)

// Config is the function's configuration.
type Config struct {
	Region   string           // DBbrain region, and the only Region parameter accepted.
	Endpoint dbbrain.Endpoint // Where calls go.
	// RPS is the ceiling of the adaptive pace, in calls per second for the
	// whole process.
	RPS         float64
	Concurrency int           // Calls in flight at once within a batch.
	Margin      time.Duration // Time kept free before the deadline.
	LogLevel    slog.Level    // The lowest level logged.
}

var regionPattern = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+)+$`)

// Load reads the configuration. A bad value is an
// InternalError.InvalidConfiguration *apierror.Error of kind Setup naming the
// variable.
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		Region:      dbbrain.DefaultRegion,
		RPS:         dbbrain.RateLimit,
		Concurrency: DefaultConcurrency,
		Margin:      DefaultMargin,
		LogLevel:    slog.LevelInfo,
	}
	if v := strings.TrimSpace(getenv(EnvRegion)); v != "" {
		if !regionPattern.MatchString(v) {
			return Config{}, invalid(EnvRegion, v, "a region such as "+dbbrain.DefaultRegion)
		}
		c.Region = v
	}
	ep, err := dbbrain.ResolveEndpoint(c.Region, strings.TrimSpace(getenv(EnvEndpoint)))
	if err != nil {
		return Config{}, apierror.Wrap(apierror.Setup, apierror.InvalidConfiguration, err, "%s: %v", EnvEndpoint, err)
	}
	c.Endpoint = ep
	if v := strings.TrimSpace(getenv(EnvRPS)); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0 && f <= MaxRPS) {
			return Config{}, invalid(EnvRPS, v, fmt.Sprintf("a number of calls per second greater than 0 and at most %d (DBbrain allows %d per account)", MaxRPS, dbbrain.RateLimit))
		}
		c.RPS = f
	}
	if v := strings.TrimSpace(getenv(EnvConcurrency)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 256 {
			return Config{}, invalid(EnvConcurrency, v, "a whole number from 1 to 256")
		}
		c.Concurrency = n
	}
	if v := strings.TrimSpace(getenv(EnvMargin)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return Config{}, invalid(EnvMargin, v, "a duration such as 500ms")
		}
		c.Margin = d
	}
	if v := strings.TrimSpace(getenv(EnvLogLevel)); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return Config{}, invalid(EnvLogLevel, v, "debug, info, warn or error")
		}
	}
	return c, nil
}

func invalid(name, value, want string) error {
	return apierror.E(apierror.Setup, apierror.InvalidConfiguration, "%s is %s; it must be %s", name, apierror.Quote(redact.URLsIn(value)), want)
}

// String renders the configuration for the start-up log line.
func (c Config) String() string {
	return fmt.Sprintf("region=%s endpoint=%s rps=%g concurrency=%d margin=%s log=%s",
		c.Region, c.Endpoint.URL(), c.RPS, c.Concurrency, c.Margin, c.LogLevel)
}
