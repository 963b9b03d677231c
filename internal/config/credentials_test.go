package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"go.uber.org/goleak"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type envVars map[string]string

func (e envVars) get(k string) string { return e[k] }

type fakeProvider struct {
	c   common.CredentialIface
	err error
}

func (f fakeProvider) GetCredential() (common.CredentialIface, error) { return f.c, f.err }

func TestRoleCredentialFirst(t *testing.T) {
	r := Resolver{Getenv: envVars{
		EnvRoleSecretID: "AKIDrole", EnvRoleSecretKey: "rolekey", EnvRoleToken: "roletoken",
		EnvSecretID: "AKIDenv", EnvSecretKey: "envkey",
	}.get}
	c, err := r.Resolve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.SecretID != "AKIDrole" || c.Token != "roletoken" || c.Source != "execution role" {
		t.Errorf("got %+v", c)
	}
	id, key, tok := c.SDK().GetCredential()
	if id != "AKIDrole" || key != "rolekey" || tok != "roletoken" {
		t.Errorf("SDK credential = %s %s %s", id, key, tok)
	}
}

func TestEnvThenFallback(t *testing.T) {
	c, err := Resolver{Getenv: envVars{EnvSecretID: "AKIDenv", EnvSecretKey: "envkey"}.get}.Resolve(context.Background())
	if err != nil || c.SecretID != "AKIDenv" || c.Token != "" {
		t.Fatalf("env: %+v %v", c, err)
	}
	r := Resolver{Getenv: envVars{}.get, Fallback: []Provider{
		fakeProvider{err: errors.New("no profile")},
		fakeProvider{c: common.NewTokenCredential("AKIDcvm", "cvmkey", "cvmtoken")},
	}}
	c, err = r.Resolve(context.Background())
	if err != nil || c.SecretID != "AKIDcvm" || c.Token != "cvmtoken" {
		t.Fatalf("fallback: %+v %v", c, err)
	}
}

func TestNoneIsAuthFailure(t *testing.T) {
	_, err := Resolver{Getenv: envVars{}.get, Fallback: []Provider{fakeProvider{err: errors.New("none")}}}.Resolve(context.Background())
	e := apierror.From(err)
	if e.Code != apierror.AuthFailure || !strings.Contains(e.Message, "execution role") {
		t.Fatalf("got %v", err)
	}
	_, err = Resolver{Getenv: envVars{EnvRoleSecretID: "AKID"}.get}.Resolve(context.Background())
	if e := apierror.From(err); e.Code != apierror.AuthFailure || !strings.Contains(e.Message, EnvRoleSecretKey) {
		t.Fatalf("half pair: %v", err)
	}
}

type blockingProvider struct{ release chan struct{} }

func (b blockingProvider) GetCredential() (common.CredentialIface, error) {
	<-b.release
	return nil, errors.New("gave up")
}

func TestSlowProviderHonoursContext(t *testing.T) {
	p := blockingProvider{release: make(chan struct{})}
	defer close(p.release)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Resolver{Getenv: envVars{}.get, Fallback: []Provider{p}}.Resolve(ctx)
	if apierror.CodeOf(err) != apierror.AuthFailure {
		t.Fatalf("got %v", err)
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	c := Credential{SecretID: "AKIDx", SecretKey: "supersecretkey", Token: "supersecrettoken", Source: "execution role"}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("x", "cred", c)
	out := b.String() + fmt.Sprint(c) + fmt.Sprintf("%v %+v %s %#v", c, c, c, c)
	if strings.Contains(out, "supersecret") {
		t.Fatalf("secret printed: %s", out)
	}
}

func TestDefaultFallbackSkipsCVMRoleInSCF(t *testing.T) {
	if n := len(DefaultFallback(envVars{"TENCENTCLOUD_RUNENV": "SCF"}.get)); n != 1 {
		t.Errorf("%d fallback providers in SCF", n)
	}
	if n := len(DefaultFallback(envVars{}.get)); n != 2 {
		t.Errorf("%d fallback providers outside SCF", n)
	}
}
