package handler

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
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
	MaxHTTPBody    = 1 << 20  // An HTTP body, after base64 decoding.
	maxParse       = 16 << 20 // Parsed at all: an HTTP event with a body too large is still answered 413.
	maxCoordinates = 256      // A record's coordinates, which its every result repeats.
)

// delivery is what one event asks for: a request, or a record trigger's records.
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

// lenient reads what the strict reading refused, to find the trigger's form.
func lenient() json.Options {
	return json.JoinOptions(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
}

// read tells the trigger from the event's shape (the README's "Inputs") and
// reads what it asks for, with the source set whenever the shape is known so
// that even a refusal takes its form. A delivery's records are read each on
// its own: one bad byte in one message does not drop the others.
func read(payload []byte) (delivery, error) {
	if len(payload) > maxParse {
		return delivery{source: Direct}, tooLarge("the event", len(payload), event.MaxEvent)
	}
	if t := jsontext.Value(bytes.TrimSpace(payload)); t.Kind() == '[' { // a bare list of CloudEvents
		var list []jsontext.Value
		first, _ := firstRecord(t)
		ev, _ := pickMembers(first, "specversion")
		switch err := contact.Walk(payload, "the event", 1); {
		case err != nil && t.IsValid(lenient()): // too many events
			return delivery{source: Direct}, err
		case err != nil || ev["specversion"] == nil || json.Unmarshal(payload, &list, lenient()) != nil:
			return delivery{source: Direct}, invalid("the event must be a JSON object, not a list")
		}
		return delivery{source: EventBridge, records: readRecords(EventBridge, list, false)}, nil
	}
	top, strictErr := contact.ParseJSON(payload, "the event")
	bounded := true
	if strictErr != nil {
		if !jsontext.Value(payload).IsValid(lenient()) {
			return delivery{source: Direct}, strictErr
		}
		m, _ := pickMembers(payload, "httpMethod", "headers", "requestContext", "isBase64Encoded", "Type", "Records", "EventList",
			"specversion", "clslogs")
		// A delivery's records are bounded each on its own (readRecords).
		top, bounded = contact.FromMap(m), contact.Walk(payload, "the event", 2) == nil
	}
	source, notServed := detect(top)
	d := delivery{source: source}
	switch {
	case strictErr != nil && (!d.source.records() || !bounded || len(payload) > event.MaxEvent):
		if !d.source.http() {
			d.source = Direct
		}
		return d, strictErr
	case !d.source.http() && len(payload) > event.MaxEvent:
		return d, tooLarge("the event", len(payload), event.MaxEvent)
	}
	var err error
	switch d.source {
	case APIGateway:
		var e event.APIGatewayEvent
		if err = contact.Unmarshal(payload, &e, "the API Gateway event"); err == nil {
			if k := e.QueryString.Kind(); k == 0 || k == 'n' { // queryString is authoritative; the older map a fallback
				e.QueryString = e.QueryStringParameters
			}
			d.params, err = httpParams("the API Gateway event", e.HTTPMethod, e.Headers, e.QueryString, e.Body, e.IsBase64Encoded)
		}
	case FunctionURL:
		var e event.FunctionURLEvent
		if err = contact.Unmarshal(payload, &e, "the Function URL event"); err == nil {
			d.params, err = httpParams("the Function URL event", e.HTTPMethod, e.Headers, e.QueryString, e.Body, nil)
		}
	case Timer:
		var e event.TimerEvent
		if err = contact.Unmarshal(payload, &e, "the timer event"); err == nil && strings.TrimSpace(e.Message) == "" {
			err = apierror.E(apierror.Invalid, apierror.MissingParameter,
				"the timer %s has no argument: set the trigger's argument (Message) to the contact JSON", apierror.Quote(e.TriggerName))
		} else if err == nil {
			d.params, err = contact.ParseJSON([]byte(e.Message), "the timer's Message")
		}
	case Direct:
		d.params, err = top, notServed
	default: // Records, an EventBridge batch's EventList, or a single EventBridge event itself
		name, list := "Records", []jsontext.Value{payload}
		if d.source == EventBridge {
			name = "EventList"
		}
		if raw, ok := top.Raw(name); ok { // detect saw Records
			list = nil
			if json.Unmarshal(raw, &list, lenient()) != nil {
				return d, invalid("the event's %s must be a list of records, not %s", name, contact.JSONKind(raw))
			} else if len(list) == 0 {
				return d, invalid("the event's %s holds no records", name)
			}
		}
		d.records = readRecords(d.source, list, strictErr == nil) // the strict reading checked every record
	}
	return d, err
}

// detect tells the triggers apart by the event's top-level members (HTTP
// events by httpMethod and headers: Function URL events carry requestContext
// in some setups). Triggers not served are named, not read as a contact.
func detect(top contact.Params) (Source, error) {
	t, _ := top.Raw("Type")
	raw, hasRecords := top.Raw("Records")
	first, isList := firstRecord(raw)
	rec, k := pickMembers(first, "Ckafka", "CMQ", "cos")
	isHTTP := top.Has("httpMethod") && top.Has("headers")
	var notServed string
	switch {
	case isHTTP && (top.Has("requestContext") || top.Has("isBase64Encoded")):
		return APIGateway, nil
	case isHTTP:
		return FunctionURL, nil
	case hasRecords && !isList:
		return Direct, invalid("the event's Records must be a list of records, not %s", contact.JSONKind(raw))
	case string(bytes.TrimSpace(t)) == `"Timer"`:
		return Timer, nil
	case rec["Ckafka"] != nil:
		return CKafka, nil
	case rec["CMQ"] != nil:
		return CMQ, nil
	case top.Has("EventList") || top.Has("specversion"):
		return EventBridge, nil
	case rec["cos"] != nil:
		notServed = "COS"
	case top.Has("clslogs"):
		notServed = "CLS"
	case first != nil:
		notServed = "an unknown trigger (its Records hold " + apierror.Quote(k) + ")"
	default:
		return Direct, nil
	}
	return Direct, apierror.E(apierror.Invalid, apierror.UnsupportedOperation,
		"this function does not serve events from %s: it registers contacts from HTTP, timer, direct, CKafka, CMQ and EventBridge events", notServed)
}

// firstRecord reads a list's first member alone, so that millions of
// records cost nothing before their number is refused.
func firstRecord(raw jsontext.Value) (first jsontext.Value, isList bool) {
	dec := jsontext.NewDecoder(bytes.NewBuffer(raw), lenient())
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '[' {
		return nil, false
	}
	if dec.PeekKind() != ']' {
		first, _ = dec.ReadValue()
	}
	return first, true
}

// pickMembers reads an object's members named, and the name of its first,
// skipping the rest: a flood of keys costs nothing.
func pickMembers(object []byte, names ...string) (m map[string]jsontext.Value, first string) {
	m = map[string]jsontext.Value{}
	dec := jsontext.NewDecoder(bytes.NewBuffer(object), lenient())
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return m, ""
	}
	for i := 0; dec.PeekKind() == '"'; i++ {
		tok, _ := dec.ReadToken()
		name := tok.String()
		if i == 0 {
			first = name
		}
		if v, err := dec.ReadValue(); err == nil && slices.Contains(names, name) {
			m[name] = v[:len(v):len(v)] // read in place from the Buffer: a slice of object
		}
	}
	return m, first
}

// readRecords reads each record on its own, for its message and coordinates
// only, bounded and checked for UTF-8 unless the whole event was (checked).
func readRecords(src Source, list []jsontext.Value, checked bool) []record {
	out := make([]record, len(list))
	for i, raw := range list {
		r, at := &out[i], fmt.Sprintf("record=%d", i)
		var err error
		if !checked {
			if err = contact.Walk(raw, "the record", 0); err == nil && !utf8.Valid(raw) {
				err = invalid("the record is not valid UTF-8")
			}
		}
		switch {
		case err != nil: // answered below
		case src == CKafka:
			var ck event.CKafkaRecord
			err = readRecord(raw, &ck, "/Ckafka/msgBody")
			m := ck.Ckafka
			r.coords = coordinates(at, []string{"topic", "partition", "offset"}, m.Topic, m.Partition, m.Offset)
			r.params, r.err = messageParams(m.MsgBody)
		case src == CMQ:
			var cmq event.CMQRecord
			err = readRecord(raw, &cmq, "/CMQ/msgBody")
			r.coords = coordinates(at, []string{"topic", "msgId"}, cmq.CMQ.TopicName, cmq.CMQ.MsgID)
			r.params, r.err = messageParams(cmq.CMQ.MsgBody)
		default:
			var ce event.CloudEvent
			err = readRecord(raw, &ce, "/data")
			r.coords = coordinates(at, []string{"id"}, ce.ID)
			r.params, r.err = cloudEventParams(r, ce)
		}
		if err != nil {
			*r = record{coords: at, err: err}
		}
	}
	return out
}

// readRecord decodes a record: a name repeated in its metadata does not lose
// its message, but a repeated message (at the pointer msg) is refused, as
// neither copy can be trusted over the other.
func readRecord(raw jsontext.Value, v any, msg jsontext.Pointer) error {
	err := contact.Unmarshal(raw, v, "the record")
	if se, ok := errors.AsType[*jsontext.SyntacticError](err); !ok || !errors.Is(se, jsontext.ErrDuplicateName) || se.JSONPointer == msg {
		return err
	}
	dec := jsontext.NewDecoder(bytes.NewBuffer(raw), lenient())
	for n := 0; ; {
		if _, err := dec.ReadToken(); err != nil {
			break
		}
		if kind, i := dec.StackIndex(dec.StackDepth()); kind == '{' && i%2 == 1 && dec.StackPointer() == msg {
			if n++; n > 1 { // a name, read where msg is
				return invalid("the record has the member %s more than once (at %s)", apierror.Quote(msg.LastToken()), apierror.Quote(string(msg)))
			}
		}
	}
	return contact.Unmarshal(raw, v, "the record", jsontext.AllowDuplicateNames(true))
}

// coordinates renders "topic=t partition=0 offset=7" as sent; a value that
// cannot be read names the record by its place ("record=3 topic=t").
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

// messageParams reads a message's text, or JSON object, as the contact.
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
// connector's msgBody, a JSON string, or the data, if not another service's.
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

// errMethodNotAllowed marks a method other than allowedMethods: 405 with Allow.
var errMethodNotAllowed = errors.New("HTTP method not allowed")

const allowedMethods = "GET, POST"

// httpParams reads an HTTP event's parameters: the query string for GET (as
// the API page's example), and the body (JSON or form) too for POST.
func httpParams(what, method string, headers, query jsontext.Value, body string, isBase64 jsontext.Value) (contact.Params, error) {
	hdr, err := flexMap(what, "headers", headers)
	q, qErr := flexMap(what, "queryString", query)
	b64, bErr := flexBool(what, isBase64)
	if err = cmp.Or(err, qErr, bErr); err != nil {
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
	var ct []string // from every case of the name, in one order: two that differ are refused
	for _, k := range slices.Sorted(maps.Keys(hdr)) {
		if strings.EqualFold(k, "content-type") {
			for _, v := range hdr[k] {
				if !slices.Contains(ct, v) {
					ct = append(ct, v)
				}
			}
		}
	}
	fromBody, err := bodyParams(body, b64, strings.Join(ct, ", "))
	if err != nil {
		return contact.Params{}, err
	}
	return params.Merge(fromBody, "in both the query string and the body")
}

// bodyParams reads a JSON or form body within MaxHTTPBody, base64-decoded
// when flagged (the URL-safe and unpadded alphabets too). A body starting
// with "{" is JSON even under the form type `curl -d` sends: no form starts so.
func bodyParams(body string, isBase64 bool, contentType string) (contact.Params, error) {
	what := "the body"
	if isBase64 {
		what = "the base64-decoded body"
		if n := base64.StdEncoding.DecodedLen(len(body)); n > MaxHTTPBody+2 {
			return contact.Params{}, tooLarge(what, n, MaxHTTPBody)
		}
		s := strings.TrimSpace(body)
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			var urlErr error
			if b, urlErr = base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "=")); urlErr != nil {
				return contact.Params{}, apierror.Wrap(apierror.Invalid, apierror.InvalidParameter, err, "the body is marked isBase64Encoded but is not valid base64")
			}
		}
		body = string(b)
	}
	if len(body) > MaxHTTPBody {
		return contact.Params{}, tooLarge(what, len(body), MaxHTTPBody)
	}
	const form = "application/x-www-form-urlencoded"
	media := form
	if strings.TrimSpace(contentType) != "" {
		m, _, err := mime.ParseMediaType(contentType)
		if err != nil {
			return contact.Params{}, apierror.Wrap(apierror.Invalid, apierror.InvalidParameter, err, "the Content-Type header %s cannot be parsed", apierror.Quote(contentType))
		}
		media = m
	}
	switch {
	case media == "application/json" || strings.HasSuffix(media, "+json") || media == "text/json" ||
		media == form && strings.HasPrefix(strings.TrimSpace(body), "{"):
		return contact.ParseJSON([]byte(body), "the body")
	case media == form:
		v, err := url.ParseQuery(body)
		if err != nil {
			return contact.Params{}, apierror.Wrap(apierror.Invalid, apierror.InvalidParameter, err, "the form body cannot be parsed: %v", err)
		}
		return contact.ParseValues(v, "the form body")
	}
	return contact.Params{}, invalid("the Content-Type %s is not supported: send application/json or application/x-www-form-urlencoded", apierror.Quote(media))
}

// flexMap reads the loose maps gateways send (headers, the query string): a
// value is a string, number or boolean (true: a key without a value), or a
// list of them when a key repeats.
func flexMap(what, member string, raw jsontext.Value) (map[string][]string, error) {
	var m map[string]jsontext.Value
	if k := raw.Kind(); k != 0 && k != 'n' && (k != '{' || json.Unmarshal(raw, &m) != nil) {
		return nil, invalid("%s is malformed: %s: must be an object, not %s", what, member, contact.JSONKind(raw))
	}
	out := map[string][]string{}
	for k, v := range m {
		vals, why := []jsontext.Value{v}, "an object is not a valid value"
		if v.Kind() == '[' {
			_ = json.Unmarshal(v, &vals) // valid: the whole event was
			why = "a list may hold only strings, numbers and booleans"
		}
		for _, it := range vals {
			switch s, ok := scalar(it); it.Kind() {
			case '{', '[':
				return nil, invalid("%s is malformed: %s: the value of %s: %s", what, member, apierror.Quote(k), why)
			case 'n':
			case 't': // a key without a value
				if out[k] == nil {
					out[k] = []string{}
				}
			default:
				if !ok {
					s = string(it) // false
				}
				out[k] = append(out[k], s)
			}
		}
	}
	return out, nil
}

// flexBool reads a boolean sent as true/false or "true"/"false".
func flexBool(what string, raw jsontext.Value) (bool, error) {
	s, _ := scalar(raw)
	t, k := strings.TrimSpace(s), raw.Kind()
	switch {
	case k == 't' || k == '"' && strings.EqualFold(t, "true"):
		return true, nil
	case k == 0 || k == 'n' || k == 'f' || k == '"' && (t == "" || strings.EqualFold(t, "false")):
		return false, nil
	case k == '"':
		s = apierror.Quote(s)
	default:
		s = contact.JSONKind(raw)
	}
	return false, invalid("%s is malformed: isBase64Encoded: must be true or false, not %s", what, s)
}

func invalid(format string, args ...any) error {
	return apierror.E(apierror.Invalid, apierror.InvalidParameter, format, args...)
}

func tooLarge(what string, n, limit int) error {
	return apierror.E(apierror.Invalid, apierror.RequestSizeLimitExceeded, "%s is %d bytes; the limit is %d bytes", what, n, limit)
}
