package tc3

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// AuthStyle is the spacing of a rendered Authorization header.
type AuthStyle int

// Authorization spacings seen from real clients.
const (
	// StyleSDK is "TC3-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..."
	// (Go, Python, Node.js, Java, PHP, C++ SDKs).
	StyleSDK AuthStyle = iota
	// StyleDotNet has two spaces after the algorithm, as .NET's
	// AuthenticationHeaderValue renders the SDK's " Credential=..." parameter.
	StyleDotNet
	// StyleCompact has no space after the commas (hand-written signers).
	StyleCompact
)

// SignOptions says how to sign; the zero values of the variant fields give
// the Go SDK's request shape.
type SignOptions struct {
	SecretID  string // The key's id.
	SecretKey string // The signing secret.
	// Token, when set, is sent as X-TC-Token (temporary key).
	Token string
	// Service is the scope service, e.g. "dbbrain".
	Service string
	// Time becomes X-TC-Timestamp and the scope date.
	Time time.Time

	// SignedHeaders defaults to content-type and host. Names must be lower
	// case; Sign does not require content-type and host, so tests can
	// produce headers that Verify rejects.
	SignedHeaders []string
	// LowercaseValues lower-cases signed header values, as the
	// documentation's example does.
	LowercaseValues bool
	// HostWithoutPort signs the host without its port, as the Node.js SDK
	// does.
	HostWithoutPort bool
	// UnsignedPayload sends X-TC-Content-SHA256: UNSIGNED-PAYLOAD and
	// leaves the body out of the signature.
	UnsignedPayload bool
	// Style is the Authorization header's spacing.
	Style AuthStyle
}

// Sign signs r, whose body is body, in place: it sets X-TC-Timestamp, and
// X-TC-Token and X-TC-Content-SHA256 when asked, then Authorization. Every
// other header (Content-Type, X-TC-Action, ...) must be set before, because
// the signature covers the request as it stands.
func Sign(r *http.Request, body []byte, o SignOptions) error {
	if o.SecretID == "" || o.Service == "" {
		return errors.New("tc3: Sign needs SecretID and Service")
	}
	signed := o.SignedHeaders
	if len(signed) == 0 {
		signed = []string{"content-type", "host"}
	}
	ts := strconv.FormatInt(o.Time.Unix(), 10)
	r.Header.Set("X-TC-Timestamp", ts)
	if o.Token != "" {
		r.Header.Set("X-TC-Token", o.Token)
	}
	if o.UnsignedPayload {
		r.Header.Set("X-TC-Content-SHA256", UnsignedPayload)
	}
	auth := Authorization{
		SecretID:      o.SecretID,
		Date:          o.Time.UTC().Format(dateLayout),
		Service:       o.Service,
		SignedHeaders: signed,
	}
	canon := canonicalRequest(r, signed, payloadHashHex(r, sha256.Sum256(body)),
		canonOpts{lowerValues: o.LowercaseValues, hostNoPort: o.HostWithoutPort})
	auth.Signature = signatureHex(signingKey(o.SecretKey, auth.Date, auth.Service), stringToSign(ts, auth.Scope(), canon))

	header := auth.String()
	switch o.Style {
	case StyleDotNet:
		header = strings.Replace(header, Algorithm+" ", Algorithm+"  ", 1)
	case StyleCompact:
		header = strings.ReplaceAll(header, ", ", ",")
	}
	r.Header.Set("Authorization", header)
	return nil
}
