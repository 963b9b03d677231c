// Package event is the SCF trigger events this function serves: one type per
// trigger per file, as aws-lambda-go's events are, and Decode, which tells
// them apart by shape and hands out the request each one carries.
//
// Shapes, checked in this order:
//   - HTTP: httpMethod and headers. With requestContext or isBase64Encoded it
//     is the legacy API Gateway event, otherwise a Function URL's. Not by
//     requestContext alone: Function URL events are reported to carry one in
//     some setups.
//   - Timer: Type "Timer".
//   - CKafka, CMQ: Records whose first record holds "Ckafka" or "CMQ".
//   - EventBridge: a CloudEvent (specversion), or a batch of them (EventList,
//     or a bare JSON list).
//   - COS, CLS and other Records: refused as sources this function does not
//     serve, so that their events are never mistaken for a contact.
//   - Anything else is a direct invocation whose JSON is the request itself.
package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/contact"
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

// HTTP reports whether the trigger expects an integration response.
func (s Source) HTTP() bool { return s == APIGateway || s == FunctionURL }

// Records reports whether the trigger delivers records that are acknowledged
// together by the invocation's outcome (and redelivered after a function
// error).
func (s Source) Records() bool { return s == CKafka || s == CMQ || s == EventBridge }

// Limits on what is read.
const (
	// MaxHTTPBody bounds an HTTP body after base64 decoding.
	MaxHTTPBody = 1 << 20
	// MaxEvent bounds a non-HTTP event: SCF's synchronous limit.
	MaxEvent = 6 << 20
	// maxParse bounds what is parsed at all, so that an HTTP event carrying
	// an oversized body is still recognised as HTTP and answered with 413.
	maxParse = 16 << 20
)

// Event is a decoded event: where it came from and what it asks for.
type Event struct {
	// Source is the trigger, known whenever the shape was recognised.
	Source Source
	// Request holds the AddUserContact parameters of an HTTP, timer or
	// direct event.
	Request contact.Params
	// Messages are a record source's messages, in delivery order.
	Messages []Message
}

// Message is one record of a CKafka, CMQ or EventBridge delivery.
type Message struct {
	// Record says where the message sits: its topic, partition and offset,
	// or its id, for logs and the answer.
	Record string
	// Params is the contact (or {"Contacts":[...]} batch) the message holds.
	Params contact.Params
	// Err, an *apierror.Error, says why the message cannot be read: such a
	// message can never be registered as sent.
	Err error
}

func message(record string, body []byte) Message {
	p, err := contact.ParseJSON(body, "the message")
	return Message{Record: record, Params: p, Err: err}
}

// Decode reads an event. When the event is unusable the error is an
// *apierror.Error, and the Event still has its Source whenever the shape was
// recognised, so that the answer can take the trigger's form. A record
// trigger's records are read one by one: a record that cannot be read is a
// Message with an Err, never the whole delivery's failure.
func Decode(payload []byte) (Event, error) {
	if len(payload) > maxParse {
		return Event{Source: Direct}, tooLarge("the event", len(payload), MaxEvent)
	}
	if t := bytes.TrimSpace(payload); len(t) > 0 && t[0] == '[' {
		return decodeList(payload)
	}
	top, err := contact.ParseJSON(payload, "the event")
	if err != nil {
		return decodeLenient(payload, err)
	}
	recs, err := rawList(top.Raw, "Records")
	src := detect(top.Has, top.Raw, recs)
	if err != nil && !src.HTTP() {
		return Event{Source: src}, err
	}
	if !src.HTTP() && len(payload) > MaxEvent {
		return Event{Source: src}, tooLarge("the event", len(payload), MaxEvent)
	}
	ev := Event{Source: src}
	switch src {
	case APIGateway:
		var e APIGatewayEvent
		if err := top.Decode(&e, "the API Gateway event"); err != nil {
			return ev, err
		}
		ev.Request, err = e.HTTPRequest().Params()
	case FunctionURL:
		var e FunctionURLEvent
		if err := top.Decode(&e, "the Function URL event"); err != nil {
			return ev, err
		}
		ev.Request, err = e.HTTPRequest().Params()
	case Timer:
		var e TimerEvent
		if err := top.Decode(&e, "the timer event"); err != nil {
			return ev, err
		}
		ev.Request, err = timerParams(e)
	case CKafka, CMQ, EventBridge:
		var list []json.RawMessage
		list, err = records(src, top.Raw, recs, payload)
		ev.Messages = messages(src, list)
	case Direct:
		if err := unsupported(top, recs); err != nil {
			return ev, err
		}
		ev.Request = top
	}
	return ev, err
}

// records returns a record trigger's records: Records, or an EventBridge
// delivery's EventList, or, for a single EventBridge event, the event itself.
func records(src Source, raw func(string) (json.RawMessage, bool), list []json.RawMessage, whole []byte) ([]json.RawMessage, error) {
	if src != EventBridge {
		return list, nil
	}
	events, err := rawList(raw, "EventList")
	if err == nil && events == nil {
		events = []json.RawMessage{whole}
	}
	return events, err
}

// messages reads a record trigger's records, each on its own.
func messages(src Source, records []json.RawMessage) []Message {
	read := ckafkaMessage
	switch src {
	case CMQ:
		read = cmqMessage
	case EventBridge:
		read = cloudEventMessage
	}
	out := make([]Message, len(records))
	for i, r := range records {
		out[i] = read(i, r)
		if !utf8.Valid(r) {
			out[i] = Message{Record: out[i].Record, Err: apierror.New(apierror.InvalidParameter, "the record is not valid UTF-8")}
		}
	}
	return out
}

// malformed is the Message for a record that does not have its trigger's
// shape: it names the record by its place in the delivery.
func malformed(i int, err error) Message {
	return Message{Record: fmt.Sprintf("record=%d", i), Err: apierror.Wrap(apierror.InvalidParameter, err, "the record is malformed: %v", err)}
}

// rawList reads the list member name as raw elements.
func rawList(raw func(string) (json.RawMessage, bool), name string) ([]json.RawMessage, error) {
	v, ok := raw(name)
	if !ok {
		return nil, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(v, &list); err != nil {
		return nil, apierror.New(apierror.InvalidParameter, "the event's %s must be a list of records, not %s", name, contact.JSONKind(v))
	}
	return list, nil
}

func detect(has func(string) bool, raw func(string) (json.RawMessage, bool), records []json.RawMessage) Source {
	if s, ok := httpSource(has); ok {
		return s
	}
	if t, ok := raw("Type"); ok && bytes.Equal(bytes.TrimSpace(t), []byte(`"Timer"`)) {
		return Timer
	}
	switch firstKey(records) {
	case "Ckafka":
		return CKafka
	case "CMQ":
		return CMQ
	}
	if has("EventList") || has("specversion") {
		return EventBridge
	}
	return Direct
}

// firstKey names the first member of the first record, which tells the
// record triggers apart.
func firstKey(records []json.RawMessage) string {
	if len(records) == 0 {
		return ""
	}
	var first map[string]json.RawMessage
	if json.Unmarshal(records[0], &first) != nil {
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

// httpSource is the one rule for telling HTTP events apart, given which
// top-level members an event has.
func httpSource(has func(name string) bool) (Source, bool) {
	if !has("httpMethod") || !has("headers") {
		return "", false
	}
	if has("requestContext") || has("isBase64Encoded") {
		return APIGateway, true
	}
	return FunctionURL, true
}

// unsupported refuses the events of triggers this function does not serve,
// naming them, rather than reading them as a contact that lacks a Name.
func unsupported(top contact.Params, records []json.RawMessage) error {
	name := ""
	switch k := firstKey(records); {
	case k == "cos":
		name = "COS"
	case top.Has("clslogs"):
		name = "CLS"
	case len(records) > 0:
		name = "an unknown trigger (its Records hold " + apierror.Quote(k) + ")"
	default:
		return nil
	}
	return apierror.New(apierror.UnsupportedOperation,
		"this function does not serve events from %s: it registers contacts from HTTP, timer, direct, CKafka, CMQ and EventBridge events", name)
}

// decodeLenient handles an event the strict reading refused (invalid UTF-8,
// a repeated member) with encoding/json's lenient one. An HTTP event is still
// answered in HTTP form; a record trigger's delivery still has its records
// read, each on its own, so that one bad byte in one message cannot drop the
// others. Only failures pay for this second reading.
func decodeLenient(payload []byte, strictErr error) (Event, error) {
	var probe map[string]json.RawMessage
	if json.Unmarshal(payload, &probe) != nil {
		return Event{Source: Direct}, strictErr
	}
	has := func(name string) bool { _, ok := probe[name]; return ok }
	raw := func(name string) (json.RawMessage, bool) { v, ok := probe[name]; return v, ok }
	recs, _ := rawList(raw, "Records")
	src := detect(has, raw, recs)
	if !src.Records() || len(payload) > MaxEvent {
		if !src.HTTP() {
			src = Direct
		}
		return Event{Source: src}, strictErr
	}
	list, err := records(src, raw, recs, payload)
	return Event{Source: src, Messages: messages(src, list)}, err
}

func tooLarge(what string, n, limit int) error {
	return apierror.New(apierror.RequestSizeLimitExceeded, "%s is %d bytes; the limit is %d bytes", what, n, limit)
}
