package config

import (
	"context"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

// The execution role's variables, which SCF sets before every invocation.
const (
	EnvRoleSecretID  = "TENCENTCLOUD_SECRETID"
	EnvRoleSecretKey = "TENCENTCLOUD_SECRETKEY"
	EnvRoleToken     = "TENCENTCLOUD_SESSIONTOKEN"
)

// Credentials finds the credentials of one invocation. SCF hands the
// execution role's temporary keys to each invocation through the
// environment and rotates them over a warm instance's life, so they are read
// on every invocation and never cached.
type Credentials struct {
	// Getenv reads the role's variables (os.Getenv in production: the
	// runtime sets each invocation's values in the process environment).
	Getenv func(string) string
	// Fallback is asked when the role's variables are absent; nil means
	// DefaultFallback.
	Fallback common.Provider
}

// DefaultFallback is the SDK's own provider chain: TENCENTCLOUD_SECRET_ID
// and _KEY, the profile file (~/.tencentcloud/credentials), then the CVM
// role. Inside SCF (TENCENTCLOUD_RUNENV=SCF) the CVM role is left out: no
// metadata service answers there, and the SDK's provider would wait on it.
func DefaultFallback(getenv func(string) string) common.Provider {
	chain := []common.Provider{common.DefaultEnvProvider(), common.DefaultProfileProvider()}
	if getenv("TENCENTCLOUD_RUNENV") != "SCF" {
		chain = append(chain, common.DefaultCvmRoleProvider())
	}
	return common.NewProviderChain(chain)
}

// fallbackTimeout bounds the fallback providers: the SDK's CVM-role provider
// calls the metadata service with no timeout and no context, and one that
// has not answered by then will not answer in time to be useful.
const fallbackTimeout = 2 * time.Second

// Resolve returns the credential for this invocation and where it came from
// (for the log), or a Setup AuthFailure saying how to provide one.
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
	fallback := c.Fallback
	if fallback == nil {
		fallback = DefaultFallback(c.Getenv)
	}
	type found struct {
		cred common.CredentialIface
		err  error
	}
	done := make(chan found, 1) // the provider may outlive the wait
	go func() {
		cred, err := fallback.GetCredential()
		done <- found{cred, err}
	}()
	ctx, cancel := context.WithTimeout(ctx, fallbackTimeout)
	defer cancel()
	select {
	case f := <-done:
		if f.err == nil && f.cred != nil && f.cred.GetSecretId() != "" && f.cred.GetSecretKey() != "" {
			return f.cred, "provider chain", nil
		}
	case <-ctx.Done():
	}
	return nil, "", apierror.E(apierror.Setup, apierror.AuthFailure,
		"no credentials found: attach an execution role to the function (a CAM role trusted by scf.qcloud.com that allows dbbrain:AddUserContact; serverless.yml `role`), "+
			"or for local runs set %s and %s (and %s for temporary keys)", EnvRoleSecretID, EnvRoleSecretKey, EnvRoleToken)
}
