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
// so that a warm instance reuses its connections; maxIdle bounds the idle
// ones kept between calls.
func NewTransport(maxIdle int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = maxIdle
	t.IdleConnTimeout = 30 * time.Second
	t.ResponseHeaderTimeout = 0 // the invocation's deadline bounds each call
	return t
}

// Bounds on what is read of an answer that is not an envelope, and quoted
// of it: enough to recognise a proxy's error page, too little to flood a log.
const (
	maxErrorBody   = 64 << 10
	maxBodyExcerpt = 200
)

// envelopeCheck turns answers that are not API envelopes into a
// *StatusError, and watches a 200 answer's body as the SDK reads it.
type envelopeCheck struct{ next http.RoundTripper }

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
	var v struct {
		Response *struct{ Error *struct{ Code string } }
	}
	if rerr == nil && json.Unmarshal(body, &v) == nil && v.Response != nil && v.Response.Error != nil && v.Response.Error.Code != "" {
		// A Tencent error envelope with another status: the SDK reads its code.
		resp.Body, resp.StatusCode = io.NopCloser(bytes.NewReader(body)), http.StatusOK
		return resp, nil
	}
	return nil, &StatusError{StatusCode: resp.StatusCode, Body: apierror.Clip(string(bytes.TrimSpace(body)), maxBodyExcerpt)}
}

// callState records for one call what the SDK's error hides: whether the
// request was written, and why a body broke off mid-read (the SDK reports
// that as a JSON parse error, without its cause, and does not close it).
type callState struct {
	mu      sync.Mutex
	written bool
	readErr error
}

type callStateKey struct{}

func (s *callState) wrote(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.written = s.written || err == nil
}

func (s *callState) get() (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.written, s.readErr
}

// watchedBody records a failed read and closes the body at once, so that
// the connection is released even on the SDK's path that never closes it.
type watchedBody struct {
	io.ReadCloser
	state *callState
}

// Read reads the body, recording the first failure.
func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.state.mu.Lock()
		b.state.readErr = cmpErr(b.state.readErr, err)
		b.state.mu.Unlock()
		_ = b.ReadCloser.Close()
	}
	return n, err
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
