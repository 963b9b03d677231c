package tc3

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"strings"
)

// UnsignedPayload is the X-TC-Content-SHA256 value with which a client asks
// that the body be left out of the signature (the literal string is hashed in
// its place).
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// canonOpts selects between the canonicalisations that real signers use.
type canonOpts struct {
	// lowerValues lower-cases header values, as the documentation's rule
	// says; the SDKs sign values as they are.
	lowerValues bool
	// hostNoPort drops the port from host, as the Node.js SDK signs
	// URL.hostname while sending URL.host.
	hostNoPort bool
}

// requestHost is the host as the client addressed it.
func requestHost(r *http.Request) string {
	if r.Host != "" {
		return r.Host
	}
	if r.URL != nil {
		return r.URL.Host
	}
	return ""
}

// hostWithoutPort strips a port from host; ok is false when there is none.
func hostWithoutPort(host string) (string, bool) {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		return host, false
	}
	if strings.Contains(h, ":") {
		// WHATWG URL.hostname keeps the brackets of an IPv6 literal.
		return "[" + h + "]", true
	}
	return h, true
}

// headerValue is the canonical value of one signed header as received.
func headerValue(r *http.Request, name string, o canonOpts) string {
	var v string
	if name == "host" {
		v = requestHost(r)
		if o.hostNoPort {
			v, _ = hostWithoutPort(v)
		}
	} else {
		vals := r.Header.Values(name)
		for i := range vals {
			vals[i] = strings.Trim(vals[i], " \t")
		}
		v = strings.Join(vals, ",")
	}
	v = strings.Trim(v, " \t")
	if o.lowerValues {
		v = strings.ToLower(v)
	}
	return v
}

// payloadHashHex is the hex SHA-256 that stands for the payload.
func payloadHashHex(r *http.Request, bodySHA256 [sha256.Size]byte) string {
	if r.Header.Get("X-TC-Content-SHA256") == UnsignedPayload {
		sum := sha256.Sum256([]byte(UnsignedPayload))
		return hex.EncodeToString(sum[:])
	}
	return hex.EncodeToString(bodySHA256[:])
}

// canonicalRequest rebuilds the canonical request from the received request.
func canonicalRequest(r *http.Request, signed []string, payloadHash string, o canonOpts) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	uri := "/"
	if r.URL != nil && r.URL.EscapedPath() != "" {
		uri = r.URL.EscapedPath()
	}
	b.WriteString(uri)
	b.WriteByte('\n')
	if r.URL != nil {
		b.WriteString(r.URL.RawQuery)
	}
	b.WriteByte('\n')
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(headerValue(r, name, o))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// stringToSign is the TC3 string to sign for a canonical request.
func stringToSign(timestamp, scope, canonical string) string {
	return Algorithm + "\n" + timestamp + "\n" + scope + "\n" + sha256Hex(canonical)
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// signingKey derives the per-day, per-service key from the secret key.
func signingKey(secretKey, date, service string) []byte {
	k := hmacSHA256([]byte("TC3"+secretKey), date)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, scopeTerminator)
}

// signatureHex is the hex HMAC of the string to sign.
func signatureHex(key []byte, sts string) string {
	return hex.EncodeToString(hmacSHA256(key, sts))
}
