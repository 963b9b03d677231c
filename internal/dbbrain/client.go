package dbbrain

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/redact"
)

// ErrMaybeApplied marks a failure after the request was written: DBbrain may
// have applied it.
var ErrMaybeApplied = errors.New("the request was sent; DBbrain may have applied it")

// Client calls DBbrain in one region through the SDK's common client (the
// per-product module's types would be most of the binary's SDK code), one
// per call for the invocation's credential, on a shared transport. The SDK's
// retries stay off: they ignore the context and resend the same signed request.
type Client struct {
	region    string
	endpoint  Endpoint
	transport http.RoundTripper
}

// NewClient returns a Client; transport is shared by all calls (NewTransport).
func NewClient(region string, endpoint Endpoint, transport http.RoundTripper) *Client {
	return &Client{region: region, endpoint: endpoint, transport: transport}
}

// Contact is a contact as DescribeAllUserContact lists it.
type Contact struct {
	ID        int64  `json:"Id"`
	Name      string `json:"Name"`
	Mail      string `json:"Mail"`
	RequestID string `json:"-"` // The RequestId of the answer that listed it.
}

// AddResult is AddUserContact's answer.
type AddResult struct {
	ID        int64  `json:"Id"` // The new contact's id.
	RequestID string `json:"RequestId"`
}

// DescribeResult is DescribeAllUserContact's answer.
type DescribeResult struct {
	TotalCount int64     `json:"TotalCount"`
	Contacts   []Contact `json:"Contacts"`
	RequestID  string    `json:"RequestId"`
}

// answer is the SDK's form of a response: T under "Response".
type answer[T any] struct {
	*tchttp.BaseResponse
	Response *T `json:"Response"`
}

// AddUserContact registers a contact. Errors are *apierror.Error, with
// DBbrain's code, message and RequestId when it answered.
func (c *Client) AddUserContact(ctx context.Context, cred common.CredentialIface, name, email, product string) (AddResult, error) {
	var a answer[struct {
		ID *int64 `json:"Id"`
		AddResult
	}]
	if err := c.send(ctx, cred, ActionAddUserContact, map[string]any{"Name": name, "ContactInfo": email, "Product": product}, &a); err != nil {
		return AddResult{}, err
	}
	if a.Response == nil || a.Response.ID == nil {
		return AddResult{}, apierror.Wrap(apierror.Setup, apierror.ParseJSONError, ErrMaybeApplied, "DBbrain's AddUserContact answer has no Id")
	}
	return AddResult{ID: *a.Response.ID, RequestID: a.Response.RequestID}, nil
}

// DescribeAllUserContact lists the contacts whose names contain any of names
// (DBbrain matches names as substrings; compare exactly on your side).
func (c *Client) DescribeAllUserContact(ctx context.Context, cred common.CredentialIface, names []string) (DescribeResult, error) {
	var a answer[DescribeResult]
	p := map[string]any{"Product": Product}
	if len(names) > 0 {
		p["Names"] = names
	}
	if err := c.send(ctx, cred, ActionDescribeAllUserContact, p, &a); err != nil {
		return DescribeResult{}, err
	}
	if a.Response == nil {
		return DescribeResult{}, apierror.E(apierror.Setup, apierror.ParseJSONError, "DBbrain's DescribeAllUserContact answer has no Response")
	}
	return *a.Response, nil
}

func (c *Client) send(ctx context.Context, cred common.CredentialIface, action string, p map[string]any, resp tchttp.Response) error {
	prof := profile.NewClientProfile()
	prof.HttpProfile.Endpoint, prof.HttpProfile.Scheme, prof.HttpProfile.ReqMethod = c.endpoint.Host, c.endpoint.Scheme, http.MethodPost
	// No timeout: the context has the deadline, and one around a wrapped
	// transport would keep a timer and a goroutine per request until it fired.
	prof.HttpProfile.ReqTimeout = 0
	prof.Language = "en-US"
	prof.DisableRegionBreaker = true // it would fail over to another region's host
	// One per call: NewCommonClient gives each client its own http.Client.
	call := &callTransport{next: c.transport}
	client := common.NewCommonClient(cred, c.region, prof).WithHttpTransport(call)
	client.WithRequestClient("scf-addusercontact") // tags our calls in DBbrain's logs
	req := tchttp.NewCommonRequest(Service, Version, action)
	if err := req.SetActionParameters(p); err != nil {
		return apierror.Wrap(apierror.Setup, apierror.InternalError, err, "building the %s request failed", action)
	}
	req.SetContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				call.written.Store(true)
			}
		},
	}))
	if err := client.Send(req, resp); err != nil {
		call.mu.Lock()
		defer call.mu.Unlock()
		return translate(ctx, action, c.endpoint, err, call.written.Load(), call.readErr)
	}
	return nil
}

// translate turns an SDK error into an *apierror.Error: DBbrain's codes pass
// through, classified by kindOf; failures on our side get a ClientError code,
// but a bare 5xx means ServiceUnavailable. A failure after the request was
// written carries ErrMaybeApplied.
func translate(ctx context.Context, action string, ep Endpoint, err error, written bool, readErr error) error {
	cause := err
	if sdk, ok := errors.AsType[*tcerr.TencentCloudSDKError](err); ok {
		switch sdk.Code {
		case "ClientError.NetworkError":
			cause = sdk.Unwrap()
		case "ClientError.ParseJsonError", "ClientError.IOError", "ClientError.HttpStatusCodeError", "ClientError.TypeError":
			if readErr == nil && ctx.Err() == nil { // not DBbrain's answer: the endpoint, or a proxy before it
				return apierror.Wrap(apierror.Setup, apierror.ParseJSONError, maybeApplied(err, true), "DBbrain's %s answer could not be read: %s", action, apierror.Clip(strings.TrimSpace(sdk.Message), maxBodyExcerpt))
			}
			cause = errors.Join(readErr, ctx.Err()) // the answer broke off: the network or the deadline
		default:
			if sdk.RequestId != "" || !strings.HasPrefix(sdk.Code, "ClientError") {
				return &apierror.Error{Kind: kindOf(sdk.Code), Code: sdk.Code, Message: sdk.Message, RequestID: sdk.RequestId, Err: err}
			}
			return &apierror.Error{Kind: apierror.Setup, Code: sdk.Code, Message: "the SDK failed before calling " + action + ": " + sdk.Message, Err: err}
		}
	}
	status, bare := errors.AsType[*StatusError](cause)
	switch {
	case bare && status.StatusCode == http.StatusTooManyRequests:
		return apierror.Wrap(apierror.Throttled, apierror.RequestLimitExceeded, err, "DBbrain answered %s with HTTP 429 and no API envelope", action)
	case bare && status.StatusCode >= 500:
		return apierror.Wrap(apierror.Transient, apierror.ServiceUnavailable, maybeApplied(err, written), "DBbrain answered %s with HTTP %d and no API envelope", action, status.StatusCode)
	case bare:
		return apierror.Wrap(apierror.Setup, apierror.HTTPStatusCodeError, err, "DBbrain answered %s with HTTP %d and no API envelope", action, status.StatusCode)
	case errors.Is(cause, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return apierror.Wrap(apierror.Transient, apierror.DeadlineExceeded, maybeApplied(err, written), "no answer to %s before the invocation's deadline", action)
	case errors.Is(cause, context.Canceled) || ctx.Err() != nil:
		return apierror.Wrap(apierror.Transient, apierror.DeadlineExceeded, maybeApplied(err, written), "the invocation was cancelled while calling %s", action)
	}
	return apierror.Wrap(apierror.Transient, apierror.NetworkError, maybeApplied(err, written), "calling %s at %s failed: %s", action, redact.URLsIn(ep.URL()), redact.URLsIn(fmt.Sprint(cause)))
}

// kindOf classifies an answered code by family (the README's table). The API
// page documents codes, not causes: where it is silent, the kind neither
// stalls a record trigger for ever nor drops a contact unreported.
func kindOf(code string) apierror.Kind {
	switch apierror.Family(code) {
	case "RequestLimitExceeded":
		return apierror.Throttled
	case "InternalError", "ServiceUnavailable", "ResourceUnavailable", "ResourceInsufficient", "ResourceInUse":
		return apierror.Transient // the service's state, which changes
	case "AuthFailure", "UnauthorizedOperation", "OperationDenied", "UnsupportedRegion", "NoSuchVersion", "InvalidAction":
		return apierror.Setup // the role, the account, the region: the same for every contact
	}
	return apierror.Invalid // about this contact (InvalidParameterValue, FailedOperation, ...), or unlisted
}

func maybeApplied(err error, written bool) error {
	if written {
		return fmt.Errorf("%w: %w", ErrMaybeApplied, err)
	}
	return err
}

// StatusError is an HTTP answer without an API envelope, such as a proxy's
// 503, which the SDK reports as a JSON parse error, hiding that a retry may do.
type StatusError struct {
	StatusCode int    // The HTTP status.
	Body       string // The start of the body, for the message.
}

// Error describes the answer.
func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d without an API envelope: %s", e.StatusCode, e.Body)
}

// NewTransport returns the transport a process's calls share, so that a warm
// instance reuses its connections, at most maxIdle of them idle.
func NewTransport(maxIdle int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = maxIdle
	t.IdleConnTimeout = 30 * time.Second
	t.ResponseHeaderTimeout = 0 // the invocation's deadline bounds each call
	return t
}

// Bounds on what is read and quoted of an answer without an envelope.
const (
	maxErrorBody   = 64 << 10
	maxBodyExcerpt = 200
)

// callTransport is one call's transport: it turns answers that are not API
// envelopes into a *StatusError, and records what the SDK's error hides:
// whether the request was written, and why a 200 answer's body broke off (the
// SDK says "JSON parse error").
type callTransport struct {
	next    http.RoundTripper
	written atomic.Bool
	mu      sync.Mutex
	readErr error // the first failed read
}

// RoundTrip sends req and vets the answer.
func (c *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	// A stream (text/event-stream) is never an answer of these actions, and
	// the SDK would return it unread and unclosed.
	if resp.StatusCode == http.StatusOK && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body = &watchedBody{ReadCloser: resp.Body, call: c}
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
		resp.Header.Set("Content-Type", "application/json")
		return resp, nil
	}
	return nil, &StatusError{StatusCode: resp.StatusCode, Body: apierror.Clip(string(bytes.TrimSpace(body)), maxBodyExcerpt)}
}

// watchedBody records a failed read and closes the body, which one of the
// SDK's paths never does.
type watchedBody struct {
	io.ReadCloser
	call *callTransport
}

// Read reads the body, recording the first failure.
func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.call.mu.Lock()
		b.call.readErr = cmp.Or(b.call.readErr, err)
		b.call.mu.Unlock()
		_ = b.ReadCloser.Close()
	}
	return n, err
}
