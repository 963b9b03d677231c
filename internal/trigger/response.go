package trigger

import "net/http"

// IntegrationResponse is what an HTTP trigger (API Gateway integration or
// Function URL) turns into the HTTP answer.
type IntegrationResponse struct {
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
}

// ContentType is the media type of every body the function writes.
const ContentType = "application/json; charset=utf-8"

// NewHTTPResponse wraps an envelope for an HTTP trigger.
func NewHTTPResponse(status int, envelope []byte) IntegrationResponse {
	h := map[string]string{"Content-Type": ContentType}
	if status == http.StatusMethodNotAllowed {
		h["Allow"] = AllowedMethods
	}
	return IntegrationResponse{StatusCode: status, Headers: h, Body: string(envelope)}
}
