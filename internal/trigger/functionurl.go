package trigger

// FunctionURLEvent is the event of a Function URL, SCF's current HTTP entry:
// the API Gateway shape without requestContext, isBase64Encoded and the
// *Parameters maps.
type FunctionURLEvent struct {
	Body        string      `json:"body"`
	Headers     Headers     `json:"headers"`
	HTTPMethod  string      `json:"httpMethod"`
	Path        string      `json:"path"`
	QueryString QueryString `json:"queryString,omitempty"`
}

// Request normalises the event.
func (e FunctionURLEvent) Request() HTTPRequest {
	return HTTPRequest{
		Method:  e.HTTPMethod,
		Path:    e.Path,
		Headers: e.Headers,
		Query:   e.QueryString,
		Body:    e.Body,
	}
}
