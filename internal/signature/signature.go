// Package signature verifies and produces Tencent Cloud API request
// signatures, so that the emulator checks what the real service checks (the
// official Go SDK only signs). TC3-HMAC-SHA256: an Authorization header over
// "METHOD\n/path\nRawQuery\nname:value\n...\n\nsigned;names\nhex(sha256(body))"
// (body replaced by UNSIGNED-PAYLOAD on X-TC-Content-SHA256: UNSIGNED-PAYLOAD),
// scope <UTC date>/<service>/tc3_request. Signature v1: a Signature parameter
// (GET query or POST form) = base64(HMAC-SHA1 or -SHA256 per SignatureMethod
// of METHOD + host + path + "?" + the other parameters sorted, unescaped k=v
// joined by "&").
//
// What the official SDKs sign (Go 1.3.211, Python, Node.js 4.1, Java, PHP,
// .NET, C++ sources): v3 queries as sent ("+" or "%20"); Node.js signs the v3
// host without its port but sends it, so both are tried; Java and .NET sign
// "application/json; charset=utf-8", .NET with two spaces after the
// algorithm; the documentation's example lower-cases signed header values,
// the SDKs do not, so both are tried. All but Go and Python take the v3 scope
// service from the endpoint's first label, so against 127.0.0.1 they sign
// "127" and fail as against the real service: they need an endpoint such as
// dbbrain.localhost:PORT. v1: every SDK signs the configured endpoint, port
// included; Go also signs RequestClient and an empty Language.
//
// [Verifier.Verify] checks, stopping at the first failure: well-formed
// (AuthFailure.InvalidAuthorization); SecretId known (.SecretIdNotFound);
// timestamp within MaxSkew (.SignatureExpire, before the signature so that a
// replay reads as expired); scope and signature (.SignatureFailure); a
// temporary key's token (.TokenFailure, last: a request must first prove it
// holds the key). A permanent key ignores a token.
package signature

import (
	"cmp"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

// The signature methods, as requests name them.
const (
	TC3        = "TC3-HMAC-SHA256"
	HmacSHA1   = "HmacSHA1"
	HmacSHA256 = "HmacSHA256"
)

// The AuthFailure codes a signature check answers.
const (
	InvalidAuthorization = "AuthFailure.InvalidAuthorization"
	SignatureFailure     = "AuthFailure.SignatureFailure"
	SignatureExpire      = "AuthFailure.SignatureExpire"
	SecretIDNotFound     = "AuthFailure.SecretIdNotFound"
	TokenFailure         = "AuthFailure.TokenFailure"
)

// MaxClockSkew is how far a request's timestamp may be from the server time:
// API 3.0 answers AuthFailure.SignatureExpire beyond it.
const MaxClockSkew = 5 * time.Minute

// The messages of the real service, which callers match on; the details go
// into the error's cause.
const (
	msgSignatureFailure = "The provided credentials could not be validated. Please check your signature is correct."
	msgSecretIDNotFound = "The SecretId is not found, please ensure that your SecretId is correct."
)

// Key is an API key pair; a non-empty Token makes it a temporary key whose
// requests must carry that token.
type Key struct {
	SecretID  string // The key's public id.
	SecretKey string // The signing secret.
	Token     string // The session token of a temporary key.
}

// KeyStore holds the known keys by SecretId.
type KeyStore map[string]Key

// Verifier checks request signatures; Keys is required.
type Verifier struct {
	// Keys are the known keys.
	Keys KeyStore
	// Service is the scope service TC3 requests must be signed for; empty
	// accepts any.
	Service string
	// Now is the server clock; nil means time.Now.
	Now func() time.Time
	// MaxSkew bounds |timestamp - Now|; zero means MaxClockSkew.
	MaxSkew time.Duration
}

// Result describes a verified request; after a failure it still names what
// the request did, for logs.
type Result struct {
	Method    string    // TC3, HmacSHA1 or HmacSHA256.
	SecretID  string    // The signing key's id.
	Timestamp time.Time // The signed request time.
	Temporary bool      // The key has a token, and it matched.
	// Params are a v1 request's parameters but the signature's own
	// (SecretId, Timestamp, Nonce, SignatureMethod, Signature, Token): the
	// common Action, Version, Region... and the action's. Nil for TC3.
	Params url.Values
}

// Verify checks r, whose body the caller has read. A failure is an
// *apierror.Error with an AuthFailure code.
func (v *Verifier) Verify(r *http.Request, body []byte) (Result, error) {
	if auth := r.Header.Values("Authorization"); len(auth) > 0 {
		return v.verifyTC3(r, body, auth)
	}
	if params, err := v1Params(r, body); params.Has("Signature") {
		if err != nil {
			return Result{}, invalid("The request parameters are not a valid query string.")
		}
		return v.verifyV1(r, params)
	}
	return Result{}, invalid("The request has neither an Authorization header (%s) nor a Signature parameter (%s, %s).", TC3, HmacSHA1, HmacSHA256)
}

// lookup finds the key of a well-formed request and checks its timestamp.
func (v *Verifier) lookup(secretID, timestamp string) (Key, time.Time, error) {
	// ParseUint refuses signs, fractions and anything time.Unix cannot hold.
	n, err := strconv.ParseUint(timestamp, 10, 62)
	ts := time.Unix(int64(n), 0)
	if err != nil {
		return Key{}, ts, invalid("The timestamp %s is not Unix seconds.", apierror.Quote(timestamp))
	}
	key, found := v.Keys[secretID]
	if !found {
		return key, ts, apierror.E(apierror.Invalid, SecretIDNotFound, "%s", msgSecretIDNotFound)
	}
	now, skew := time.Now, v.MaxSkew
	if v.Now != nil {
		now = v.Now
	}
	if skew <= 0 {
		skew = MaxClockSkew
	}
	if d := now().Sub(ts); d > skew || d < -skew {
		return key, ts, apierror.E(apierror.Invalid, SignatureExpire, "The signature expired: timestamp %s is %s from the server time (the limit is %s).", timestamp, d.Round(time.Second), skew)
	}
	return key, ts, nil
}

// checkToken is the last check: a temporary key's requests carry its token.
func checkToken(key Key, got string) error {
	switch {
	case key.Token == "":
		return nil
	case got == "":
		return apierror.E(apierror.Invalid, TokenFailure, "The temporary key %s needs its session token.", key.SecretID)
	case subtle.ConstantTimeCompare([]byte(got), []byte(key.Token)) != 1:
		return apierror.E(apierror.Invalid, TokenFailure, "The session token does not belong to the temporary key %s.", key.SecretID)
	}
	return nil
}

func invalid(format string, args ...any) *apierror.Error {
	return apierror.E(apierror.Invalid, InvalidAuthorization, format, args...)
}

// mismatch is a SignatureFailure in the service's words, with the reason as
// its cause for the caller's logs.
func mismatch(format string, args ...any) *apierror.Error {
	return apierror.Wrap(apierror.Invalid, SignatureFailure, fmt.Errorf(format, args...), "%s", msgSignatureFailure)
}

// hosts are the host values a signer may have used: as addressed, then
// without its port (WHATWG URL.hostname keeps an IPv6 literal's brackets).
func hosts(r *http.Request) []string {
	host := cmp.Or(r.Host, r.URL.Host)
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		return []string{host}
	}
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	return []string{host, h}
}

// requestPath is the escaped path a signer signed; API 3.0 serves only "/".
func requestPath(r *http.Request) string {
	return cmp.Or(r.URL.EscapedPath(), "/")
}
