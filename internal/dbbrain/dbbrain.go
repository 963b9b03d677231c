// Package dbbrain is the DBbrain API as this project knows it: its documented
// facts (service, version, product, actions, limits), defined here once and
// used by the function, the emulator and the tools, and a client that calls
// it through the Tencent Cloud Go SDK's common client. Facts only the
// emulator needs (the 2021-05-27 version, v1 signatures) live there.
package dbbrain

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/scf-dbbrain/addusercontact/internal/redact"
)

// Facts of the API, from the AddUserContact page (version 2019-10-16).
const (
	// Service is the API 3.0 service name: the credential scope's service and
	// the first label of the endpoint.
	Service = "dbbrain"
	// Version is the API version the function calls.
	Version = "2019-10-16"
	// Product is the only product the contact actions accept.
	Product = "mysql"

	ActionAddUserContact         = "AddUserContact"
	ActionDescribeAllUserContact = "DescribeAllUserContact"

	// RateLimit is AddUserContact's documented limit: requests per second
	// for the whole account.
	RateLimit = 20
	// DefaultRegion is the region the API page says to select.
	DefaultRegion = "ap-guangzhou"

	// MinNameLen and MaxNameLen bound a contact name, in characters.
	MinNameLen = 2
	MaxNameLen = 60
	// MaxEmailLen is the longest address SMTP can carry (RFC 5321).
	MaxEmailLen = 254
	// Domain is the public API 3.0 domain.
	Domain = "tencentcloudapi.com"
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
			return Endpoint{Scheme: "HTTPS", Host: Service + "." + region + "." + Domain}, nil
		}
		return Endpoint{Scheme: "HTTPS", Host: Service + "." + Domain}, nil
	}
	// The override is quoted with its password masked: messages reach
	// answers and logs.
	shown := redact.URLsIn(override)
	u, err := url.Parse(override)
	if err != nil {
		return Endpoint{}, fmt.Errorf("the endpoint %q is not a URL: %s", shown, redact.URLsIn(err.Error()))
	}
	scheme := strings.ToUpper(u.Scheme)
	if scheme != "HTTP" && scheme != "HTTPS" {
		return Endpoint{}, fmt.Errorf("the endpoint %q must start with http:// or https://", shown)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return Endpoint{}, fmt.Errorf("the endpoint %q must be a scheme and host only, such as http://127.0.0.1:9000", shown)
	}
	return Endpoint{Scheme: scheme, Host: u.Host}, nil
}
