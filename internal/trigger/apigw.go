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
	PathParameters        map[string]string         `json:"pathParameters,omitempty"`
	QueryStringParameters map[string]string         `json:"queryStringParameters,omitempty"`
	HeaderParameters      map[string]string         `json:"headerParameters,omitempty"`
	StageVariables        map[string]string         `json:"stageVariables,omitempty"`
	Path                  string                    `json:"path"`
	QueryString           QueryString               `json:"queryString,omitempty"`
	HTTPMethod            string                    `json:"httpMethod"`
}

// Request normalises the event. queryString is authoritative; the older
// queryStringParameters map is used only when queryString is absent.
func (e APIGatewayEvent) Request() HTTPRequest {
	q := e.QueryString
	if q == nil && len(e.QueryStringParameters) > 0 {
		q = QueryString{}
		for k, v := range e.QueryStringParameters {
			q[k] = []string{v}
		}
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
