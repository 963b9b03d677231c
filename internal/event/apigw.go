package event

// APIGatewayRequestContext is the gateway's description of the call.
type APIGatewayRequestContext struct {
	ServiceID  string `json:"serviceId"`  // The gateway service.
	Path       string `json:"path"`       // The request path.
	HTTPMethod string `json:"httpMethod"` // The request method.
	RequestID  string `json:"requestId"`  // The gateway's request id.
	// Identity holds the caller's gateway key, if any.
	Identity struct {
		SecretID *string `json:"secretId,omitempty"` // The gateway key's id.
	} `json:"identity"`
	SourceIP string `json:"sourceIp"` // The caller's address.
	Stage    string `json:"stage"`    // The service stage.
}

// APIGatewayEvent is the event of the legacy API Gateway trigger. Tencent
// stopped new API Gateway triggers on 2024-07-01, but existing deployments
// and Kong-based cloud-native gateways still send this shape. scf-go-lib's
// APIGatewayRequest lacks isBase64Encoded and refuses the looser values
// gateways send, hence this type.
type APIGatewayEvent struct {
	RequestContext        *APIGatewayRequestContext `json:"requestContext,omitempty"`        // Present only on API Gateway events.
	Headers               Headers                   `json:"headers"`                         // Request headers.
	Body                  string                    `json:"body"`                            // The raw body.
	IsBase64Encoded       FlexBool                  `json:"isBase64Encoded"`                 // Whether Body is base64.
	PathParameters        map[string]any            `json:"pathParameters,omitempty"`        // Unused.
	QueryStringParameters QueryString               `json:"queryStringParameters,omitempty"` // The older query string map.
	HeaderParameters      map[string]any            `json:"headerParameters,omitempty"`      // Unused.
	StageVariables        map[string]any            `json:"stageVariables,omitempty"`        // Unused.
	Path                  string                    `json:"path"`                            // The request path.
	QueryString           QueryString               `json:"queryString,omitempty"`           // The parsed query string.
	HTTPMethod            string                    `json:"httpMethod"`                      // The request method.
}

// HTTPRequest normalises the event. queryString is authoritative; the older
// queryStringParameters map is used only when queryString is absent.
func (e APIGatewayEvent) HTTPRequest() HTTPRequest {
	q := e.QueryString
	if q == nil {
		q = e.QueryStringParameters
	}
	return HTTPRequest{Method: e.HTTPMethod, Path: e.Path, Headers: e.Headers, Query: q, Body: e.Body, IsBase64Encoded: bool(e.IsBase64Encoded)}
}
