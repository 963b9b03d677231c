package event

// FunctionURLEvent is the event of a Function URL, SCF's current HTTP entry:
// the API Gateway shape without requestContext, isBase64Encoded and the
// *Parameters maps.
type FunctionURLEvent struct {
	Body           string         `json:"body"`                     // The raw body.
	Headers        Headers        `json:"headers"`                  // Request headers.
	HTTPMethod     string         `json:"httpMethod"`               // The request method.
	Path           string         `json:"path"`                     // The request path.
	QueryString    QueryString    `json:"queryString,omitempty"`    // The parsed query string.
	StageVariables map[string]any `json:"stageVariables,omitempty"` // Sent by some setups; unused.
}

// HTTPRequest normalises the event.
func (e FunctionURLEvent) HTTPRequest() HTTPRequest {
	return HTTPRequest{Method: e.HTTPMethod, Path: e.Path, Headers: e.Headers, Query: e.QueryString, Body: e.Body}
}
