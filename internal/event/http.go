package event

import (
	"encoding/base64"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/contact"
)

// HTTPRequest is what both HTTP event types carry, normalised.
type HTTPRequest struct {
	Method          string      // The HTTP method.
	Path            string      // The request path.
	Headers         Headers     // Lower-case names.
	Query           QueryString // The query string.
	Body            string      // The raw body.
	IsBase64Encoded bool        // Whether Body is base64.
}

// AllowedMethods is sent in the Allow header of a 405 answer.
const AllowedMethods = "GET, POST"

// ErrMethodNotAllowed is the cause of the UnsupportedOperation error for an
// HTTP method other than AllowedMethods.
var ErrMethodNotAllowed = errors.New("HTTP method not allowed")

// Params extracts the AddUserContact parameters: from the query string for
// GET (the API page's example request), from the body (JSON or form) and
// the query string together for POST.
func (r HTTPRequest) Params() (contact.Params, error) {
	method := strings.ToUpper(strings.TrimSpace(r.Method))
	if method != http.MethodGet && method != http.MethodPost {
		return contact.Params{}, apierror.Wrap(apierror.UnsupportedOperation, ErrMethodNotAllowed,
			"the HTTP method %s is not supported: POST the contact as JSON or a form, or GET with it in the query string", apierror.Quote(r.Method))
	}
	query, err := contact.ParseValues(r.Query, "the query string")
	if err != nil {
		return contact.Params{}, err
	}
	if method == http.MethodGet {
		return query, nil
	}
	body, err := r.body()
	if err != nil {
		return contact.Params{}, err
	}
	fromBody, err := bodyParams(body, r.Headers["content-type"])
	if err != nil {
		return contact.Params{}, err
	}
	return query.Merge(fromBody, "in both the query string and the body")
}

// body returns the decoded body, enforcing MaxHTTPBody.
func (r HTTPRequest) body() ([]byte, error) {
	if !r.IsBase64Encoded {
		if len(r.Body) > MaxHTTPBody {
			return nil, tooLarge("the body", len(r.Body), MaxHTTPBody)
		}
		return []byte(r.Body), nil
	}
	if base64.StdEncoding.DecodedLen(len(r.Body)) > MaxHTTPBody+2 {
		return nil, tooLarge("the base64-decoded body", base64.StdEncoding.DecodedLen(len(r.Body)), MaxHTTPBody)
	}
	s := strings.TrimSpace(r.Body)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		// Some clients send the URL-safe or unpadded alphabet.
		if b2, err2 := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "=")); err2 == nil {
			b, err = b2, nil
		}
	}
	if err != nil {
		return nil, apierror.Wrap(apierror.InvalidParameter, err, "the body is marked isBase64Encoded but is not valid base64")
	}
	if len(b) > MaxHTTPBody {
		return nil, tooLarge("the base64-decoded body", len(b), MaxHTTPBody)
	}
	return b, nil
}

func bodyParams(body []byte, contentType string) (contact.Params, error) {
	media := "application/x-www-form-urlencoded"
	t := strings.TrimSpace(string(body))
	if strings.TrimSpace(contentType) != "" {
		m, _, err := mime.ParseMediaType(contentType)
		if err != nil {
			return contact.Params{}, apierror.Wrap(apierror.InvalidParameter, err, "the Content-Type header %s cannot be parsed", apierror.Quote(contentType))
		}
		media = m
	}
	// A body that starts with "{" is JSON, whether it came without a
	// Content-Type or with the form type that `curl -d` sends for any data:
	// no form starts so.
	if (strings.HasPrefix(t, "{") && media == "application/x-www-form-urlencoded") || (t == "" && contentType == "") {
		media = "application/json"
	}
	switch {
	case media == "application/json" || strings.HasSuffix(media, "+json") || media == "text/json":
		return contact.ParseJSON(body, "the body")
	case media == "application/x-www-form-urlencoded":
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return contact.Params{}, apierror.Wrap(apierror.InvalidParameter, err, "the form body cannot be parsed: %v", err)
		}
		return contact.ParseValues(v, "the form body")
	default:
		return contact.Params{}, apierror.New(apierror.InvalidParameter,
			"the Content-Type %s is not supported: send application/json or application/x-www-form-urlencoded", apierror.Quote(media))
	}
}

// IntegrationResponse is what an HTTP trigger (API Gateway integration or
// Function URL) turns into the HTTP answer.
type IntegrationResponse struct {
	IsBase64Encoded bool              `json:"isBase64Encoded"` // Always false: bodies are JSON text.
	StatusCode      int               `json:"statusCode"`      // The HTTP status.
	Headers         map[string]string `json:"headers"`         // Response headers.
	Body            string            `json:"body"`            // The envelope.
}

// ContentType is the media type of every body the function writes.
const ContentType = "application/json; charset=utf-8"

// NewHTTPResponse wraps an envelope for an HTTP trigger. allow adds the
// Allow header, for a 405 answered because of the request's method (and not
// for DBbrain's own UnsupportedOperation).
func NewHTTPResponse(status int, envelope []byte, allow bool) IntegrationResponse {
	h := map[string]string{"Content-Type": ContentType}
	if allow {
		h["Allow"] = AllowedMethods
	}
	return IntegrationResponse{StatusCode: status, Headers: h, Body: string(envelope)}
}
