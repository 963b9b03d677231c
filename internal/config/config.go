// Package config reads the function's settings from its environment.
//
// Settings are read again on every invocation (it costs a few lookups):
// SCF sets each invocation's environment just before the handler runs, and a
// local runner may pass settings only that way.
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
)

// Environment variables and their defaults; the README's configuration
// table lists the same.
const (
	EnvRegion      = "DBBRAIN_REGION"
	EnvEndpoint    = "DBBRAIN_ENDPOINT"
	EnvRPS         = "DBBRAIN_RPS"
	EnvConcurrency = "DBBRAIN_CONCURRENCY"
	EnvMargin      = "DBBRAIN_DEADLINE_MARGIN"
	EnvLogLevel    = "LOG_LEVEL"

	DefaultRegion      = "ap-guangzhou"
	DefaultRPS         = 20
	DefaultConcurrency = 10
	DefaultMargin      = 500 * time.Millisecond
)

// Config is the function's configuration.
type Config struct {
	Region      string           // DBbrain region, and the only Region parameter accepted.
	Endpoint    dbbrain.Endpoint // Where calls go.
	RPS         float64          // Calls per second for the whole process.
	Concurrency int              // Calls in flight at once within a batch.
	Margin      time.Duration    // Time kept free before the deadline.
	LogLevel    slog.Level       // The lowest level logged.
}

var regionPattern = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+)+$`)

// Load reads the configuration. A bad value is an
// InternalError.InvalidConfiguration *apierror.Error naming the variable.
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		Region:      DefaultRegion,
		RPS:         DefaultRPS,
		Concurrency: DefaultConcurrency,
		Margin:      DefaultMargin,
		LogLevel:    slog.LevelInfo,
	}
	if v := strings.TrimSpace(getenv(EnvRegion)); v != "" {
		if !regionPattern.MatchString(v) {
			return Config{}, invalid(EnvRegion, v, "a region such as ap-guangzhou")
		}
		c.Region = v
	}
	ep, err := dbbrain.ResolveEndpoint(c.Region, strings.TrimSpace(getenv(EnvEndpoint)))
	if err != nil {
		return Config{}, apierror.Wrap(apierror.InvalidConfiguration, err, "%s: %v", EnvEndpoint, err)
	}
	c.Endpoint = ep
	if v := strings.TrimSpace(getenv(EnvRPS)); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 1000 {
			return Config{}, invalid(EnvRPS, v, "a number of requests per second above 0 (DBbrain allows 20)")
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
	if len(value) > 40 {
		value = value[:40] + "…"
	}
	return apierror.New(apierror.InvalidConfiguration, "%s is %s; it must be %s", name, strconv.Quote(value), want)
}

// String renders the configuration for the start-up log line.
func (c Config) String() string {
	return fmt.Sprintf("region=%s endpoint=%s rps=%g concurrency=%d margin=%s log=%s",
		c.Region, c.Endpoint.URL(), c.RPS, c.Concurrency, c.Margin, c.LogLevel)
}
