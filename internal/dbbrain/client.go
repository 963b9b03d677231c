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
	"sync/atomic"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/redact"
)

// ErrMaybeApplied marks a failure after the request was written: DBbrain may have applied it.
var ErrMaybeApplied = errors.New("the request was sent; DBbrain may have applied it")

// Client calls DBbrain in one region through the SDK's common client (the
// product module's types would be most of the binary's SDK code). The SDK's
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
	p := map[string]any{"Name": name, "ContactInfo": email, "Product": product}
	if err := c.send(ctx, cred, ActionAddUserContact, p, &a); err != nil {
		return AddResult{}, err
	}
	if a.Response == nil || a.Response.ID == nil {
		return AddResult{}, apierror.Wrap(apierror.Setup, apierror.ParseJSONError, ErrMaybeApplied, "DBbrain's AddUserContact answer has no Id")
	}
	return AddResult{ID: *a.Response.ID, RequestID: a.Response.RequestID}, nil
}

// DescribeAllUserContact lists the contacts whose names contain any of names
// (as substrings: compare exactly).
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
	prof.HttpProfile.Endpoint, prof.HttpProfile.Scheme = c.endpoint.Host, c.endpoint.Scheme
	// No timeout: the context has the deadline; one would keep a timer and
	// a goroutine per request till it fired.
	prof.HttpProfile.ReqTimeout = 0
	prof.Language = "en-US"
	prof.DisableRegionBreaker = true          // the default for now; the breaker fails over to another region's host
	call := &callTransport{next: c.transport} // one per call, as NewCommonClient gives each client its own http.Client
	client := common.NewCommonClient(cred, c.region, prof).WithHttpTransport(call)
	client.WithRequestClient("scf-addusercontact") // tags our calls in DBbrain's logs
	req := tchttp.NewCommonRequest(Service, Version, action)
	_ = req.SetActionParameters(p) // a map is taken as it is: never an error
	req.SetContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) { call.written.CompareAndSwap(false, info.Err == nil) },
	}))
	if err := client.Send(req, resp); err != nil {
		return translate(ctx, action, c.endpoint, err, call.written.Load(), call.readErr)
	}
	return nil
}

// translate turns an SDK error into an *apierror.Error: DBbrain's codes pass
// through, classified by kindOf; ours get a ClientError code, a bare 5xx
// ServiceUnavailable. A failure after the request was written carries
// ErrMaybeApplied.
func translate(ctx context.Context, action string, ep Endpoint, err error, written bool, readErr error) error {
	cause, marked := err, err // marked carries ErrMaybeApplied when the request was written
	if written {
		marked = fmt.Errorf("%w: %w", ErrMaybeApplied, err)
	}
	if sdk, ok := errors.AsType[*tcerr.TencentCloudSDKError](err); ok {
		switch sdk.Code {
		case "ClientError.NetworkError":
			cause = sdk.Unwrap()
		case "ClientError.ParseJsonError", "ClientError.IOError", "ClientError.HttpStatusCodeError", "ClientError.TypeError":
			if readErr == nil && ctx.Err() == nil { // not DBbrain's answer: the endpoint, or a proxy before it
				return apierror.Wrap(apierror.Setup, apierror.ParseJSONError, fmt.Errorf("%w: %w", ErrMaybeApplied, err),
					"DBbrain's %s answer could not be read: %s", action, apierror.Clip(strings.TrimSpace(sdk.Message), maxBodyExcerpt))
			}
			cause = errors.Join(readErr, ctx.Err()) // the answer broke off: the network or the deadline
		default:
			if sdk.RequestId != "" || !strings.HasPrefix(sdk.Code, "ClientError") {
				return &apierror.Error{Kind: kindOf(sdk.Code), Code: sdk.Code, Message: sdk.Message, RequestID: sdk.RequestId, Err: err}
			}
			return &apierror.Error{Kind: apierror.Setup, Code: sdk.Code, Message: "the SDK failed before calling " + action + ": " + sdk.Message, Err: err}
		}
	}
	status, bare := errors.AsType[*statusError](cause)
	switch {
	case bare && status.StatusCode == http.StatusTooManyRequests:
		return apierror.Wrap(apierror.Throttled, apierror.RequestLimitExceeded, err, "DBbrain answered %s with HTTP 429 and no API envelope", action)
	case bare && status.StatusCode >= 500:
		return apierror.Wrap(apierror.Transient, apierror.ServiceUnavailable, marked, "DBbrain answered %s with HTTP %d and no API envelope", action, status.StatusCode)
	case bare:
		return apierror.Wrap(apierror.Setup, apierror.HTTPStatusCodeError, err, "DBbrain answered %s with HTTP %d and no API envelope", action, status.StatusCode)
	case errors.Is(cause, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return apierror.Wrap(apierror.Transient, apierror.DeadlineExceeded, marked, "no answer to %s before the invocation's deadline", action)
	case errors.Is(cause, context.Canceled) || ctx.Err() != nil:
		return apierror.Wrap(apierror.Transient, apierror.DeadlineExceeded, marked, "the invocation was cancelled while calling %s", action)
	}
	return apierror.Wrap(apierror.Transient, apierror.NetworkError, marked, "calling %s at %s failed: %s", action, redact.URLsIn(ep.URL()), redact.URLsIn(fmt.Sprint(cause)))
}

// kindOf classifies an answered code by family (the README's table). Where the
// API page is silent on causes, the kind neither stalls a record trigger for
// ever nor drops a contact unreported.
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

// statusError is an HTTP answer without an API envelope (a proxy's 503), which
// the SDK would call a JSON parse error.
type statusError struct {
	StatusCode int    // The HTTP status.
	Body       string // The start of the body, for the message.
}

func (e *statusError) Error() string {
	return fmt.Sprintf("HTTP %d without an API envelope: %s", e.StatusCode, e.Body)
}

// NewTransport returns the transport a process's calls share, so that a warm
// instance reuses its connections, at most maxIdle of them idle. It has no
// ResponseHeaderTimeout: the invocation's deadline bounds each call.
func NewTransport(maxIdle int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = maxIdle
	t.IdleConnTimeout = 30 * time.Second
	return t
}

const maxBodyExcerpt = 200 // What a message quotes of an answer that is not DBbrain's.

// callTransport is one call's transport and the body of its answer: it turns
// answers that are not API envelopes into a *statusError, and records what the
// SDK's errors hide: whether the request was written, and why a body broke off.
type callTransport struct {
	next    http.RoundTripper
	written atomic.Bool   // set on the transport's writing goroutine
	body    io.ReadCloser // the answer's, read through Read
	readErr error         // the first failed read
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
		c.body, resp.Body = resp.Body, c
		return resp, nil
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	var v struct {
		Response struct{ Error struct{ Code string } }
	}
	if rerr == nil && json.Unmarshal(body, &v) == nil && v.Response.Error.Code != "" {
		// A Tencent error envelope with another status: the SDK reads its code.
		resp.Body, resp.StatusCode = io.NopCloser(bytes.NewReader(body)), http.StatusOK
		resp.Header.Set("Content-Type", "application/json")
		return resp, nil
	}
	return nil, &statusError{StatusCode: resp.StatusCode, Body: apierror.Clip(string(bytes.TrimSpace(body)), maxBodyExcerpt)}
}

// Read reads the answer's body, recording the first failure and closing the
// body then, which one of the SDK's paths never does. The SDK reads on the
// goroutine that called Send.
func (c *callTransport) Read(p []byte) (int, error) {
	n, err := c.body.Read(p)
	if err != nil && err != io.EOF {
		c.readErr = cmp.Or(c.readErr, err)
		_ = c.body.Close()
	}
	return n, err
}

// Close closes the answer's body.
func (c *callTransport) Close() error { return c.body.Close() }
