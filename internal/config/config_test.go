package config

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
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
	for name, m := range map[string]map[string]string{
		EnvRegion:      {EnvRegion: "Guangzhou!"},
		EnvEndpoint:    {EnvEndpoint: "ftp://x"},
		"path":         {EnvEndpoint: "http://127.0.0.1:9000/api"},
		EnvRPS:         {EnvRPS: "fast"},
		"zero rps":     {EnvRPS: "0"},
		"huge rps":     {EnvRPS: "1001"},
		EnvConcurrency: {EnvConcurrency: "0"},
		EnvMargin:      {EnvMargin: "-1s"},
		EnvLogLevel:    {EnvLogLevel: "loud"},
	} {
		_, err := Load(env(m))
		if e := apierror.From(err); e == nil || e.Code != apierror.InvalidConfiguration {
			t.Errorf("%s: got %v", name, err)
		} else if !strings.Contains(e.Message, "DBBRAIN_") && !strings.Contains(e.Message, "LOG_LEVEL") {
			t.Errorf("%s: message does not name the variable: %s", name, e.Message)
		}
	}
}

// The RPS message names the real range.
func TestRPSRangeIsNamed(t *testing.T) {
	_, err := Load(env(map[string]string{EnvRPS: "0"}))
	if !strings.Contains(err.Error(), "greater than 0 and at most 1000") {
		t.Errorf("got %v", err)
	}
	if _, err := Load(env(map[string]string{EnvRPS: "1000"})); err != nil {
		t.Errorf("1000 refused: %v", err)
	}
}
