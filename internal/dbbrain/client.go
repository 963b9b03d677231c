package dbbrain

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"strings"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/redact"
)

// ErrMaybeApplied marks a failure that happened after the request was
// written: DBbrain may have applied it even though no answer arrived.
var ErrMaybeApplied = errors.New("the request was sent; DBbrain may have applied it")

// Client calls DBbrain in one region through the SDK's common client: it
// needs only the small common module (signing, transport, errors), not the
// per-product module, whose generated types for two actions would be most of
// the binary's SDK code. Each call builds an SDK client for the invocation's
// credential (it changes between invocations) on one shared transport (so
// connections outlive invocations). The SDK's own retries stay off: they
// ignore the context and resend the same signed request.
type Client struct {
	region    string
	endpoint  Endpoint
	transport http.RoundTripper
}

// NewClient returns a Client; transport is shared by all calls (NewTransport).
func NewClient(region string, endpoint Endpoint, transport http.RoundTripper) *Client {
	return &Client{region: region, endpoint: endpoint, transport: envelopeCheck{next: transport}}
}

// Contact is a contact as DescribeAllUserContact lists it.
type Contact struct {
	ID        int64  `json:"Id"`   // The contact's id.
	Name      string `json:"Name"` // The contact's name.
	Mail      string `json:"Mail"` // The contact's email address.
	RequestID string `json:"-"`    // The RequestId of the answer that listed it.
}

// AddResult is AddUserContact's answer.
type AddResult struct {
	ID        int64  `json:"Id"`        // The new contact's id.
	RequestID string `json:"RequestId"` // DBbrain's RequestId.
}

// DescribeResult is DescribeAllUserContact's answer.
type DescribeResult struct {
	TotalCount int64     `json:"TotalCount"` // How many contacts matched.
	Contacts   []Contact `json:"Contacts"`   // The matching contacts.
	RequestID  string    `json:"RequestId"`  // DBbrain's RequestId.
}

// answer is the SDK's form of a response: T under "Response".
type answer[T any] struct {
	*tchttp.BaseResponse
	Response *T `json:"Response"`
}

// AddUserContact registers a contact. Errors are *apierror.Error carrying
// DBbrain's code, message and RequestId when DBbrain answered.
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
	// No client timeout: the context carries the invocation's deadline, and
	// an http.Client timeout around a wrapped transport would keep a timer
	// and a goroutine per request alive until it fired.
	prof.HttpProfile.ReqTimeout = 0
	prof.Language = "en-US"
	prof.DisableRegionBreaker = true // it would fail over to another region's host
	client := common.NewCommonClient(cred, c.region, prof).WithHttpTransport(c.transport)
	client.WithRequestClient("scf-addusercontact") // tags our calls in DBbrain's logs
	req := tchttp.NewCommonRequest(Service, Version, action)
	if err := req.SetActionParameters(p); err != nil {
		return apierror.Wrap(apierror.Setup, apierror.InternalError, err, "building the %s request failed", action)
	}
	state := &callState{}
	req.SetContext(httptrace.WithClientTrace(context.WithValue(ctx, callStateKey{}, state), &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) { state.wrote(info.Err) },
	}))
	if err := client.Send(req, resp); err != nil {
		written, readErr := state.get()
		return translate(ctx, action, c.endpoint, err, written, readErr)
	}
	return nil
}

// translate turns an SDK error into an *apierror.Error, its kind set here,
// where the answer is understood: DBbrain's own codes pass through,
// classified by kindOf; failures on our side get a ClientError code, but a
// bare 5xx, which means what DBbrain's ServiceUnavailable does. A failure
// after the request was written carries ErrMaybeApplied.
func translate(ctx context.Context, action string, ep Endpoint, err error, written bool, readErr error) error {
	var cause error = err
	var sdk *tcerr.TencentCloudSDKError
	if errors.As(err, &sdk) {
		switch sdk.Code {
		case "ClientError.NetworkError":
			cause = sdk.Unwrap()
		case "ClientError.ParseJsonError", "ClientError.IOError", "ClientError.HttpStatusCodeError":
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
	var status *StatusError
	switch {
	case errors.As(cause, &status) && status.StatusCode == http.StatusTooManyRequests:
		return apierror.Wrap(apierror.Throttled, apierror.RequestLimitExceeded, err, "DBbrain answered %s with HTTP 429 and no API envelope", action)
	case errors.As(cause, &status) && status.StatusCode >= 500:
		return apierror.Wrap(apierror.Transient, apierror.ServiceUnavailable, maybeApplied(err, written), "DBbrain answered %s with HTTP %d and no API envelope", action, status.StatusCode)
	case errors.As(cause, &status):
		return apierror.Wrap(apierror.Setup, apierror.HTTPStatusCodeError, err, "DBbrain answered %s with HTTP %d and no API envelope", action, status.StatusCode)
	case errors.Is(cause, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return apierror.Wrap(apierror.Transient, apierror.DeadlineExceeded, maybeApplied(err, written), "no answer to %s before the invocation's deadline", action)
	case errors.Is(cause, context.Canceled) || ctx.Err() != nil:
		return apierror.Wrap(apierror.Transient, apierror.DeadlineExceeded, maybeApplied(err, written), "the invocation was cancelled while calling %s", action)
	}
	return apierror.Wrap(apierror.Transient, apierror.NetworkError, maybeApplied(err, written), "calling %s at %s failed: %s", action, redact.URLsIn(ep.URL()), redact.URLsIn(fmt.Sprint(cause)))
}

// kindOf says what an answered code means, by family; the README's table of
// codes is this switch. The API page documents codes, not their causes, so
// where it is silent the kind is the one that neither stalls a record
// trigger for ever nor drops a contact unreported.
func kindOf(code string) apierror.Kind {
	switch apierror.Family(code) {
	case "RequestLimitExceeded":
		return apierror.Throttled
	case "InternalError", "ServiceUnavailable", "ResourceUnavailable", "ResourceInsufficient", "ResourceInUse":
		return apierror.Transient // the service's state, which changes
	case "AuthFailure", "UnauthorizedOperation", "OperationDenied", "UnsupportedRegion", "NoSuchVersion", "InvalidAction":
		return apierror.Setup // the role, the account, the region: the same for every contact
	}
	// About this contact (InvalidParameterValue, FailedOperation,
	// LimitExceeded, ...), or a code the page does not list: refused for
	// good, and reported with the contact.
	return apierror.Invalid
}

func maybeApplied(err error, written bool) error {
	if written {
		return fmt.Errorf("%w: %w", ErrMaybeApplied, err)
	}
	return err
}
