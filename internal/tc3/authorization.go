package tc3

import (
	"slices"
	"strings"
	"time"
)

// Algorithm is the only signature algorithm API 3.0 accepts in an
// Authorization header.
const Algorithm = "TC3-HMAC-SHA256"

// scopeTerminator ends every TC3 credential scope.
const scopeTerminator = "tc3_request"

// dateLayout is the layout of the scope date (UTC).
const dateLayout = "2006-01-02"

// Authorization is a parsed TC3 Authorization header:
//
//	TC3-HMAC-SHA256 Credential=<SecretId>/<date>/<service>/tc3_request, SignedHeaders=a;b, Signature=<hex>
type Authorization struct {
	SecretID      string   // The key's id.
	Date          string   // scope date, YYYY-MM-DD
	Service       string   // scope service, e.g. "dbbrain"
	SignedHeaders []string // Lower-case names, in the order given.
	Signature     string   // 64 lower-case hex digits
}

// Scope returns the credential scope "<date>/<service>/tc3_request".
func (a Authorization) Scope() string {
	return a.Date + "/" + a.Service + "/" + scopeTerminator
}

// String renders the header the way the Go, Python, Node.js and Java SDKs do.
func (a Authorization) String() string {
	return Algorithm + " Credential=" + a.SecretID + "/" + a.Scope() +
		", SignedHeaders=" + strings.Join(a.SignedHeaders, ";") +
		", Signature=" + a.Signature
}

// ParseAuthorization parses an Authorization header value.
//
// It tolerates the spacing variants real clients send (one or more spaces or
// tabs after the algorithm, as .NET's AuthenticationHeaderValue produces;
// ", " or "," between the three fields; fields in any order) and is strict
// about everything else: exactly the three fields Credential, SignedHeaders
// and Signature, each once; a four-part credential ending in tc3_request with
// a valid date; lower-case, unique signed header names that include
// content-type and host; a 64-digit lower-case hex signature. Every failure is
// an *Error with code AuthFailure.InvalidAuthorization.
func ParseAuthorization(header string) (Authorization, error) {
	var a Authorization
	h := strings.Trim(header, " \t")
	if h == "" {
		return a, failf(CodeInvalidAuthorization, "missing Authorization header")
	}
	sp := strings.IndexAny(h, " \t")
	if sp < 0 {
		return a, failf(CodeInvalidAuthorization, "Authorization header has no fields after the algorithm")
	}
	alg, rest := h[:sp], h[sp+1:]
	if alg != Algorithm {
		return a, failf(CodeInvalidAuthorization, "unsupported signature algorithm %q, want %s", truncate(alg), Algorithm)
	}
	seen := map[string]bool{}
	for part := range strings.SplitSeq(strings.Trim(rest, " \t"), ",") {
		part = strings.Trim(part, " \t")
		key, val, ok := strings.Cut(part, "=")
		if !ok || val == "" {
			return a, failf(CodeInvalidAuthorization, "malformed Authorization field %q", truncate(part))
		}
		if seen[key] {
			return a, failf(CodeInvalidAuthorization, "Authorization field %s repeated", truncate(key))
		}
		seen[key] = true
		var err error
		switch key {
		case "Credential":
			err = a.parseCredential(val)
		case "SignedHeaders":
			err = a.parseSignedHeaders(val)
		case "Signature":
			err = a.parseSignature(val)
		default:
			return a, failf(CodeInvalidAuthorization, "unknown Authorization field %q", truncate(key))
		}
		if err != nil {
			return a, err
		}
	}
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if !seen[k] {
			return a, failf(CodeInvalidAuthorization, "Authorization field %s missing", k)
		}
	}
	return a, nil
}

func (a *Authorization) parseCredential(v string) error {
	parts := strings.Split(v, "/")
	if len(parts) != 4 {
		return failf(CodeInvalidAuthorization, "Credential must be SecretId/date/service/tc3_request")
	}
	for _, p := range parts {
		if p == "" || strings.ContainsFunc(p, isSpaceOrControl) {
			return failf(CodeInvalidAuthorization, "Credential has an empty or invalid part")
		}
	}
	if parts[3] != scopeTerminator {
		return failf(CodeInvalidAuthorization, "credential scope must end in %s", scopeTerminator)
	}
	if _, err := time.Parse(dateLayout, parts[1]); err != nil {
		return failf(CodeInvalidAuthorization, "credential scope date %q is not YYYY-MM-DD", truncate(parts[1]))
	}
	a.SecretID, a.Date, a.Service = parts[0], parts[1], parts[2]
	return nil
}

func (a *Authorization) parseSignedHeaders(v string) error {
	names := strings.Split(v, ";")
	for i, n := range names {
		if n == "" || !isLowerToken(n) {
			return failf(CodeInvalidAuthorization, "SignedHeaders entry %q is not a lower-case header name", truncate(n))
		}
		if slices.Contains(names[:i], n) {
			return failf(CodeInvalidAuthorization, "SignedHeaders repeats %q", n)
		}
	}
	for _, must := range []string{"content-type", "host"} {
		if !slices.Contains(names, must) {
			return failf(CodeInvalidAuthorization, "SignedHeaders must include %s", must)
		}
	}
	a.SignedHeaders = names
	return nil
}

func (a *Authorization) parseSignature(v string) error {
	if len(v) != 64 || strings.ContainsFunc(v, func(r rune) bool {
		return (r < '0' || r > '9') && (r < 'a' || r > 'f')
	}) {
		return failf(CodeInvalidAuthorization, "Signature must be 64 lower-case hex digits")
	}
	a.Signature = v
	return nil
}

// isLowerToken reports whether s is an HTTP header name (RFC 9110 token)
// without upper-case letters.
func isLowerToken(s string) bool {
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// truncate keeps attacker-supplied text short in error messages.
func truncate(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}
