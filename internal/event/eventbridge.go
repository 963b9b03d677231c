package event

import "github.com/go-json-experiment/json/jsontext"

// CloudEvent is an event delivered by an EventBridge rule, in the
// CloudEvents 1.0 form. Its data is the contact, or, for a connector such as
// TDMQ for Pulsar (type "connector:tdmq"), an object whose msgBody is. The
// samples disagree on types (time a string or a number, specversion "0",
// "1.0" or "1.0.2"), so members are kept as sent.
type CloudEvent struct {
	SpecVersion     jsontext.Value `json:"specversion,omitempty"`     // CloudEvents version.
	ID              jsontext.Value `json:"id,omitempty"`              // The event id.
	Type            jsontext.Value `json:"type,omitempty"`            // e.g. "connector:tdmq".
	Source          jsontext.Value `json:"source,omitempty"`          // e.g. "tdmq.cloud.tencent".
	Subject         jsontext.Value `json:"subject,omitempty"`         // The resource, qcs::...
	Time            jsontext.Value `json:"time,omitempty"`            // Milliseconds.
	Region          jsontext.Value `json:"region,omitempty"`          // The region.
	DataContentType jsontext.Value `json:"datacontenttype,omitempty"` // The data's media type.
	Data            jsontext.Value `json:"data,omitempty"`            // The payload.
}

// EventList is an EventBridge batch delivery.
type EventList struct {
	Events []CloudEvent `json:"EventList"` // The events, oldest first.
}
