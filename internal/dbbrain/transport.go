package dbbrain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

// StatusError is an HTTP answer that is not an API 3.0 envelope, such as a
// load balancer's bare 503. The SDK would report it as a JSON parse error,
// which hides that a retry may well succeed.
type StatusError struct {
	StatusCode int    // The HTTP status.
	Body       string // The start of the body, for the message.
}

// Error describes the answer.
func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d without an API envelope: %s", e.StatusCode, e.Body)
}

// NewTransport returns the HTTP transport shared by every call of a process,
// so that a warm instance reuses its connections. maxIdle bounds the idle
// connections kept between calls; the number in use is bounded by the
// call concurrency, which may change between invocations.
func NewTransport(maxIdle int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = maxIdle
	t.IdleConnTimeout = 30 * time.Second
	t.ResponseHeaderTimeout = 0 // the invocation's deadline bounds each call
	return t
}

// envelopeCheck turns non-envelope answers into a *StatusError.
type envelopeCheck struct{ next http.RoundTripper }

// maxErrorBody bounds how much of a non-200 answer is read.
const maxErrorBody = 64 << 10

// maxBodyExcerpt bounds how much of an answer that is not an envelope a
// message quotes: enough to recognise a proxy's error page, too little to
// flood a log.
const maxBodyExcerpt = 200

// RoundTrip sends req and vets the answer.
func (c envelopeCheck) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		if st, ok := req.Context().Value(callStateKey{}).(*callState); ok {
			resp.Body = &watchedBody{ReadCloser: resp.Body, state: st}
		}
		return resp, nil
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
	return nil, &StatusError{StatusCode: resp.StatusCode, Body: apierror.Clip(string(bytes.TrimSpace(body)), maxBodyExcerpt)}
}

func isEnvelope(body []byte) bool {
	var v struct {
		Response *struct {
			Error *struct{ Code string } `json:"Error"`
		} `json:"Response"`
	}
	return json.Unmarshal(body, &v) == nil && v.Response != nil && v.Response.Error != nil && v.Response.Error.Code != ""
}

// callState records, for one call, what the SDK's error would hide: the SDK
// reports a body that broke off mid-read as a JSON parse error, without its
// cause, and then does not close it.
type callState struct {
	mu      sync.Mutex
	readErr error
}

type callStateKey struct{}

func (s *callState) setReadErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readErr == nil {
		s.readErr = err
	}
}

func (s *callState) readError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readErr
}

// watchedBody records a failed read and closes the body at once, so that the
// connection is released even though the SDK never closes it on that path.
type watchedBody struct {
	io.ReadCloser
	state *callState
}

// Read reads the body, recording the first failure.
func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.state.setReadErr(err)
		_ = b.ReadCloser.Close()
	}
	return n, err
}
