// Package dbbrain is the DBbrain API as this project knows it: its facts,
// defined once for the function, the emulator and the tools, and a client
// through the SDK's common client.
package dbbrain

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/scf-dbbrain/addusercontact/internal/redact"
)

// Facts of the API, from the AddUserContact page (version 2019-10-16).
const (
	Service = "dbbrain"    // The API 3.0 service: the credential scope's, and the endpoint's first label.
	Version = "2019-10-16" // The API version the function calls.
	Product = "mysql"      // The only product the contact actions accept.

	ActionAddUserContact         = "AddUserContact"
	ActionDescribeAllUserContact = "DescribeAllUserContact"

	RateLimit     = 20                    // AddUserContact's limit: calls per second for the whole account.
	DefaultRegion = "ap-guangzhou"        // The region the API page says to select.
	MinNameLen    = 2                     // The shortest contact name, in characters.
	MaxNameLen    = 60                    // The longest contact name, in characters.
	MaxEmailLen   = 254                   // The longest address SMTP can carry (RFC 5321).
	Domain        = "tencentcloudapi.com" // The public API 3.0 domain.
)

// Endpoint is where requests go, split as the SDK's HttpProfile takes it.
type Endpoint struct {
	Scheme string // "HTTPS" or "HTTP", spelled as the SDK wants it.
	Host   string // host[:port], without a scheme or path.
}

// URL renders the endpoint for logs and messages.
func (e Endpoint) URL() string { return strings.ToLower(e.Scheme) + "://" + e.Host }

// ResolveEndpoint returns the endpoint for region (finance regions have their
// own domain), or the override URL when one is given (http://127.0.0.1:9000 for
// the emulator, https://dbbrain.intl.tencentcloudapi.com).
func ResolveEndpoint(region, override string) (Endpoint, error) {
	if override == "" {
		if strings.HasSuffix(region, "-fsi") {
			return Endpoint{Scheme: "HTTPS", Host: Service + "." + region + "." + Domain}, nil
		}
		return Endpoint{Scheme: "HTTPS", Host: Service + "." + Domain}, nil
	}
	// Messages show the value with its userinfo masked, never url.Parse's
	// error (it quotes the value), and its reason only when nothing was
	// masked (a port it quotes may be a piece of a password holding a "/").
	shown := redact.URL(override)
	u, err := url.Parse(override)
	if err != nil && shown != override {
		return Endpoint{}, fmt.Errorf("the endpoint %q is not a URL", shown)
	} else if err != nil {
		return Endpoint{}, fmt.Errorf("the endpoint %q is not a URL: %v", shown, errors.Unwrap(err)) // url.Error's reason
	}
	scheme := strings.ToUpper(u.Scheme)
	if scheme != "HTTP" && scheme != "HTTPS" {
		return Endpoint{}, fmt.Errorf("the endpoint %q must start with http:// or https://", shown)
	}
	// A fragment is refused too: "http://user:1234#x@host" parses as the
	// host "user" on port 1234, a password's piece.
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil || strings.Contains(override, "#") {
		return Endpoint{}, fmt.Errorf("the endpoint %q must be a scheme and host only, such as http://127.0.0.1:9000", shown)
	}
	return Endpoint{Scheme: scheme, Host: u.Host}, nil
}
