package trigger

// APIGatewayRequestContext is the gateway's description of the call.
type APIGatewayRequestContext struct {
	ServiceID  string `json:"serviceId"`
	Path       string `json:"path"`
	HTTPMethod string `json:"httpMethod"`
	RequestID  string `json:"requestId"`
	Identity   struct {
		SecretID *string `json:"secretId,omitempty"`
	} `json:"identity"`
	SourceIP string `json:"sourceIp"`
	Stage    string `json:"stage"`
}

// APIGatewayEvent is the event of the legacy API Gateway trigger. Tencent
// stopped new API Gateway triggers on 2024-07-01, but existing deployments
// and Kong-based cloud-native gateways still send this shape.
type APIGatewayEvent struct {
	RequestContext        *APIGatewayRequestContext `json:"requestContext,omitempty"`
	Headers               Headers                   `json:"headers"`
	Body                  string                    `json:"body"`
	IsBase64Encoded       FlexBool                  `json:"isBase64Encoded"`
	PathParameters        map[string]any            `json:"pathParameters,omitempty"`
	QueryStringParameters QueryString               `json:"queryStringParameters,omitempty"`
	HeaderParameters      map[string]any            `json:"headerParameters,omitempty"`
	StageVariables        map[string]any            `json:"stageVariables,omitempty"`
	Path                  string                    `json:"path"`
	QueryString           QueryString               `json:"queryString,omitempty"`
	HTTPMethod            string                    `json:"httpMethod"`
}

// Request normalises the event. queryString is authoritative; the older
// queryStringParameters map is used only when queryString is absent. The
// other *Parameters maps are not used, so they are read leniently.
func (e APIGatewayEvent) Request() HTTPRequest {
	q := e.QueryString
	if q == nil {
		q = e.QueryStringParameters
	}
	return HTTPRequest{
		Method:          e.HTTPMethod,
		Path:            e.Path,
		Headers:         e.Headers,
		Query:           q,
		Body:            e.Body,
		IsBase64Encoded: bool(e.IsBase64Encoded),
	}
}
