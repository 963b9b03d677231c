package trigger

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
