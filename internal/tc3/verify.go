package tc3

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// DefaultMaxSkew is how far X-TC-Timestamp may be from the server clock.
const DefaultMaxSkew = 5 * time.Minute

// Key is an API key pair. A non-empty Token makes it a temporary key: its
// requests must carry X-TC-Token equal to Token.
type Key struct {
	SecretID  string // The key's id.
	SecretKey string // The signing secret.
	Token     string // Required X-TC-Token when set.
}

// KeyStore finds the key for a SecretId.
type KeyStore interface {
	LookupKey(ctx context.Context, secretID string) (Key, bool)
}

// StaticKeys is a fixed KeyStore indexed by SecretId.
type StaticKeys map[string]Key

// NewStaticKeys indexes keys by SecretId; a later key replaces an earlier one
// with the same SecretId.
func NewStaticKeys(keys ...Key) StaticKeys {
	m := make(StaticKeys, len(keys))
	for _, k := range keys {
		m[k.SecretID] = k
	}
	return m
}

// LookupKey implements KeyStore.
func (m StaticKeys) LookupKey(_ context.Context, secretID string) (Key, bool) {
	k, ok := m[secretID]
	return k, ok
}

// Verifier checks TC3-HMAC-SHA256 signatures. The zero value is not usable:
// Keys is required.
type Verifier struct {
	// Keys resolves SecretIds.
	Keys KeyStore
	// Service is the scope service requests must be signed for, e.g.
	// "dbbrain". Empty accepts any service.
	Service string
	// Now is the server clock; nil means time.Now.
	Now func() time.Time
	// MaxSkew bounds |X-TC-Timestamp - Now|; zero means DefaultMaxSkew.
	MaxSkew time.Duration
}

// Result describes a request that verified.
type Result struct {
	Authorization Authorization // The parsed header.
	// Timestamp is X-TC-Timestamp.
	Timestamp time.Time
	// Temporary is true when the key has a token (and the token matched).
	Temporary bool
}

// Verify checks r, whose body (already read by the caller) is body. See the
// package documentation for the order of checks. A failure is an *Error.
func (v *Verifier) Verify(r *http.Request, body []byte) (Result, error) {
	return v.VerifyDigest(r, sha256.Sum256(body))
}

// VerifyDigest is Verify for a caller that hashed the body while streaming it
// (so that an oversized body need not be held in memory).
func (v *Verifier) VerifyDigest(r *http.Request, bodySHA256 [sha256.Size]byte) (Result, error) {
	var res Result
	vals := r.Header.Values("Authorization")
	if len(vals) > 1 {
		return res, failf(CodeInvalidAuthorization, "more than one Authorization header")
	}
	var header string
	if len(vals) == 1 {
		header = vals[0]
	}
	auth, err := ParseAuthorization(header)
	if err != nil {
		return res, err
	}
	tsRaw := r.Header.Get("X-TC-Timestamp")
	ts, ok := parseTimestamp(tsRaw)
	if !ok {
		return res, failf(CodeInvalidAuthorization, "X-TC-Timestamp must be Unix seconds")
	}

	key, found := v.Keys.LookupKey(r.Context(), auth.SecretID)
	if !found {
		return res, failf(CodeSecretIDNotFound, "SecretId %q not found", truncate(auth.SecretID))
	}

	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	if d := now().Sub(ts); d > skew || d < -skew {
		return res, failf(CodeSignatureExpire, "X-TC-Timestamp %s is %s from server time (limit %s)", tsRaw, d.Round(time.Second), skew)
	}

	if want := ts.UTC().Format(dateLayout); auth.Date != want {
		return res, failf(CodeSignatureFailure, "credential scope date %s is not the UTC date of X-TC-Timestamp (%s)", auth.Date, want)
	}
	if v.Service != "" && auth.Service != v.Service {
		return res, failf(CodeSignatureFailure, "credential scope service %q does not match %q (clients that derive it from the endpoint need an endpoint starting with %q)",
			truncate(auth.Service), v.Service, v.Service+".")
	}
	if !signatureMatches(r, auth, key, tsRaw, payloadHashHex(r, bodySHA256)) {
		return res, failf(CodeSignatureFailure, "signature does not match the request")
	}

	if key.Token != "" {
		tok := r.Header.Get("X-TC-Token")
		if tok == "" {
			return res, failf(CodeTokenFailure, "temporary key %s needs X-TC-Token", auth.SecretID)
		}
		if subtle.ConstantTimeCompare([]byte(tok), []byte(key.Token)) != 1 {
			return res, failf(CodeTokenFailure, "X-TC-Token does not belong to temporary key %s", auth.SecretID)
		}
	}
	return Result{Authorization: auth, Timestamp: ts, Temporary: key.Token != ""}, nil
}

// signatureMatches tries the canonicalisations real signers use, stopping at
// the first match: values lower-cased (documentation) or literal (SDKs), and
// host with or without its port (Node.js SDK).
func signatureMatches(r *http.Request, auth Authorization, key Key, ts, payloadHash string) bool {
	sk := signingKey(key.SecretKey, auth.Date, auth.Service)
	want := []byte(auth.Signature)
	tried := make([]string, 0, 4)
	for _, hostNoPort := range []bool{false, true} {
		if hostNoPort {
			if _, hasPort := hostWithoutPort(requestHost(r)); !hasPort {
				break
			}
		}
		for _, lower := range []bool{true, false} {
			canon := canonicalRequest(r, auth.SignedHeaders, payloadHash, canonOpts{lowerValues: lower, hostNoPort: hostNoPort})
			if slices.Contains(tried, canon) {
				continue
			}
			tried = append(tried, canon)
			got := signatureHex(sk, stringToSign(ts, auth.Scope(), canon))
			if hmac.Equal([]byte(got), want) {
				return true
			}
		}
	}
	return false
}

// parseTimestamp accepts only unsigned decimal Unix seconds.
func parseTimestamp(s string) (time.Time, bool) {
	if s == "" || len(s) > 18 {
		return time.Time{}, false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}
