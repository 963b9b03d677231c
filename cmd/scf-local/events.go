package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/envelope"
)

// Sample values. The ids are fixed so that generated events are stable;
// they identify nothing real.
const (
	sampleRequestID = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
	sampleServiceID = "service-abcdefgh"
	sampleSourceIP  = "10.0.0.1"
	sampleRemoteIP  = "1.2.3.4"
)

// contact is the body the function expects: AddUserContact's parameters.
type contact struct {
	Name        string `json:"Name"`
	ContactInfo string `json:"ContactInfo"`
	Product     string `json:"Product"`
}

// apigwEvent is the legacy API Gateway trigger event.
type apigwEvent struct {
	RequestContext        apigwRequestContext `json:"requestContext"`
	Headers               map[string]string   `json:"headers"`
	Body                  string              `json:"body"`
	IsBase64Encoded       bool                `json:"isBase64Encoded"`
	PathParameters        map[string]string   `json:"pathParameters"`
	QueryStringParameters map[string]string   `json:"queryStringParameters"`
	HeaderParameters      map[string]string   `json:"headerParameters"`
	StageVariables        map[string]string   `json:"stageVariables"`
	Path                  string              `json:"path"`
	QueryString           map[string]any      `json:"queryString"`
	HTTPMethod            string              `json:"httpMethod"`
}

type apigwRequestContext struct {
	ServiceID  string        `json:"serviceId"`
	Path       string        `json:"path"`
	HTTPMethod string        `json:"httpMethod"`
	RequestID  string        `json:"requestId"`
	Identity   apigwIdentity `json:"identity"`
	SourceIP   string        `json:"sourceIp"`
	Stage      string        `json:"stage"`
}

type apigwIdentity struct {
	SecretID string `json:"secretId"`
}

// functionURLEvent is the Function URL event: the API Gateway shape without
// requestContext, isBase64Encoded, pathParameters, queryStringParameters and
// headerParameters.
type functionURLEvent struct {
	Body           string            `json:"body"`
	Headers        map[string]string `json:"headers"`
	HTTPMethod     string            `json:"httpMethod"`
	Path           string            `json:"path"`
	QueryString    map[string]any    `json:"queryString"`
	StageVariables map[string]string `json:"stageVariables"`
}

// timerEvent is the timer trigger event.
type timerEvent struct {
	Type        string `json:"Type"`
	TriggerName string `json:"TriggerName"`
	Time        string `json:"Time"`
	Message     string `json:"Message"`
}

// eventOptions are the flags of generate-event; each type uses the ones that
// make sense for it.
type eventOptions struct {
	contact     contact
	body        *string
	method      string
	path        string
	contentType string
	query       queryFlag
	base64      bool
	triggerName string
	time        string
	message     *string
}

// queryFlag collects repeated --query flags into an SCF queryString: a value
// is a string, an array of strings for a repeated key, or true for a key
// without a value.
type queryFlag struct {
	values map[string]any
}

// String satisfies flag.Value.
func (q *queryFlag) String() string { return "" }

// Set adds one KEY=VALUE (or KEY) entry.
func (q *queryFlag) Set(s string) error {
	if q.values == nil {
		q.values = map[string]any{}
	}
	k, v, hasValue := strings.Cut(s, "=")
	if k == "" {
		return errors.New("want KEY=VALUE or KEY")
	}
	if !hasValue {
		q.values[k] = true
		return nil
	}
	switch old := q.values[k].(type) {
	case string:
		q.values[k] = []string{old, v}
	case []string:
		q.values[k] = append(old, v)
	default:
		q.values[k] = v
	}
	return nil
}

const eventUsage = `Usage: scf-local generate-event TYPE [flags]

Prints a sample event, as indented JSON, for one of the triggers:
  apigw          API Gateway trigger (legacy)
  function-url   Function URL
  timer          timer trigger (Message defaults to the contact as JSON)
  direct         direct invocation: the contact JSON itself (or --body)

The default contact is {"Name":"John Smith","ContactInfo":"test@qq.com","Product":"mysql"}.

Flags:
`

func runGenerateEvent(args []string, stdout, stderr io.Writer) error {
	o := eventOptions{
		contact: contact{Name: "John Smith", ContactInfo: "test@qq.com", Product: "mysql"},
	}
	fs := flag.NewFlagSet("scf-local generate-event", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), eventUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.contact.Name, "name", o.contact.Name, "contact `name`")
	fs.StringVar(&o.contact.ContactInfo, "email", o.contact.ContactInfo, "contact `email` (ContactInfo)")
	fs.StringVar(&o.contact.Product, "product", o.contact.Product, "`product` the contact is for")
	fs.Func("body", "raw request `body` instead of the contact JSON (apigw, function-url; JSON for direct)", func(s string) error {
		o.body = &s
		return nil
	})
	fs.StringVar(&o.method, "method", "POST", "HTTP `method` (apigw, function-url)")
	fs.StringVar(&o.path, "path", "/contacts", "request `path` (apigw, function-url)")
	fs.StringVar(&o.contentType, "content-type", "application/json", "content-type header (apigw, function-url)")
	fs.Var(&o.query, "query", "query string entry `KEY=VALUE`, or KEY alone for a flag; repeatable (apigw, function-url)")
	fs.BoolVar(&o.base64, "base64", false, "base64-encode the body and set isBase64Encoded (apigw)")
	fs.StringVar(&o.triggerName, "trigger-name", "EveryDay", "timer trigger `name` (timer)")
	fs.StringVar(&o.time, "time", "", "trigger `time`, RFC 3339 (timer; default now, UTC)")
	fs.Func("message", "timer `argument` (timer; default the contact as JSON)", func(s string) error {
		o.message = &s
		return nil
	})

	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			return nil
		}
		fs.Usage()
		return usageError("generate-event: name the event type first")
	}
	kind := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		// The flag package has already reported the error and the usage.
		return &exitError{code: exitUsage}
	}
	if fs.NArg() > 0 {
		return usageError("generate-event: unexpected argument %q", fs.Arg(0))
	}

	var event any
	var err error
	switch kind {
	case "apigw":
		event, err = apigwSample(o)
	case "function-url":
		event, err = functionURLSample(o)
	case "timer":
		event, err = timerSample(o)
	case "direct":
		event, err = directSample(o)
	default:
		fs.Usage()
		return usageError("generate-event: unknown event type %q", kind)
	}
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("generate-event %s: %w", kind, err)}
	}
	out, err := indentJSON(event)
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}

// httpBody is the request body: --body as given, else the contact JSON.
func httpBody(o eventOptions) (string, error) {
	if o.body != nil {
		return *o.body, nil
	}
	b, err := compactJSON(o.contact)
	return string(b), err
}

func httpHeaders(o eventOptions, body, host string) map[string]string {
	return map[string]string{
		"accept":         "*/*",
		"content-length": strconv.Itoa(len(body)),
		"content-type":   o.contentType,
		"host":           host,
		"user-agent":     "curl/8.5.0",
	}
}

func queryString(o eventOptions) map[string]any {
	if o.query.values == nil {
		return map[string]any{}
	}
	return o.query.values
}

func apigwSample(o eventOptions) (apigwEvent, error) {
	body, err := httpBody(o)
	if err != nil {
		return apigwEvent{}, err
	}
	headers := httpHeaders(o, body, sampleServiceID+"-1250000000.gz.apigw.tencentcs.com")
	headers["x-api-requestid"] = sampleRequestID
	if o.base64 {
		body = base64.StdEncoding.EncodeToString([]byte(body))
	}
	return apigwEvent{
		RequestContext: apigwRequestContext{
			ServiceID:  sampleServiceID,
			Path:       o.path,
			HTTPMethod: o.method,
			RequestID:  sampleRequestID,
			Identity:   apigwIdentity{SecretID: ""},
			SourceIP:   sampleSourceIP,
			Stage:      "release",
		},
		Headers:               headers,
		Body:                  body,
		IsBase64Encoded:       o.base64,
		PathParameters:        map[string]string{},
		QueryStringParameters: map[string]string{},
		HeaderParameters:      map[string]string{},
		StageVariables:        map[string]string{},
		Path:                  o.path,
		QueryString:           queryString(o),
		HTTPMethod:            o.method,
	}, nil
}

func functionURLSample(o eventOptions) (functionURLEvent, error) {
	if o.base64 {
		return functionURLEvent{}, errors.New("--base64 applies to apigw only")
	}
	body, err := httpBody(o)
	if err != nil {
		return functionURLEvent{}, err
	}
	headers := httpHeaders(o, body, "1250000000-abcdefgh-gz.scf.tencentcs.com")
	headers["x-scf-remote-addr"] = sampleRemoteIP
	return functionURLEvent{
		Body:           body,
		Headers:        headers,
		HTTPMethod:     o.method,
		Path:           o.path,
		QueryString:    queryString(o),
		StageVariables: map[string]string{},
	}, nil
}

func timerSample(o eventOptions) (timerEvent, error) {
	at := o.time
	if at == "" {
		at = time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	} else if _, err := time.Parse(time.RFC3339, at); err != nil {
		return timerEvent{}, fmt.Errorf("--time: %w", err)
	}
	var msg string
	if o.message != nil {
		msg = *o.message
	} else {
		b, err := compactJSON(o.contact)
		if err != nil {
			return timerEvent{}, err
		}
		msg = string(b)
	}
	return timerEvent{Type: "Timer", TriggerName: o.triggerName, Time: at, Message: msg}, nil
}

func directSample(o eventOptions) (any, error) {
	if o.body == nil {
		return o.contact, nil
	}
	if !json.Valid([]byte(*o.body)) {
		return nil, errors.New("--body must be JSON for a direct invocation")
	}
	return json.RawMessage(*o.body), nil
}

// compactJSON encodes v without HTML escaping, as a client would send it.
func compactJSON(v any) ([]byte, error) { return envelope.JSON(v) }

// indentJSON is the printed form of an event: two-space indent, no HTML
// escaping, trailing newline.
func indentJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
