package dbbrain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// StatusError is an HTTP answer that is not an API 3.0 envelope, such as a
// load balancer's bare 503. The SDK would report it as a JSON parse error,
// which hides that a retry may well succeed.
type StatusError struct {
	StatusCode int
	Body       string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d without an API envelope: %s", e.StatusCode, e.Body)
}

// NewTransport returns the HTTP transport shared by every call of a process,
// so that a warm instance reuses its connections. maxConns bounds the
// connections to DBbrain; it should be at least the call concurrency.
func NewTransport(maxConns int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = maxConns
	t.MaxConnsPerHost = maxConns
	t.IdleConnTimeout = 30 * time.Second
	t.ResponseHeaderTimeout = 0 // the invocation's deadline bounds each call
	return t
}

// envelopeCheck turns non-envelope answers into a *StatusError.
type envelopeCheck struct{ next http.RoundTripper }

// maxErrorBody bounds how much of a non-200 answer is read.
const maxErrorBody = 64 << 10

func (c envelopeCheck) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil || resp.StatusCode == http.StatusOK {
		return resp, err
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	if rerr == nil && isEnvelope(body) {
		// A Tencent error envelope with a non-200 status: let the SDK read
		// its code.
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.StatusCode = http.StatusOK
		return resp, nil
	}
	return nil, &StatusError{StatusCode: resp.StatusCode, Body: snippet(body)}
}

func isEnvelope(body []byte) bool {
	var v struct {
		Response *struct {
			Error *struct{ Code string } `json:"Error"`
		} `json:"Response"`
	}
	return json.Unmarshal(body, &v) == nil && v.Response != nil && v.Response.Error != nil && v.Response.Error.Code != ""
}

func snippet(b []byte) string {
	const limit = 200
	s := string(bytes.TrimSpace(b))
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return s
}
