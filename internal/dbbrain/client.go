package dbbrain

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/redact"
)

// requestClient tags our calls in DBbrain's logs.
const requestClient = "scf-addusercontact"

// ErrMaybeApplied marks a failure that happened after the request was
// written: DBbrain may have applied it even though no answer arrived.
var ErrMaybeApplied = errors.New("the request was sent; DBbrain may have applied it")

// Client calls DBbrain in one region, through the SDK's common client: it
// needs only the small common module (signing, transport, errors) and no
// per-product module, whose generated types for two actions would be most of
// the binary's SDK code. Each call builds an SDK client for the invocation's
// credential (they change between invocations) on one shared transport (so
// connections survive between invocations). The SDK's own retries stay off:
// they ignore the context and resend the same signed request; retrying is the
// registrar's job.
type Client struct {
	region    string
	endpoint  Endpoint
	transport http.RoundTripper
}

// NewClient returns a Client. transport is shared by all calls; see
// NewTransport.
func NewClient(region string, endpoint Endpoint, transport http.RoundTripper) *Client {
	return &Client{region: region, endpoint: endpoint, transport: envelopeCheck{next: transport}}
}

// Contact is a contact as DescribeAllUserContact lists it.
type Contact struct {
	ID   int64  `json:"Id"`   // The contact's id.
	Name string `json:"Name"` // The contact's name.
	Mail string `json:"Mail"` // The contact's email address.
	// RequestID is the RequestId of the answer that listed the contact.
	RequestID string `json:"-"`
}

// AddResult is AddUserContact's answer.
type AddResult struct {
	ID        int64  // The new contact's id.
	RequestID string // DBbrain's RequestId.
}

type addResponse struct {
	*tchttp.BaseResponse
	Response *struct {
		ID        *int64  `json:"Id"`
		RequestID *string `json:"RequestId"`
	} `json:"Response"`
}

// AddUserContact registers a contact. Errors are *apierror.Error carrying
// DBbrain's code, message and RequestId when DBbrain answered.
func (c *Client) AddUserContact(ctx context.Context, cred common.CredentialIface, name, email, product string) (AddResult, error) {
	resp := &addResponse{BaseResponse: &tchttp.BaseResponse{}}
	err := c.send(ctx, cred, ActionAddUserContact, map[string]any{"Name": name, "ContactInfo": email, "Product": product}, resp)
	if err != nil {
		return AddResult{}, err
	}
	if resp.Response == nil || resp.Response.ID == nil {
		return AddResult{}, apierror.Wrap(apierror.Setup, apierror.ParseJSONError, ErrMaybeApplied, "DBbrain's AddUserContact answer has no Id")
	}
	return AddResult{ID: *resp.Response.ID, RequestID: deref(resp.Response.RequestID)}, nil
}

// DescribeResult is DescribeAllUserContact's answer.
type DescribeResult struct {
	TotalCount int64     // How many contacts matched.
	Contacts   []Contact // The matching contacts.
	RequestID  string    // DBbrain's RequestId.
}

type describeResponse struct {
	*tchttp.BaseResponse
	Response *struct {
		TotalCount *int64    `json:"TotalCount"`
		Contacts   []Contact `json:"Contacts"`
		RequestID  *string   `json:"RequestId"`
	} `json:"Response"`
}

// DescribeAllUserContact lists the contacts whose names contain any of names
// (DBbrain matches names as substrings; compare exactly on your side).
func (c *Client) DescribeAllUserContact(ctx context.Context, cred common.CredentialIface, names []string) (DescribeResult, error) {
	resp := &describeResponse{BaseResponse: &tchttp.BaseResponse{}}
	p := map[string]any{"Product": Product}
	if len(names) > 0 {
		p["Names"] = names
	}
	if err := c.send(ctx, cred, ActionDescribeAllUserContact, p, resp); err != nil {
		return DescribeResult{}, err
	}
	if resp.Response == nil {
		return DescribeResult{}, apierror.E(apierror.Setup, apierror.ParseJSONError, "DBbrain's DescribeAllUserContact answer has no Response")
	}
	out := DescribeResult{Contacts: resp.Response.Contacts, RequestID: deref(resp.Response.RequestID)}
	if resp.Response.TotalCount != nil {
		out.TotalCount = *resp.Response.TotalCount
	}
	return out, nil
}

func (c *Client) send(ctx context.Context, cred common.CredentialIface, action string, p map[string]any, resp tchttp.Response) error {
	prof := profile.NewClientProfile()
	prof.HttpProfile.Endpoint = c.endpoint.Host
	prof.HttpProfile.Scheme = c.endpoint.Scheme
	prof.HttpProfile.ReqMethod = http.MethodPost
	// No client timeout: the context carries the invocation's deadline, and
	// an http.Client timeout around a wrapped transport would keep a timer
	// and a goroutine per request alive until it fired.
	prof.HttpProfile.ReqTimeout = 0
	prof.Language = "en-US"
	prof.DisableRegionBreaker = true // it would fail over to another region's host
	client := common.NewCommonClient(cred, c.region, prof).WithHttpTransport(c.transport)
	client.WithRequestClient(requestClient)

	req := tchttp.NewCommonRequest(Service, Version, action)
	if err := req.SetActionParameters(p); err != nil {
		return apierror.Wrap(apierror.Setup, apierror.InternalError, err, "building the %s request failed", action)
	}
	var written atomic.Bool
	state := &callState{}
	ctx = context.WithValue(ctx, callStateKey{}, state)
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				written.Store(true)
			}
		},
	})
	req.SetContext(ctx)
	if err := client.Send(req, resp); err != nil {
		return translate(ctx, action, c.endpoint, err, written.Load(), state.readError())
	}
	return nil
}

// translate turns an SDK error into an *apierror.Error, with its kind set
// here, where the answer is understood: DBbrain's own codes pass through and
// are classified by kindOf; client-side failures get a ClientError code,
// except a bare 5xx, which means the same as DBbrain's ServiceUnavailable.
//
// The answer may have been applied whenever the failure came after the
// request was written; such errors carry ErrMaybeApplied.
func translate(ctx context.Context, action string, ep Endpoint, err error, written bool, readErr error) error {
	var cause error = err
	var sdk *tcerr.TencentCloudSDKError
	if errors.As(err, &sdk) {
		switch sdk.Code {
		case "ClientError.NetworkError":
			cause = sdk.Unwrap()
		case "ClientError.ParseJsonError", "ClientError.IOError", "ClientError.HttpStatusCodeError":
			if readErr == nil && ctx.Err() == nil {
				// Not DBbrain's answer: the endpoint, or a proxy before it.
				return apierror.Wrap(apierror.Setup, apierror.ParseJSONError, maybeApplied(err, true), "DBbrain's %s answer could not be read: %s", action, apierror.Clip(strings.TrimSpace(sdk.Message), maxBodyExcerpt))
			}
			// The answer broke off: a network failure or the deadline,
			// not a malformed answer.
			cause = errors.Join(readErr, ctx.Err())
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
	return apierror.Wrap(apierror.Transient, apierror.NetworkError, maybeApplied(err, written), "calling %s at %s failed: %s", action, ep.URL(), redact.URLsIn(fmt.Sprint(cause)))
}

// kindOf says what an answered code means, by family; the README's table
// "What DBbrain answers" is this switch. The API page documents the codes
// but not their causes, so where it is silent the kind is the one that
// neither stalls a record trigger for ever nor drops a contact unreported.
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

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
