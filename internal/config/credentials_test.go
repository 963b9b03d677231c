package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

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

// The SDK's environment provider's variables, which it reads with
// os.LookupEnv.
const (
	sdkSecretID  = "TENCENTCLOUD_SECRET_ID"
	sdkSecretKey = "TENCENTCLOUD_SECRET_KEY"
)

// isolate makes the SDK's own chain see no credentials of the machine the
// test runs on: no environment pair, no profile file.
func isolate(t *testing.T) {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	for _, k := range []string{sdkSecretID, sdkSecretKey, "TENCENTCLOUD_CREDENTIALS_FILE"} {
		t.Setenv(k, "")
		if err := os.Unsetenv(k); err != nil {
			t.Fatal(err)
		}
	}
}

// wantAuthFailure fails unless err is a Setup AuthFailure mentioning
// every one of mention.
func wantAuthFailure(t *testing.T, err error, mention ...string) {
	t.Helper()
	e := apierror.From(err)
	if e == nil || e.Kind != apierror.Setup || e.Code != apierror.AuthFailure {
		t.Fatalf("got %v (kind %d), want a Setup AuthFailure", err, apierror.KindOf(err))
	}
	for _, m := range mention {
		if !strings.Contains(e.Message, m) {
			t.Errorf("message %q does not mention %q", e.Message, m)
		}
	}
}

func TestRoleCredentialFirst(t *testing.T) {
	t.Parallel()
	called := false
	c, source, err := Credentials{
		Getenv: envVars{EnvRoleSecretID: "AKIDrole", EnvRoleSecretKey: "rolekey", EnvRoleToken: "roletoken"}.get,
		Fallback: providerFunc(func() (common.CredentialIface, error) {
			called = true
			return common.NewCredential("AKIDother", "k"), nil
		}),
	}.Resolve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if source != "execution role" || called {
		t.Errorf("source %q, fallback called %v", source, called)
	}
	id, key, tok := c.GetCredential()
	if id != "AKIDrole" || key != "rolekey" || tok != "roletoken" {
		t.Errorf("credential = %s %s %s", id, key, tok)
	}
	// A permanent key pair has no token, and the SDK then sends none.
	c, _, err = Credentials{Getenv: envVars{EnvRoleSecretID: "AKIDrole", EnvRoleSecretKey: "rolekey"}.get}.Resolve(context.Background())
	if err != nil || c.GetToken() != "" {
		t.Errorf("pair without token: %v %v", c, err)
	}
}

// Credentials are read on every invocation: SCF rotates the role's keys
// over a warm instance's life.
func TestReadAfreshEachTime(t *testing.T) {
	t.Parallel()
	env := envVars{EnvRoleSecretID: "AKIDfirst", EnvRoleSecretKey: "k1", EnvRoleToken: "t1"}
	creds := Credentials{Getenv: func(k string) string { return env[k] }}
	first, _, err := creds.Resolve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	env[EnvRoleSecretID], env[EnvRoleToken] = "AKIDsecond", "t2"
	second, _, err := creds.Resolve(context.Background())
	if err != nil || first.GetSecretId() != "AKIDfirst" || second.GetSecretId() != "AKIDsecond" || second.GetToken() != "t2" {
		t.Errorf("first %s, second %s (%v)", first.GetSecretId(), second.GetSecretId(), err)
	}
}

func TestFallbackProvider(t *testing.T) {
	t.Parallel()
	c, source, err := Credentials{Getenv: envVars{}.get, Fallback: fakeProvider{c: common.NewTokenCredential("AKIDcvm", "cvmkey", "cvmtoken")}}.Resolve(context.Background())
	if err != nil || c.GetSecretId() != "AKIDcvm" || c.GetToken() != "cvmtoken" || source != "provider chain" {
		t.Fatalf("fallback: %v %q %v", c, source, err)
	}
	// The SDK's chain, in order: the first provider that has credentials.
	chain := common.NewProviderChain([]common.Provider{
		common.NewEnvProvider("TEST_UNSET_SECRET_ID_9f2c", "TEST_UNSET_SECRET_KEY_9f2c"),
		fakeProvider{c: common.NewCredential("AKIDsecond", "k2")},
		fakeProvider{c: common.NewCredential("AKIDthird", "k3")},
	})
	c, _, err = Credentials{Getenv: envVars{}.get, Fallback: chain}.Resolve(context.Background())
	if err != nil || c.GetSecretId() != "AKIDsecond" {
		t.Fatalf("chain: %v %v", c, err)
	}
}

// TENCENTCLOUD_SECRET_ID and _KEY come through the SDK's own environment
// provider, first in the default chain, then the profile file.
func TestDefaultChain(t *testing.T) {
	isolate(t)
	scf := envVars{"TENCENTCLOUD_RUNENV": "SCF"}.get
	_, _, err := Credentials{Getenv: scf}.Resolve(context.Background())
	wantAuthFailure(t, err, "no credentials found", "execution role", EnvRoleSecretID, EnvRoleSecretKey, EnvRoleToken)

	profile := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(profile, []byte("[default]\nsecret_id = AKIDprofile\nsecret_key = profilekey\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TENCENTCLOUD_CREDENTIALS_FILE", profile)
	c, source, err := Credentials{Getenv: scf}.Resolve(context.Background())
	if err != nil || c.GetSecretId() != "AKIDprofile" || c.GetSecretKey() != "profilekey" || source != "provider chain" {
		t.Fatalf("profile: %v %q %v", c, source, err)
	}

	t.Setenv(sdkSecretID, "AKIDenv")
	t.Setenv(sdkSecretKey, "envkey")
	c, _, err = Credentials{Getenv: scf}.Resolve(context.Background())
	if err != nil || c.GetSecretId() != "AKIDenv" || c.GetSecretKey() != "envkey" || c.GetToken() != "" {
		t.Fatalf("env: %v %v", c, err)
	}

	// The role's variables come before all of them.
	c, _, err = Credentials{Getenv: envVars{"TENCENTCLOUD_RUNENV": "SCF", EnvRoleSecretID: "AKIDrole", EnvRoleSecretKey: "rk"}.get}.Resolve(context.Background())
	if err != nil || c.GetSecretId() != "AKIDrole" {
		t.Fatalf("role over env: %v %v", c, err)
	}
}

// An empty half of the SDK's environment pair is the SDK's refusal, which
// is "no credentials", not a pair with an empty key.
func TestDefaultChainHalfEnvPair(t *testing.T) {
	isolate(t)
	t.Setenv(sdkSecretID, "AKIDenv")
	t.Setenv(sdkSecretKey, "")
	_, _, err := Credentials{Getenv: envVars{"TENCENTCLOUD_RUNENV": "SCF"}.get}.Resolve(context.Background())
	wantAuthFailure(t, err, "no credentials found")
}

func TestNoneIsAuthFailure(t *testing.T) {
	t.Parallel()
	for name, p := range map[string]common.Provider{
		"error":       fakeProvider{err: errors.New("none")},
		"nil":         fakeProvider{},
		"empty key":   fakeProvider{c: common.NewCredential("AKIDx", "")},
		"empty id":    fakeProvider{c: common.NewCredential("", "key")},
		"empty chain": common.NewProviderChain(nil),
	} {
		_, _, err := Credentials{Getenv: envVars{}.get, Fallback: p}.Resolve(context.Background())
		t.Run(name, func(t *testing.T) { wantAuthFailure(t, err, "no credentials found", "execution role") })
	}
	for missing, env := range map[string]envVars{
		EnvRoleSecretKey: {EnvRoleSecretID: "AKID", EnvRoleToken: "t"},
		EnvRoleSecretID:  {EnvRoleSecretKey: "key"},
	} {
		var called atomic.Bool
		_, _, err := Credentials{Getenv: env.get, Fallback: providerFunc(func() (common.CredentialIface, error) {
			called.Store(true)
			return common.NewCredential("AKIDother", "k"), nil
		})}.Resolve(context.Background())
		wantAuthFailure(t, err, "incomplete credentials: "+missing+" is empty")
		if called.Load() {
			t.Error("half a role pair fell back to another credential")
		}
	}
}

type providerFunc func() (common.CredentialIface, error)

func (f providerFunc) GetCredential() (common.CredentialIface, error) { return f() }

// A fallback provider that never answers (the SDK's CVM-role provider
// waits on the metadata service with no timeout) is given up after 2 s,
// and a context that ends first ends the wait sooner.
func TestHangingProviderIsBounded(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer synctest.Wait() // the abandoned provider returns once released
		defer close(release)
		hanging := providerFunc(func() (common.CredentialIface, error) {
			<-release
			return common.NewCredential("AKIDlate", "late"), nil
		})
		start := time.Now()
		_, _, err := Credentials{Getenv: envVars{}.get, Fallback: hanging}.Resolve(context.Background())
		wantAuthFailure(t, err, "no credentials found")
		if took := time.Since(start); took != 2*time.Second {
			t.Errorf("gave up after %s, want 2s", took)
		}

		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start = time.Now()
		_, _, err = Credentials{Getenv: envVars{}.get, Fallback: hanging}.Resolve(ctx)
		wantAuthFailure(t, err)
		if took := time.Since(start); took != 300*time.Millisecond {
			t.Errorf("gave up after %s, want the context's 300ms", took)
		}

		cancelled, cancelNow := context.WithCancel(context.Background())
		cancelNow()
		start = time.Now()
		_, _, err = Credentials{Getenv: envVars{}.get, Fallback: hanging}.Resolve(cancelled)
		wantAuthFailure(t, err)
		if took := time.Since(start); took != 0 {
			t.Errorf("a cancelled context waited %s", took)
		}
	})
}

// No secret reaches an error or the source, whichever way resolving goes.
func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	secret := "supersecret"
	var out []string
	for _, tc := range []struct {
		env envVars
		p   common.Provider
	}{
		{envVars{EnvRoleSecretID: "AKIDx", EnvRoleSecretKey: secret + "key", EnvRoleToken: secret + "token"}, nil},
		{envVars{EnvRoleSecretKey: secret + "key", EnvRoleToken: secret + "token"}, nil},
		{envVars{EnvRoleSecretID: "AKIDx", EnvRoleToken: secret + "token"}, nil},
		{envVars{}, fakeProvider{err: errors.New("profile has secret_key = " + secret)}},
		{envVars{}, fakeProvider{c: common.NewTokenCredential("", secret+"key", secret+"token")}},
		{envVars{}, fakeProvider{c: common.NewTokenCredential("AKIDx", secret+"key", secret+"token")}},
	} {
		_, source, err := Credentials{Getenv: tc.env.get, Fallback: tc.p}.Resolve(context.Background())
		out = append(out, source, fmt.Sprint(err), fmt.Sprintf("%+v %#v", err, apierror.From(err)))
	}
	if all := strings.Join(out, "\n"); strings.Contains(all, secret) {
		t.Fatalf("secret printed:\n%s", all)
	}
}

func TestDefaultFallbackSkipsCVMRoleInSCF(t *testing.T) {
	t.Parallel()
	providers := func(getenv func(string) string) []common.Provider {
		t.Helper()
		chain, ok := DefaultFallback(getenv).(*common.ProviderChain)
		if !ok {
			t.Fatalf("DefaultFallback is a %T, want the SDK's chain", DefaultFallback(getenv))
		}
		return chain.Providers
	}
	inSCF := providers(envVars{"TENCENTCLOUD_RUNENV": "SCF"}.get)
	if len(inSCF) != 2 {
		t.Fatalf("%d providers in SCF, want the environment and the profile file", len(inSCF))
	}
	if _, ok := inSCF[0].(*common.EnvProvider); !ok {
		t.Errorf("first in SCF: %T", inSCF[0])
	}
	if _, ok := inSCF[1].(*common.ProfileProvider); !ok {
		t.Errorf("second in SCF: %T", inSCF[1])
	}
	outside := providers(envVars{}.get)
	if len(outside) != 3 {
		t.Fatalf("%d providers outside SCF", len(outside))
	}
	if _, ok := outside[2].(*common.CvmRoleProvider); !ok {
		t.Errorf("last outside SCF: %T, want the CVM role", outside[2])
	}
}
