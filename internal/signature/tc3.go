package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

// unsignedPayload is the X-TC-Content-SHA256 value by which a client leaves
// the body out of the signature; the literal is hashed in its place.
const unsignedPayload = "UNSIGNED-PAYLOAD"

// authorization is a parsed TC3 Authorization header:
//
//	TC3-HMAC-SHA256 Credential=<SecretId>/<date>/<service>/tc3_request, SignedHeaders=a;b, Signature=<hex>
type authorization struct {
	secretID, date, service string
	signedHeaders           []string
	signature               string
}

func (a authorization) scope() string { return a.date + "/" + a.service + "/tc3_request" }

// String renders the header the way the SDKs do.
func (a authorization) String() string {
	return TC3 + " Credential=" + a.secretID + "/" + a.scope() +
		", SignedHeaders=" + strings.Join(a.signedHeaders, ";") + ", Signature=" + a.signature
}

// parseAuthorization tolerates the spacing real clients send (spaces or tabs
// after the algorithm, "," or ", " between the fields, any field order) and
// is strict about the rest: the three fields once each, a four-part
// credential ending in tc3_request with a real date, unique lower-case
// signed header names including content-type and host, 64 lower-case hex
// digits.
func parseAuthorization(header string) (authorization, error) {
	var a authorization
	h := strings.Trim(header, " \t")
	sp := strings.IndexAny(h, " \t")
	if sp < 0 || h[:sp] != TC3 {
		return a, invalid("The Authorization header must be %s Credential=..., SignedHeaders=..., Signature=...", TC3)
	}
	seen := map[string]bool{}
	for part := range strings.SplitSeq(h[sp+1:], ",") {
		key, val, ok := strings.Cut(strings.Trim(part, " \t"), "=")
		if !ok || val == "" || seen[key] {
			return a, invalid("The Authorization field %s is malformed or repeated.", apierror.Quote(part))
		}
		seen[key] = true
		switch key {
		case "Credential":
			parts := strings.Split(val, "/")
			if len(parts) != 4 || parts[3] != "tc3_request" || slices.ContainsFunc(parts, func(p string) bool {
				return p == "" || strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f })
			}) {
				return a, invalid("The Credential must be SecretId/date/service/tc3_request.")
			}
			if _, err := time.Parse(time.DateOnly, parts[1]); err != nil {
				return a, invalid("The credential scope date %s is not YYYY-MM-DD.", apierror.Quote(parts[1]))
			}
			a.secretID, a.date, a.service = parts[0], parts[1], parts[2]
		case "SignedHeaders":
			a.signedHeaders = strings.Split(val, ";")
			for i, n := range a.signedHeaders {
				if !isLowerToken(n) || slices.Contains(a.signedHeaders[:i], n) {
					return a, invalid("SignedHeaders entry %s is not a unique lower-case header name.", apierror.Quote(n))
				}
			}
			if !slices.Contains(a.signedHeaders, "content-type") || !slices.Contains(a.signedHeaders, "host") {
				return a, invalid("SignedHeaders must include content-type and host.")
			}
		case "Signature":
			if len(val) != 64 || strings.Trim(val, "0123456789abcdef") != "" {
				return a, invalid("The Authorization Signature must be 64 lower-case hex digits.")
			}
			a.signature = val
		default:
			return a, invalid("The Authorization field %s is unknown.", apierror.Quote(key))
		}
	}
	if len(seen) != 3 {
		return a, invalid("The Authorization header needs Credential, SignedHeaders and Signature.")
	}
	return a, nil
}

// isLowerToken reports whether s is an HTTP header name (RFC 9110 token)
// without upper-case letters.
func isLowerToken(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(c rune) bool {
		return (c < 'a' || c > 'z') && (c < '0' || c > '9') && !strings.ContainsRune("!#$%&'*+-.^_`|~", c)
	})
}

func (v *Verifier) verifyTC3(r *http.Request, body []byte, header []string) (Result, error) {
	res := Result{Method: TC3}
	if len(header) > 1 {
		return res, invalid("The request has more than one Authorization header.")
	}
	a, err := parseAuthorization(header[0])
	if err != nil {
		return res, err
	}
	res.SecretID = a.secretID
	ts := r.Header.Get("X-TC-Timestamp")
	key, at, err := v.lookup(a.secretID, ts)
	res.Timestamp = at
	if err != nil {
		return res, err
	}
	if want := at.UTC().Format(time.DateOnly); a.date != want {
		return res, mismatch("the credential scope date %s is not the UTC date of X-TC-Timestamp (%s)", a.date, want)
	}
	if v.Service != "" && a.service != v.Service {
		return res, mismatch("the credential scope service %s is not %q: clients that take it from the endpoint need an endpoint starting with %q",
			apierror.Quote(a.service), v.Service, v.Service+".")
	}
	if !tc3Matches(r, a, key.SecretKey, ts, payloadHash(r, body)) {
		return res, mismatch("the signature does not match the request")
	}
	if err := checkToken(key, r.Header.Get("X-TC-Token")); err != nil {
		return res, err
	}
	res.Temporary = key.Token != ""
	return res, nil
}

// tc3Matches tries the canonicalisations real signers use: the host with
// and without its port, header values lower-cased and literal.
func tc3Matches(r *http.Request, a authorization, secretKey, ts, payloadHash string) bool {
	for _, host := range hosts(r) {
		for _, lower := range []bool{true, false} {
			canon := canonicalRequest(r, a.signedHeaders, payloadHash, host, lower)
			if hmac.Equal([]byte(tc3Signature(secretKey, a.date, a.service, ts, canon)), []byte(a.signature)) {
				return true
			}
		}
	}
	return false
}

// canonicalRequest rebuilds the canonical request; the query is signed
// exactly as sent.
func canonicalRequest(r *http.Request, signed []string, payloadHash, host string, lowerValues bool) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n" + requestPath(r) + "\n" + r.URL.RawQuery + "\n")
	for _, name := range signed {
		v := host
		if name != "host" {
			vals := r.Header.Values(name)
			for i := range vals {
				vals[i] = strings.Trim(vals[i], " \t")
			}
			v = strings.Join(vals, ",")
		}
		if lowerValues {
			v = strings.ToLower(v)
		}
		b.WriteString(name + ":" + strings.Trim(v, " \t") + "\n")
	}
	b.WriteString("\n" + strings.Join(signed, ";") + "\n" + payloadHash)
	return b.String()
}

func payloadHash(r *http.Request, body []byte) string {
	if r.Header.Get("X-TC-Content-SHA256") == unsignedPayload {
		body = []byte(unsignedPayload)
	}
	return sha256Hex(body)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// tc3Signature signs a canonical request with the key derived for the
// date and service.
func tc3Signature(secretKey, date, service, ts, canonical string) string {
	k := hmacSHA256(hmacSHA256(hmacSHA256([]byte("TC3"+secretKey), date), service), "tc3_request")
	sts := TC3 + "\n" + ts + "\n" + date + "/" + service + "/tc3_request\n" + sha256Hex([]byte(canonical))
	return hex.EncodeToString(hmacSHA256(k, sts))
}

// SignOptions says how to sign.
type SignOptions struct {
	SecretID  string    // The key's id.
	SecretKey string    // The signing secret.
	Token     string    // Sent (X-TC-Token, or v1 Token) for a temporary key.
	Time      time.Time // The timestamp (and TC3's scope date).
	Service   string    // TC3's scope service, e.g. "dbbrain".
	// SignatureMethod is v1's HmacSHA1 (when empty) or HmacSHA256.
	SignatureMethod string
}

// Sign signs r, whose body is body, with TC3 in place, as the Go SDK does:
// it sets X-TC-Timestamp, X-TC-Token for a temporary key, then
// Authorization over content-type and host. Other headers must be set
// before.
func Sign(r *http.Request, body []byte, o SignOptions) error {
	if o.SecretID == "" || o.Service == "" {
		return errors.New("signature: Sign needs SecretID and Service")
	}
	a := authorization{secretID: o.SecretID, date: o.Time.UTC().Format(time.DateOnly), service: o.Service, signedHeaders: []string{"content-type", "host"}}
	ts := strconv.FormatInt(o.Time.Unix(), 10)
	r.Header.Set("X-TC-Timestamp", ts)
	if o.Token != "" {
		r.Header.Set("X-TC-Token", o.Token)
	}
	a.signature = tc3Signature(o.SecretKey, a.date, a.service, ts, canonicalRequest(r, a.signedHeaders, payloadHash(r, body), hosts(r)[0], false))
	r.Header.Set("Authorization", a.String())
	return nil
}
