package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/scf-dbbrain/addusercontact/internal/contact"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/event"
	"github.com/scf-dbbrain/addusercontact/internal/scflocal"
)

// sampleRequestID is fixed, as every sample id, so that generated events
// are stable; none identifies anything real.
const sampleRequestID = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

// eventFlags are generate-event's flags; each type uses those that fit it.
type eventFlags struct {
	contact                                   contact.Contact
	count                                     int
	batch, base64                             bool
	body, message                             *string
	method, path, contentType, trigger, topic string
	query                                     queryString
	time                                      time.Time
}

const eventUsage = `Usage: scf-local generate-event TYPE [flags]

Prints a sample event of a trigger: apigw (legacy API Gateway), function-url,
timer (its Message is the contact), direct (the contact itself), ckafka and cmq
(a record per contact), eventbridge (a CloudEvent; an EventList with --batch or
several contacts). The contact is {"Name":"John Smith","ContactInfo":"test@qq.com",
"Product":"mysql"}; --count N makes N numbered ones (John Smith 1, test1@qq.com...),
N records or a {"Contacts":[...]} batch.
`

func runGenerateEvent(args []string, stdout, stderr io.Writer) error {
	o := eventFlags{contact: contact.Contact{Name: "John Smith", ContactInfo: "test@qq.com", Product: dbbrain.Product}, time: time.Now().UTC().Truncate(time.Second)}
	fs := newFlags("generate-event", eventUsage, stderr)
	fs.StringVar(&o.contact.Name, "name", o.contact.Name, "contact `name`")
	fs.StringVar(&o.contact.ContactInfo, "email", o.contact.ContactInfo, "contact `email` (ContactInfo)")
	fs.StringVar(&o.contact.Product, "product", o.contact.Product, "`product` the contact is for")
	fs.IntVar(&o.count, "count", 1, "`N` numbered contacts")
	fs.BoolVar(&o.batch, "batch", false, "an EventList even for one event (eventbridge)")
	fs.Func("body", "raw request `body` instead of the contact (apigw, function-url; JSON for direct)", func(s string) error { o.body = &s; return nil })
	fs.StringVar(&o.method, "method", "POST", "HTTP `method`; GET puts the contact in the query string (apigw, function-url)")
	fs.StringVar(&o.path, "path", "/contacts", "request `path` (apigw, function-url)")
	fs.StringVar(&o.contentType, "content-type", "application/json", "`media type`; application/x-www-form-urlencoded sends a form (apigw, function-url)")
	fs.Func("query", "query string entry `KEY=VALUE`, or KEY alone for a flag; repeatable (apigw, function-url)", func(s string) error {
		k, v, hasValue := strings.Cut(s, "=")
		if k == "" {
			return errors.New("want KEY=VALUE or KEY")
		}
		if o.query == nil {
			o.query = queryString{}
		}
		addQuery(o.query, k, v, hasValue)
		return nil
	})
	fs.BoolVar(&o.base64, "base64", false, "base64-encode the body and set isBase64Encoded (apigw)")
	fs.StringVar(&o.trigger, "trigger-name", "EveryDay", "timer trigger `name` (timer)")
	fs.Func("time", "event `time`, RFC 3339 (timer, cmq, eventbridge; default now)", func(s string) (err error) {
		o.time, err = time.Parse(time.RFC3339, s)
		return err
	})
	fs.Func("message", "timer `argument` (timer; default the contact)", func(s string) error { o.message = &s; return nil })
	fs.StringVar(&o.topic, "topic", "dba-onboarding", "`topic` (ckafka, cmq)")

	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if help, _ := parseFlags(fs, args); help {
			return nil
		}
		fs.Usage()
		return usageError("generate-event: name the event type first")
	}
	if help, err := parseFlags(fs, args[1:]); help || err != nil {
		return err
	}
	if o.count < 1 {
		return usageError("generate-event: --count must be at least 1")
	}
	ev, err := o.event(args[0])
	if ev == nil && err == nil {
		fs.Usage()
		return usageError("generate-event: unknown event type %q", args[0])
	} else if err != nil {
		return usageError("generate-event %s: %w", args[0], err)
	}
	out, err := encode(ev, "  ")
	if err == nil {
		_, err = stdout.Write(out)
	}
	return err
}

func (o eventFlags) event(kind string) (any, error) {
	contacts, request := []contact.Contact{o.contact}, any(o.contact)
	if o.count > 1 {
		contacts = nil
		local, domain, _ := strings.Cut(o.contact.ContactInfo, "@")
		for n := range o.count {
			id := strconv.Itoa(n + 1)
			contacts = append(contacts, contact.Contact{Name: o.contact.Name + " " + id, ContactInfo: local + id + "@" + domain, Product: o.contact.Product})
		}
		request = map[string][]contact.Contact{"Contacts": contacts}
	}
	var kafka event.CKafkaEvent
	var cmq event.CMQEvent
	var bus event.EventList
	for i, c := range contacts {
		body, _ := encode(c, "") // strings only: cannot fail
		kafka.Records = append(kafka.Records, event.CKafkaRecord{Ckafka: event.CKafkaMessage{
			Topic: raw(o.topic), Partition: raw(0), Offset: raw(i), MsgKey: raw(fmt.Sprintf("contact-%d", i+1)), MsgBody: raw(string(body))}})
		cmq.Records = append(cmq.Records, event.CMQRecord{CMQ: event.CMQMessage{
			Type: raw("topic"), TopicOwner: jsontext.Value(scflocal.DefaultUin), TopicName: raw(o.topic), SubscriptionName: raw(scflocal.DefaultFunctionName),
			PublishTime: raw(o.time.Format("2006-01-02T15:04:05.000Z")), MsgID: raw(fmt.Sprintf("msg-%d", i+1)), RequestID: raw(sampleRequestID),
			MsgBody: raw(string(body)), MsgTag: raw([]string{"onboarding"})}})
		bus.Events = append(bus.Events, event.CloudEvent{
			SpecVersion: raw("1.0"), ID: raw(fmt.Sprintf("13a3f42d-7258-4ada-da6d-%012d", i+1)), Type: raw("hr:DBAJoined"), Source: raw("hr.onboarding"),
			Subject: raw("qcs::eb:" + scflocal.DefaultRegion + ":uin/" + scflocal.DefaultUin + ":eventbusid/eb-onboarding"),
			Time:    raw(strconv.FormatInt(o.time.UnixMilli(), 10)), Region: raw(scflocal.DefaultRegion),
			DataContentType: raw("application/json;charset=utf-8"), Data: body})
	}
	switch kind {
	case "apigw", "function-url":
		return o.http(kind, request)
	case "timer":
		msg, _ := encode(request, "")
		if o.message != nil {
			msg = []byte(*o.message)
		}
		return event.TimerEvent{Type: "Timer", TriggerName: o.trigger, Time: o.time.Format(time.RFC3339), Message: string(msg)}, nil
	case "direct":
		if o.body != nil && !json.Valid([]byte(*o.body)) {
			return nil, errors.New("--body must be JSON for a direct invocation")
		} else if o.body != nil {
			return json.RawMessage(*o.body), nil
		}
		return request, nil
	case "ckafka":
		return kafka, nil
	case "cmq":
		return cmq, nil
	case "eventbridge":
		if len(bus.Events) == 1 && !o.batch {
			return bus.Events[0], nil
		}
		return bus, nil
	}
	return nil, nil
}

// http makes an HTTP event: the contact as JSON, as a form, or for GET in
// the query string.
func (o eventFlags) http(kind string, request any) (any, error) {
	query := maps.Clone(o.query)
	if query == nil {
		query = queryString{}
	}
	form := strings.HasPrefix(o.contentType, "application/x-www-form-urlencoded")
	get := strings.EqualFold(o.method, "GET")
	values := url.Values{"Name": {o.contact.Name}, "ContactInfo": {o.contact.ContactInfo}, "Product": {o.contact.Product}}
	var body string
	switch {
	case o.body != nil:
		body = *o.body
	case o.count > 1 && (form || get):
		return nil, errors.New("a form or a query string carries one contact; use JSON for --count")
	case get:
		for k, v := range values {
			query[k] = append(query[k], v...)
		}
	case form:
		body = values.Encode()
	default:
		b, _ := encode(request, "") // strings only: cannot fail
		body = string(b)
	}
	headers := map[string]string{"accept": "*/*", "user-agent": "curl/8.5.0", "host": "1250000000-abcdefgh-gz.scf.tencentcs.com"}
	if body != "" {
		headers["content-length"], headers["content-type"] = strconv.Itoa(len(body)), o.contentType
	}
	if kind == "apigw" {
		headers["host"] = "service-abcdefgh-1250000000.gz.apigw.tencentcs.com"
	} else if o.base64 {
		return nil, errors.New("--base64 applies to apigw only")
	}
	req := httpRequest{Method: o.method, Path: o.path, Headers: headers, Query: query, Body: body, IsBase64Encoded: o.base64}
	return httpEvent(kind == "apigw", req, sampleRequestID, "1.2.3.4"), nil
}

// httpRequest is an HTTP request as the gateways describe it.
type httpRequest struct {
	Method, Path, Body string
	Headers            map[string]string // lower-case names
	Query              queryString
	IsBase64Encoded    bool
}

// queryString is a parsed query string: a key without "=" has no values.
type queryString map[string][]string

// MarshalJSON writes the gateways' form: a string for one value, a list for
// several, true for a key without a value.
func (q queryString) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(q))
	for k, v := range q {
		switch len(v) {
		case 0:
			m[k] = true
		case 1:
			m[k] = v[0]
		default:
			m[k] = v
		}
	}
	return json.Marshal(m)
}

// rawQuery is the query string's member, absent when it is empty.
func rawQuery(q queryString) jsontext.Value {
	if len(q) == 0 {
		return nil
	}
	return raw(q)
}

// raw is v as JSON, for the events' loosely typed members.
func raw(v any) jsontext.Value {
	b, _ := encode(v, "") // strings, numbers and maps of them: cannot fail
	return b
}

// httpEvent is the event of an HTTP request: a Function URL's or, with apigw,
// API Gateway's, which then carries the body base64-encoded when
// r.IsBase64Encoded is set.
func httpEvent(apigw bool, r httpRequest, requestID, sourceIP string) any {
	if !apigw {
		r.Headers["x-scf-remote-addr"] = sourceIP
		return event.FunctionURLEvent{Body: r.Body, Headers: raw(r.Headers), HTTPMethod: r.Method, Path: r.Path, QueryString: rawQuery(r.Query)}
	}
	r.Headers["x-api-requestid"] = requestID
	if r.IsBase64Encoded {
		r.Body = base64.StdEncoding.EncodeToString([]byte(r.Body))
	}
	return event.APIGatewayEvent{
		RequestContext: &event.APIGatewayRequestContext{ServiceID: "service-abcdefgh", Path: r.Path, HTTPMethod: r.Method,
			RequestID: requestID, SourceIP: sourceIP, Stage: "release"},
		Headers: raw(r.Headers), Body: r.Body, IsBase64Encoded: raw(r.IsBase64Encoded), Path: r.Path, QueryString: rawQuery(r.Query), HTTPMethod: r.Method,
	}
}

// addQuery adds an entry to a query string as the gateways give it: a
// repeated key gives a list, a key without "=" true.
func addQuery(q queryString, k, v string, hasValue bool) {
	if q[k] == nil {
		q[k] = []string{}
	}
	if hasValue {
		q[k] = append(q[k], v)
	}
}

// encode is JSON as clients send it, without HTML escaping; with an indent,
// the printed form of an event, with a trailing newline.
func encode(v any, indent string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	err := enc.Encode(v)
	if indent == "" {
		return bytes.TrimSuffix(b.Bytes(), []byte("\n")), err
	}
	return b.Bytes(), err
}
