package config

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Region != "ap-guangzhou" || c.RPS != 20 || c.Concurrency != 10 || c.Margin != 500*time.Millisecond || c.LogLevel != slog.LevelInfo {
		t.Errorf("defaults: %s", c)
	}
	if c.Endpoint != (dbbrain.Endpoint{Scheme: "HTTPS", Host: "dbbrain.tencentcloudapi.com"}) {
		t.Errorf("endpoint %+v", c.Endpoint)
	}
}

func TestFinanceRegionAndOverride(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{EnvRegion: "ap-shanghai-fsi"}))
	if err != nil || c.Endpoint.Host != "dbbrain.ap-shanghai-fsi.tencentcloudapi.com" {
		t.Fatalf("fsi: %+v %v", c.Endpoint, err)
	}
	c, err = Load(env(map[string]string{EnvEndpoint: "http://127.0.0.1:9000", EnvRPS: "5", EnvConcurrency: "3", EnvMargin: "1s", EnvLogLevel: "debug"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoint != (dbbrain.Endpoint{Scheme: "HTTP", Host: "127.0.0.1:9000"}) || c.RPS != 5 || c.Concurrency != 3 || c.Margin != time.Second || c.LogLevel != slog.LevelDebug {
		t.Errorf("override: %s", c)
	}
}

func TestInvalid(t *testing.T) {
	t.Parallel()
	for name, m := range map[string]map[string]string{
		EnvRegion:      {EnvRegion: "Guangzhou!"},
		EnvEndpoint:    {EnvEndpoint: "ftp://x"},
		"path":         {EnvEndpoint: "http://127.0.0.1:9000/api"},
		EnvRPS:         {EnvRPS: "fast"},
		"zero rps":     {EnvRPS: "0"},
		"huge rps":     {EnvRPS: "1001"},
		EnvConcurrency: {EnvConcurrency: "0"},
		"concurrency":  {EnvConcurrency: "257"},
		"margin":       {EnvMargin: "soon"},
		EnvMargin:      {EnvMargin: "-1s"},
		EnvLogLevel:    {EnvLogLevel: "loud"},
	} {
		_, err := Load(env(m))
		if e := apierror.From(err); e == nil || e.Code != apierror.InvalidConfiguration || e.Kind != apierror.Setup {
			t.Errorf("%s: got %v (kind %d), want a Setup InvalidConfiguration", name, err, apierror.KindOf(err))
		} else if !strings.Contains(e.Message, "DBBRAIN_") && !strings.Contains(e.Message, "LOG_LEVEL") {
			t.Errorf("%s: message does not name the variable: %s", name, e.Message)
		}
	}
}

// The RPS message names the real range.
func TestRPSRangeIsNamed(t *testing.T) {
	t.Parallel()
	_, err := Load(env(map[string]string{EnvRPS: "0"}))
	if !strings.Contains(err.Error(), "greater than 0 and at most 1000") {
		t.Errorf("got %v", err)
	}
	if _, err := Load(env(map[string]string{EnvRPS: "1000"})); err != nil {
		t.Errorf("1000 refused: %v", err)
	}
}

// An endpoint's password never reaches the error, which is logged and may
// be answered; the variable is named and the rest of the URL kept.
func TestEndpointPasswordMasked(t *testing.T) {
	t.Parallel()
	for _, ep := range []string{
		"http://user:s3cr3t@127.0.0.1:9000",
		"http://user:s3cr3t@127.0.0.1:9000/api",
		"ftp://user:s3cr3t@127.0.0.1:9000",
		"http://user:s3cr3t@[::1",
		"http://user:s3cr3t@127.0.0.1:9000/?q=1",
	} {
		_, err := Load(env(map[string]string{EnvEndpoint: ep}))
		e := apierror.From(err)
		if e == nil || e.Kind != apierror.Setup || e.Code != apierror.InvalidConfiguration {
			t.Errorf("%s: got %v", ep, err)
			continue
		}
		if msg := fmt.Sprintf("%v %+v %s", err, e, e.Message); strings.Contains(msg, "s3cr3t") || !strings.Contains(msg, EnvEndpoint) || !strings.Contains(msg, "user:xxxxx@") {
			t.Errorf("%s: %s", ep, msg)
		}
	}
	// A value that is no URL is quoted masked too.
	_, err := Load(env(map[string]string{EnvRPS: "https://u:s3cr3t@h"}))
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("rps: %v", err)
	}
}

// A password holding a space, a quote, a bracket, an "@" or a "/" is masked
// whole too, in the endpoint's message and in any variable's.
func TestEndpointOddPasswordMasked(t *testing.T) {
	t.Parallel()
	for _, odd := range []string{" ", `"`, "<", "@", "/", "/x@", "#"} {
		for _, name := range []string{EnvEndpoint, EnvRPS, EnvConcurrency, EnvMargin, EnvLogLevel} {
			ep := "http://user:PWA" + odd + "PWB@127.0.0.1:9000"
			_, err := Load(env(map[string]string{name: ep}))
			e := apierror.From(err)
			if e == nil || e.Kind != apierror.Setup || e.Code != apierror.InvalidConfiguration {
				t.Errorf("%s=%s: got %v", name, ep, err)
				continue
			}
			if msg := fmt.Sprintf("%v %+v %s", err, e, e.Message); strings.Contains(msg, "PWA") || strings.Contains(msg, "PWB") || !strings.Contains(msg, name) || !strings.Contains(msg, "user:xxxxx@") {
				t.Errorf("%s=%s: %s", name, ep, msg)
			}
		}
	}
}

// String, the start-up log line, shows the whole configuration.
func TestString(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{EnvEndpoint: "http://127.0.0.1:9000", EnvRPS: "2.5"}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.String(), "region=ap-guangzhou endpoint=http://127.0.0.1:9000 rps=2.5 concurrency=10 margin=500ms log=INFO"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
