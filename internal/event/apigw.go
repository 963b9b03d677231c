package event

import "github.com/go-json-experiment/json/jsontext"

// APIGatewayEvent is the event of the legacy API Gateway trigger (none new
// since 2024-07-01), still sent by Kong.
type APIGatewayEvent struct {
	RequestContext        *APIGatewayRequestContext `json:"requestContext,omitzero"`        // Present only on API Gateway events.
	Headers               jsontext.Value            `json:"headers,omitzero"`               // Names in any case; a value is a string, or a list when repeated.
	Body                  string                    `json:"body"`                           // The raw body.
	IsBase64Encoded       jsontext.Value            `json:"isBase64Encoded,omitzero"`       // true or false, or the strings "true" and "false".
	PathParameters        map[string]any            `json:"pathParameters,omitzero"`        // Unused.
	QueryStringParameters jsontext.Value            `json:"queryStringParameters,omitzero"` // The older query string map.
	HeaderParameters      map[string]any            `json:"headerParameters,omitzero"`      // Unused.
	StageVariables        map[string]any            `json:"stageVariables,omitzero"`        // Unused.
	Path                  string                    `json:"path"`                           // The request path.
	QueryString           jsontext.Value            `json:"queryString,omitzero"`           // The parsed query string: a value is a string, a list (repeated key) or true (no value).
	HTTPMethod            string                    `json:"httpMethod"`                     // The request method.
}

// APIGatewayRequestContext is the gateway's description of the call.
type APIGatewayRequestContext struct {
	ServiceID  string `json:"serviceId"`  // The gateway service.
	Path       string `json:"path"`       // The request path.
	HTTPMethod string `json:"httpMethod"` // The request method.
	RequestID  string `json:"requestId"`  // The gateway's request id.
	Identity   struct {
		SecretID *string `json:"secretId,omitzero"` // The gateway key's id.
	} `json:"identity"` // The caller's gateway key, if any.
	SourceIP string `json:"sourceIp"` // The caller's address.
	Stage    string `json:"stage"`    // The service stage.
}
