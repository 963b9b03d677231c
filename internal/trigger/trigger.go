// Package trigger decodes the events SCF hands the function and encodes what
// each trigger expects back.
//
// One event type lives in each file: the legacy API Gateway event, the
// Function URL event, the timer event and the direct invocation. Decode
// tells them apart by shape, never by requestContext alone (Function URL
// events are reported to carry one in some setups): an HTTP event has
// httpMethod and headers, a timer event has Type "Timer", and anything else
// is a direct invocation whose JSON is the request itself.
package trigger

import (
	"encoding/json"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/params"
)

// Kind names the trigger an event came from, as logged.
type Kind string

// The kinds of event the function accepts.
const (
	APIGateway  Kind = "apigw"
	FunctionURL Kind = "function-url"
	Timer       Kind = "timer"
	Direct      Kind = "direct"
)

// HTTP reports whether the trigger expects an integration response.
func (k Kind) HTTP() bool { return k == APIGateway || k == FunctionURL }

// Limits on what the function reads.
const (
	// MaxHTTPBody bounds an HTTP body after base64 decoding.
	MaxHTTPBody = 1 << 20
	// MaxEvent bounds a timer or direct event: SCF's synchronous limit.
	MaxEvent = 6 << 20
	// maxParse bounds what is parsed at all, so that an HTTP event carrying
	// an oversized body is still recognised as HTTP and answered with 413.
	maxParse = 16 << 20
)

// Event is a decoded event: where it came from and the request parameters it
// carries.
type Event struct {
	Kind Kind // The trigger the event came from.
	// Params holds the AddUserContact parameters, from the body, the query
	// string, the timer's Message or the direct JSON.
	Params params.Object
}

// Decode reads an event. When the event is unusable the error is an
// *apierror.Error and the returned Event still has its Kind whenever the
// shape was recognised, so the answer can take the trigger's form.
func Decode(payload []byte) (Event, error) {
	if len(payload) > maxParse {
		return Event{Kind: Direct}, tooLarge("the event", len(payload), MaxEvent)
	}
	o, err := params.Parse(payload, "the event")
	if err != nil {
		return Event{Kind: sniff(payload)}, err
	}
	switch kind := detect(o); kind {
	case APIGateway:
		var e APIGatewayEvent
		if err := unmarshal(payload, &e, "API Gateway"); err != nil {
			return Event{Kind: kind}, err
		}
		p, err := e.Request().Params()
		return Event{Kind: kind, Params: p}, err
	case FunctionURL:
		var e FunctionURLEvent
		if err := unmarshal(payload, &e, "Function URL"); err != nil {
			return Event{Kind: kind}, err
		}
		p, err := e.Request().Params()
		return Event{Kind: kind, Params: p}, err
	case Timer:
		if len(payload) > MaxEvent {
			return Event{Kind: kind}, tooLarge("the event", len(payload), MaxEvent)
		}
		var e TimerEvent
		if err := unmarshal(payload, &e, "timer"); err != nil {
			return Event{Kind: kind}, err
		}
		p, err := e.Params()
		return Event{Kind: kind, Params: p}, err
	default:
		if len(payload) > MaxEvent {
			return Event{Kind: Direct}, tooLarge("the event", len(payload), MaxEvent)
		}
		return Event{Kind: Direct, Params: o}, nil
	}
}

func detect(o params.Object) Kind {
	if k, ok := httpKind(func(name string) bool { _, ok := o.Raw(name); return ok }); ok {
		return k
	}
	if s, _, err := o.String("Type"); err == nil && s == "Timer" {
		return Timer
	}
	return Direct
}

// httpKind is the one rule for telling HTTP events apart, given which
// top-level members an event has.
func httpKind(has func(name string) bool) (Kind, bool) {
	if !has("httpMethod") || !has("headers") {
		return "", false
	}
	if has("requestContext") || has("isBase64Encoded") {
		return APIGateway, true
	}
	return FunctionURL, true
}

// sniff recognises the trigger of an event that params.Parse refused (for
// invalid UTF-8 or a repeated member), using encoding/json's more lenient
// reading, so that an HTTP caller still gets an HTTP answer.
func sniff(payload []byte) Kind {
	var probe map[string]json.RawMessage
	if json.Unmarshal(payload, &probe) != nil {
		return Direct
	}
	if k, ok := httpKind(func(name string) bool { _, ok := probe[name]; return ok }); ok {
		return k
	}
	return Direct
}

func unmarshal(payload []byte, v any, what string) error {
	if err := json.Unmarshal(payload, v); err != nil {
		return apierror.Wrap(apierror.InvalidParameter, err, "the %s event is malformed: %v", what, err)
	}
	return nil
}

func tooLarge(what string, n, limit int) error {
	return apierror.New(apierror.RequestSizeLimitExceeded, "%s is %d bytes; the limit is %d bytes", what, n, limit)
}
