package handler

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/contact"
	"github.com/scf-dbbrain/addusercontact/internal/event"
)

// Source names the trigger an event came from, as logged.
type Source string

// The sources the function serves.
const (
	APIGateway  Source = "apigw"
	FunctionURL Source = "function-url"
	Timer       Source = "timer"
	Direct      Source = "direct"
	CKafka      Source = "ckafka"
	CMQ         Source = "cmq"
	EventBridge Source = "eventbridge"
)

func (s Source) http() bool    { return s == APIGateway || s == FunctionURL }
func (s Source) records() bool { return s == CKafka || s == CMQ || s == EventBridge }

// Limits on what is read.
const (
	MaxHTTPBody = 1 << 20 // An HTTP body, after base64 decoding.
	// maxParse bounds what is parsed at all, so that an HTTP event carrying
	// an oversized body is still recognised as HTTP and answered with 413.
	maxParse = 16 << 20
	// maxCoordinates bounds a record's coordinates, which its every result
	// repeats.
	maxCoordinates = 256
)

// delivery is what one event asks for: the request of an HTTP, timer or
// direct event, or a record trigger's records.
type delivery struct {
	source  Source
	params  contact.Params
	records []record
}

// record is one message of a CKafka, CMQ or EventBridge delivery.
type record struct {
	coords string         // topic, partition and offset, or id; else record=N
	params contact.Params // the contact or {"Contacts":[...]} it holds
	err    error          // why it cannot be read: Invalid
}

// lenient reads what the strict reading refused, to find a delivery's
// records (each then read on its own) or an HTTP event's form.
func lenient() json.Options {
	return json.JoinOptions(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
}

func invalid(format string, args ...any) error {
	return apierror.E(apierror.Invalid, apierror.InvalidParameter, format, args...)
}

// read tells the trigger from the event's shape (the README's "Inputs")
// and reads what it asks for. An unusable event is an *apierror.Error, with
// the source still set whenever the shape was recognised, so that the answer
// takes the trigger's form. A record that cannot be read is its own failure.
func read(payload []byte) (delivery, error) {
	if len(payload) > maxParse {
		return delivery{source: Direct}, tooLarge("the event", len(payload), event.MaxEvent)
	}
	if t := bytes.TrimSpace(payload); len(t) > 0 && t[0] == '[' { // a bare list of CloudEvents
		var list []jsontext.Value
		var first struct {
			SpecVersion jsontext.Value `json:"specversion"`
		}
		if contact.Walk(payload, "the event") != nil || json.Unmarshal(payload, &list, lenient()) != nil ||
			len(list) == 0 || json.Unmarshal(list[0], &first, lenient()) != nil || first.SpecVersion == nil {
			return delivery{source: Direct}, invalid("the event must be a JSON object, not a list")
		}
		return delivery{source: EventBridge, records: readRecords(EventBridge, list)}, nil
	}
	top, err := contact.ParseJSON(payload, "the event")
	if err != nil {
		return readLenient(payload, err)
	}
	d := delivery{source: detect(top)}
	if !d.source.http() && len(payload) > event.MaxEvent {
		return d, tooLarge("the event", len(payload), event.MaxEvent)
	}
	switch d.source {
	case APIGateway:
		var e event.APIGatewayEvent
		if err := contact.Unmarshal(payload, &e, "the API Gateway event"); err != nil {
			return d, err
		}
		q := e.QueryString
		if q == nil { // queryString is authoritative; the older map a fallback
			q = e.QueryStringParameters
		}
		d.params, err = httpParams("the API Gateway event", e.HTTPMethod, e.Headers, q, e.Body, e.IsBase64Encoded)
	case FunctionURL:
		var e event.FunctionURLEvent
		if err := contact.Unmarshal(payload, &e, "the Function URL event"); err != nil {
			return d, err
		}
		d.params, err = httpParams("the Function URL event", e.HTTPMethod, e.Headers, e.QueryString, e.Body, nil)
	case Timer:
		var e event.TimerEvent
		if err := contact.Unmarshal(payload, &e, "the timer event"); err != nil {
			return d, err
		}
		if strings.TrimSpace(e.Message) == "" {
			return d, apierror.E(apierror.Invalid, apierror.MissingParameter,
				"the timer %s has no argument: set the trigger's argument (Message) to the contact JSON", apierror.Quote(e.TriggerName))
		}
		d.params, err = contact.ParseJSON([]byte(e.Message), "the timer's Message")
	case Direct:
		d.params, err = top, unsupported(top)
	default:
		var list []jsontext.Value
		list, err = recordList(d.source, top, payload)
		d.records = readRecords(d.source, list)
	}
	return d, err
}

// readLenient handles an event the strict reading refused (invalid UTF-8, a
// repeated member): an HTTP event is still answered in HTTP form, and a
// delivery still has its records read, each on its own, so that one bad byte
// in one message cannot drop the others.
func readLenient(payload []byte, strictErr error) (delivery, error) {
	var probe map[string]jsontext.Value
	if contact.Walk(payload, "the event") != nil || json.Unmarshal(payload, &probe, lenient()) != nil {
		return delivery{source: Direct}, strictErr
	}
	top := contact.FromMap(probe)
	d := delivery{source: detect(top)}
	switch {
	case d.source.records() && len(payload) <= event.MaxEvent:
		list, err := recordList(d.source, top, payload)
		d.records = readRecords(d.source, list)
		return d, err
	case !d.source.http():
		d.source = Direct
	}
	return d, strictErr
}

// detect is the one rule for telling triggers apart by the event's
// top-level members. HTTP events are told by httpMethod and headers, not by
// requestContext alone: Function URL events are reported to carry one in
// some setups.
func detect(top contact.Params) Source {
	switch t, _ := top.Raw("Type"); {
	case top.Has("httpMethod") && top.Has("headers") && (top.Has("requestContext") || top.Has("isBase64Encoded")):
		return APIGateway
	case top.Has("httpMethod") && top.Has("headers"):
		return FunctionURL
	case string(bytes.TrimSpace(t)) == `"Timer"`:
		return Timer
	case firstKey(top) == "Ckafka":
		return CKafka
	case firstKey(top) == "CMQ":
		return CMQ
	case top.Has("EventList") || top.Has("specversion"):
		return EventBridge
	}
	return Direct
}

// firstKey names the member of the first record that tells the record
// triggers apart, or its first member.
func firstKey(top contact.Params) string {
	raw, _ := top.Raw("Records")
	var list []jsontext.Value
	var first map[string]jsontext.Value
	if json.Unmarshal(raw, &list, lenient()) != nil || len(list) == 0 || json.Unmarshal(list[0], &first, lenient()) != nil {
		return ""
	}
	for _, k := range []string{"Ckafka", "CMQ", "cos"} {
		if _, ok := first[k]; ok {
			return k
		}
	}
	for k := range first {
		return k
	}
	return ""
}

// unsupported refuses the events of triggers this function does not serve,
// naming them, rather than reading them as a contact that lacks a Name.
func unsupported(top contact.Params) error {
	name := ""
	switch k := firstKey(top); {
	case k == "cos":
		name = "COS"
	case top.Has("clslogs"):
		name = "CLS"
	case top.Has("Records") && k != "":
		name = "an unknown trigger (its Records hold " + apierror.Quote(k) + ")"
	default:
		return nil
	}
	return apierror.E(apierror.Invalid, apierror.UnsupportedOperation,
		"this function does not serve events from %s: it registers contacts from HTTP, timer, direct, CKafka, CMQ and EventBridge events", name)
}

// recordList returns a delivery's records: Records, an EventBridge batch's
// EventList, or a single EventBridge event itself.
func recordList(src Source, top contact.Params, whole []byte) ([]jsontext.Value, error) {
	name := "Records"
	if src == EventBridge {
		name = "EventList"
	}
	raw, ok := top.Raw(name)
	if !ok && src == EventBridge {
		return []jsontext.Value{whole}, nil
	}
	var list []jsontext.Value
	if json.Unmarshal(raw, &list, lenient()) != nil {
		return nil, invalid("the event's %s must be a list of records, not %s", name, contact.JSONKind(raw))
	}
	return list, nil
}

// readRecords reads each record on its own, into the trigger's data-only
// type, for what the function needs: the message and its coordinates, each
// leniently, so that metadata of another type never loses a record.
func readRecords(src Source, list []jsontext.Value) []record {
	out := make([]record, len(list))
	for i, raw := range list {
		r := &out[i]
		at := fmt.Sprintf("record=%d", i)
		var ck event.CKafkaRecord
		var cmq event.CMQRecord
		var ce event.CloudEvent
		var err error
		switch {
		case !utf8.Valid(raw):
			err = invalid("the record is not valid UTF-8")
		case src == CKafka:
			err = contact.Unmarshal(raw, &ck, "the record")
			m := ck.Ckafka
			r.coords = coordinates(at, []string{"topic", "partition", "offset"}, m.Topic, m.Partition, m.Offset)
			r.params, r.err = messageParams(m.MsgBody)
		case src == CMQ:
			err = contact.Unmarshal(raw, &cmq, "the record")
			r.coords = coordinates(at, []string{"topic", "msgId"}, cmq.CMQ.TopicName, cmq.CMQ.MsgID)
			r.params, r.err = messageParams(cmq.CMQ.MsgBody)
		default:
			err = contact.Unmarshal(raw, &ce, "the record")
			r.coords = coordinates(at, []string{"id"}, ce.ID)
			r.params, r.err = cloudEventParams(r, ce)
		}
		if err != nil {
			*r = record{coords: at, err: err}
		}
	}
	return out
}

// coordinates renders a record's coordinates, "topic=t partition=0
// offset=7", each value as sent (a string or a number); any that cannot be
// read leaves the record named by its place ("record=3 topic=t"), never an
// invented value.
func coordinates(at string, labels []string, values ...jsontext.Value) string {
	var parts []string
	for i, v := range values {
		if s, ok := scalar(v); ok {
			parts = append(parts, labels[i]+"="+s)
		}
	}
	if len(parts) < len(values) {
		parts = append([]string{at}, parts...)
	}
	return apierror.Clip(strings.Join(parts, " "), maxCoordinates)
}

// scalar reads a value sent as a string or a number.
func scalar(v jsontext.Value) (s string, ok bool) {
	switch v.Kind() {
	case '"':
		return s, json.Unmarshal(v, &s) == nil
	case '0':
		return string(v), true
	}
	return "", false
}

// messageParams reads a message's text as the contact JSON; a message that
// is a JSON object already is taken as it is.
func messageParams(body jsontext.Value) (contact.Params, error) {
	switch body.Kind() {
	case '"':
		text, _ := scalar(body)
		return contact.ParseJSON([]byte(text), "the message")
	case '{':
		return contact.ParseJSON(body, "the message")
	}
	return contact.Params{}, invalid("the record has no message text (msgBody)")
}

// cloudEventParams finds the contact in an EventBridge event's data: a
// connector's msgBody text, a JSON string, or the data object itself. Data
// that holds no contact parameter is another service's event (a COS upload
// routed here, say), and named as such.
func cloudEventParams(r *record, e event.CloudEvent) (contact.Params, error) {
	var connector struct {
		MsgID   jsontext.Value `json:"msgId"`
		MsgBody jsontext.Value `json:"msgBody"`
	}
	if e.Data.Kind() != '{' {
		return messageParams(e.Data)
	}
	if json.Unmarshal(e.Data, &connector) == nil && connector.MsgBody != nil {
		if id, ok := scalar(connector.MsgID); ok {
			r.coords = apierror.Clip(r.coords+" msgId="+id, maxCoordinates)
		}
		return messageParams(connector.MsgBody)
	}
	p, err := contact.ParseJSON(e.Data, "the event's data")
	if err != nil || slices.ContainsFunc(p.Names(), contact.IsParameter) {
		return p, err
	}
	typ, _ := scalar(e.Type)
	src, _ := scalar(e.Source)
	return p, apierror.E(apierror.Invalid, apierror.UnsupportedOperation,
		"this function does not serve EventBridge events of type %s from %s: its data holds no contact (Name, ContactInfo or Contacts)", apierror.Quote(typ), apierror.Quote(src))
}

func tooLarge(what string, n, limit int) error {
	return apierror.E(apierror.Invalid, apierror.RequestSizeLimitExceeded, "%s is %d bytes; the limit is %d bytes", what, n, limit)
}

// errMethodNotAllowed is the cause of the UnsupportedOperation error for an
// HTTP method other than allowedMethods: the answer is 405 with Allow.
var errMethodNotAllowed = errors.New("HTTP method not allowed")

const allowedMethods = "GET, POST"

// httpParams extracts the parameters of an HTTP event: from the query string
// for GET (the API page's example request), from the body (JSON or form) and
// the query string together for POST.
func httpParams(what, method string, headers, query jsontext.Value, body string, isBase64 jsontext.Value) (contact.Params, error) {
	hdr, err := flexMap(what, "headers", headers)
	if err != nil {
		return contact.Params{}, err
	}
	q, err := flexMap(what, "queryString", query)
	if err != nil {
		return contact.Params{}, err
	}
	b64, err := flexBool(what, isBase64)
	if err != nil {
		return contact.Params{}, err
	}
	m := strings.ToUpper(strings.TrimSpace(method))
	if m != http.MethodGet && m != http.MethodPost {
		return contact.Params{}, apierror.Wrap(apierror.Invalid, apierror.UnsupportedOperation, errMethodNotAllowed,
			"the HTTP method %s is not supported: POST the contact as JSON or a form, or GET with it in the query string", apierror.Quote(method))
	}
	params, err := contact.ParseValues(q, "the query string")
	if err != nil || m == http.MethodGet {
		return params, err
	}
	raw, err := decodeBody(body, b64)
	if err != nil {
		return contact.Params{}, err
	}
	var ct []string
	for k, v := range hdr {
		if strings.EqualFold(k, "content-type") {
			ct = v
		}
	}
	fromBody, err := bodyParams(raw, strings.Join(ct, ", "))
	if err != nil {
		return contact.Params{}, err
	}
	return params.Merge(fromBody, "in both the query string and the body")
}

// decodeBody returns the body, base64-decoded when flagged (some clients
// send the URL-safe or unpadded alphabet), within MaxHTTPBody.
func decodeBody(body string, isBase64 bool) ([]byte, error) {
	switch n := base64.StdEncoding.DecodedLen(len(body)); {
	case !isBase64 && len(body) > MaxHTTPBody:
		return nil, tooLarge("the body", len(body), MaxHTTPBody)
	case !isBase64:
		return []byte(body), nil
	case n > MaxHTTPBody+2:
		return nil, tooLarge("the base64-decoded body", n, MaxHTTPBody)
	}
	s := strings.TrimSpace(body)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if b2, err2 := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "=")); err2 == nil {
			b, err = b2, nil
		}
	}
	if err != nil {
		return nil, apierror.Wrap(apierror.Invalid, apierror.InvalidParameter, err, "the body is marked isBase64Encoded but is not valid base64")
	}
	if len(b) > MaxHTTPBody {
		return nil, tooLarge("the base64-decoded body", len(b), MaxHTTPBody)
	}
	return b, nil
}

// bodyParams reads a JSON or form body. A body that starts with "{" is
// JSON, whether it came without a Content-Type or with the form type that
// `curl -d` sends for any data: no form starts so.
func bodyParams(body []byte, contentType string) (contact.Params, error) {
	media := "application/x-www-form-urlencoded"
	t := strings.TrimSpace(string(body))
	if strings.TrimSpace(contentType) != "" {
		m, _, err := mime.ParseMediaType(contentType)
		if err != nil {
			return contact.Params{}, apierror.Wrap(apierror.Invalid, apierror.InvalidParameter, err, "the Content-Type header %s cannot be parsed", apierror.Quote(contentType))
		}
		media = m
	}
	if (strings.HasPrefix(t, "{") && media == "application/x-www-form-urlencoded") || (t == "" && contentType == "") {
		media = "application/json"
	}
	switch {
	case media == "application/json" || strings.HasSuffix(media, "+json") || media == "text/json":
		return contact.ParseJSON(body, "the body")
	case media == "application/x-www-form-urlencoded":
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return contact.Params{}, apierror.Wrap(apierror.Invalid, apierror.InvalidParameter, err, "the form body cannot be parsed: %v", err)
		}
		return contact.ParseValues(v, "the form body")
	}
	return contact.Params{}, invalid("the Content-Type %s is not supported: send application/json or application/x-www-form-urlencoded", apierror.Quote(media))
}

// flexMap reads the loose maps gateways send (headers, the query string): a
// value is a string, a number or boolean (kept as its text; true alone
// means a key without a value), or a flat list of them when a key repeats.
func flexMap(what, member string, raw jsontext.Value) (map[string][]string, error) {
	out := map[string][]string{}
	var m map[string]jsontext.Value
	switch {
	case raw == nil || raw.Kind() == 'n':
		return out, nil
	case raw.Kind() != '{' || json.Unmarshal(raw, &m) != nil:
		return nil, invalid("%s is malformed: %s: must be an object, not %s", what, member, contact.JSONKind(raw))
	}
	for k, v := range m {
		vals := []jsontext.Value{v}
		if v.Kind() == '[' {
			_ = json.Unmarshal(v, &vals) // valid: the whole event was
		}
		for _, it := range vals {
			switch it.Kind() {
			case '{', '[':
				why := "an object is not a valid value"
				if v.Kind() == '[' {
					why = "a list may hold only strings, numbers and booleans"
				}
				return nil, invalid("%s is malformed: %s: the value of %s: %s", what, member, apierror.Quote(k), why)
			case 'n':
				continue
			case 't': // a key without a value
			default:
				s, ok := scalar(it)
				if !ok {
					s = string(it) // false
				}
				out[k] = append(out[k], s)
			}
			if out[k] == nil {
				out[k] = []string{}
			}
		}
	}
	return out, nil
}

// flexBool reads a boolean that gateways send as true/false or as the
// strings "true"/"false".
func flexBool(what string, raw jsontext.Value) (bool, error) {
	s, _ := scalar(raw)
	switch {
	case raw.Kind() == 't' || (raw.Kind() == '"' && strings.EqualFold(strings.TrimSpace(s), "true")):
		return true, nil
	case raw.Kind() == 0 || raw.Kind() == 'n' || raw.Kind() == 'f' || (raw.Kind() == '"' && (strings.TrimSpace(s) == "" || strings.EqualFold(strings.TrimSpace(s), "false"))):
		return false, nil
	case raw.Kind() == '"':
		s = apierror.Quote(s)
	default:
		s = contact.JSONKind(raw)
	}
	return false, invalid("%s is malformed: isBase64Encoded: must be true or false, not %s", what, s)
}
