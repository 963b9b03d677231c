package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

// Environment variables read on every invocation.
const (
	EnvRoleSecretID  = "TENCENTCLOUD_SECRETID"
	EnvRoleSecretKey = "TENCENTCLOUD_SECRETKEY"
	EnvRoleToken     = "TENCENTCLOUD_SESSIONTOKEN"
	EnvSecretID      = "TENCENTCLOUD_SECRET_ID"
	EnvSecretKey     = "TENCENTCLOUD_SECRET_KEY"
)

// Credential is a key pair with an optional session token, found afresh on
// every invocation: SCF hands the execution role's temporary keys to each
// invocation through its environment (TENCENTCLOUD_SECRETID,
// TENCENTCLOUD_SECRETKEY, TENCENTCLOUD_SESSIONTOKEN) and refreshes them over
// the life of a warm instance, so a key read once at start-up would expire
// under a long-lived instance. It logs without its secrets.
type Credential struct {
	SecretID  string // The key's id, safe to log.
	SecretKey string // The signing secret, never logged.
	Token     string // The session token of a temporary key, never logged.
	// Source says where the credential came from, for the log.
	Source string
}

// SDK returns the credential in the SDK's form; a token makes the SDK send
// X-TC-Token.
func (c Credential) SDK() common.CredentialIface {
	return common.NewTokenCredential(c.SecretID, c.SecretKey, c.Token)
}

// LogValue keeps the key and token out of every log, whatever the handler.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("source", c.Source),
		slog.String("secret_id", c.SecretID),
		slog.Bool("temporary", c.Token != ""),
	)
}

// String keeps the secrets out of fmt output as well.
func (c Credential) String() string {
	return fmt.Sprintf("credential from %s (SecretId %s)", c.Source, c.SecretID)
}

// GoString keeps the secrets out of %#v too.
func (c Credential) GoString() string { return c.String() }

// Provider is one fallback source of credentials; the SDK's providers
// (profile file, CVM role) satisfy it.
type Provider interface {
	GetCredential() (common.CredentialIface, error)
}

// Resolver looks for credentials in order: the execution role's variables,
// then TENCENTCLOUD_SECRET_ID/_KEY, then the fallback providers.
type Resolver struct {
	// Getenv reads the environment; SCF sets each invocation's values in the
	// process environment before the handler runs.
	Getenv func(string) string
	// Fallback providers, tried in order after the environment. Production
	// wires the SDK's profile-file and CVM-role providers.
	Fallback []Provider
}

// DefaultFallback returns the SDK's own chain after its environment
// provider: the profile file (~/.tencentcloud/credentials) and the CVM role.
// Inside SCF (TENCENTCLOUD_RUNENV=SCF) the CVM role is left out: there is no
// CVM metadata service there, and the SDK's provider would wait on it with
// no timeout until the invocation's deadline.
func DefaultFallback(getenv func(string) string) []Provider {
	if getenv("TENCENTCLOUD_RUNENV") == "SCF" {
		return []Provider{common.DefaultProfileProvider()}
	}
	return []Provider{common.DefaultProfileProvider(), common.DefaultCvmRoleProvider()}
}

// Resolve returns the credential to use for this invocation or an
// AuthFailure *apierror.Error saying how to provide one.
func (r Resolver) Resolve(ctx context.Context) (Credential, error) {
	if c, ok, err := pair(r.Getenv, EnvRoleSecretID, EnvRoleSecretKey, EnvRoleToken, "execution role"); ok || err != nil {
		return c, err
	}
	if c, ok, err := pair(r.Getenv, EnvSecretID, EnvSecretKey, "", "environment"); ok || err != nil {
		return c, err
	}
	for _, p := range r.Fallback {
		pctx, cancel := context.WithTimeout(ctx, providerTimeout)
		c, err := fromProvider(pctx, p)
		cancel()
		if err == nil {
			return c, nil
		}
	}
	return Credential{}, apierror.New(apierror.AuthFailure,
		"no credentials found: attach an execution role to the function (a CAM role trusted by scf.qcloud.com that allows dbbrain:AddUserContact; serverless.yml `role`), "+
			"or for local runs set %s and %s (and %s for temporary keys)", EnvRoleSecretID, EnvRoleSecretKey, EnvRoleToken)
}

func pair(getenv func(string) string, idVar, keyVar, tokenVar, source string) (Credential, bool, error) {
	id, key := getenv(idVar), getenv(keyVar)
	if id == "" && key == "" {
		return Credential{}, false, nil
	}
	if id == "" || key == "" {
		missing := idVar
		if key == "" {
			missing = keyVar
		}
		return Credential{}, false, apierror.New(apierror.AuthFailure, "incomplete credentials: %s is empty while its pair is set", missing)
	}
	c := Credential{SecretID: id, SecretKey: key, Source: source}
	if tokenVar != "" {
		c.Token = getenv(tokenVar)
	}
	return c, true, nil
}

// providerTimeout bounds each fallback provider: a metadata service that
// does not answer within it will not answer in time to be useful.
const providerTimeout = 2 * time.Second

// fromProvider runs a provider without letting it outlive the invocation:
// the SDK's CVM-role provider calls the metadata service with no timeout
// and no context, so it runs aside and is abandoned when ctx ends.
func fromProvider(ctx context.Context, p Provider) (Credential, error) {
	type result struct {
		c   common.CredentialIface
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := p.GetCredential()
		done <- result{c, err}
	}()
	select {
	case <-ctx.Done():
		return Credential{}, ctx.Err()
	case r := <-done:
		if r.err != nil {
			return Credential{}, r.err
		}
		if r.c == nil {
			return Credential{}, errors.New("provider returned no credential")
		}
		id, key, token := r.c.GetCredential()
		if id == "" || key == "" {
			return Credential{}, errors.New("provider returned an empty credential")
		}
		return Credential{SecretID: id, SecretKey: key, Token: token, Source: fmt.Sprintf("%T", p)}, nil
	}
}
