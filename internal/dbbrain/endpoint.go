package dbbrain

import (
	"fmt"
	"net/url"
	"strings"
)

// Endpoint is where requests go: the SDK's HttpProfile takes the scheme and
// the bare host separately.
type Endpoint struct {
	// Scheme is "HTTPS" or "HTTP", spelled as the SDK wants it.
	Scheme string
	// Host is host[:port] without a scheme or path.
	Host string
}

// URL renders the endpoint for logs and messages.
func (e Endpoint) URL() string { return strings.ToLower(e.Scheme) + "://" + e.Host }

// ResolveEndpoint returns the endpoint for region, or the override when one
// is given (a URL such as http://127.0.0.1:9000, for the local emulator and
// tests, or https://dbbrain.intl.tencentcloudapi.com). Finance regions are
// served only on their own domain, as the API page notes.
func ResolveEndpoint(region, override string) (Endpoint, error) {
	if override == "" {
		if strings.HasSuffix(region, "-fsi") {
			return Endpoint{Scheme: "HTTPS", Host: Service + "." + region + ".tencentcloudapi.com"}, nil
		}
		return Endpoint{Scheme: "HTTPS", Host: Service + ".tencentcloudapi.com"}, nil
	}
	u, err := url.Parse(override)
	if err != nil {
		return Endpoint{}, fmt.Errorf("the endpoint %q is not a URL: %w", override, err)
	}
	scheme := strings.ToUpper(u.Scheme)
	if scheme != "HTTP" && scheme != "HTTPS" {
		return Endpoint{}, fmt.Errorf("the endpoint %q must start with http:// or https://", override)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return Endpoint{}, fmt.Errorf("the endpoint %q must be a scheme and host only, such as http://127.0.0.1:9000", override)
	}
	return Endpoint{Scheme: scheme, Host: u.Host}, nil
}
