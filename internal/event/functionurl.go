package event

import "github.com/go-json-experiment/json/jsontext"

// FunctionURLEvent is the event of a Function URL, SCF's current HTTP entry:
// APIGatewayEvent's shape, fewer members.
type FunctionURLEvent struct {
	Body           string         `json:"body"`                    // The raw body.
	Headers        jsontext.Value `json:"headers,omitzero"`        // As in APIGatewayEvent.
	HTTPMethod     string         `json:"httpMethod"`              // The request method.
	Path           string         `json:"path"`                    // The request path.
	QueryString    jsontext.Value `json:"queryString,omitzero"`    // As in APIGatewayEvent.
	StageVariables map[string]any `json:"stageVariables,omitzero"` // Sent by some setups; unused.
}

// IntegrationResponse is what an HTTP trigger turns into the HTTP answer.
type IntegrationResponse struct {
	IsBase64Encoded bool              `json:"isBase64Encoded"` // Always false: bodies are JSON text.
	StatusCode      int               `json:"statusCode"`      // The HTTP status.
	Headers         map[string]string `json:"headers"`         // Response headers.
	Body            string            `json:"body"`            // The envelope.
}
