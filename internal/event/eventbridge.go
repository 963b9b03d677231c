package event

import "github.com/go-json-experiment/json/jsontext"

// CloudEvent is an event of an EventBridge rule (CloudEvents 1.0): its data is
// the contact or, from a connector such as "connector:tdmq", an object whose
// msgBody is. Members are kept as sent: their types vary.
type CloudEvent struct {
	SpecVersion     jsontext.Value `json:"specversion,omitzero"`     // CloudEvents version.
	ID              jsontext.Value `json:"id,omitzero"`              // The event id.
	Type            jsontext.Value `json:"type,omitzero"`            // e.g. "connector:tdmq".
	Source          jsontext.Value `json:"source,omitzero"`          // e.g. "tdmq.cloud.tencent".
	Subject         jsontext.Value `json:"subject,omitzero"`         // The resource, qcs::...
	Time            jsontext.Value `json:"time,omitzero"`            // Milliseconds.
	Region          jsontext.Value `json:"region,omitzero"`          // The region.
	DataContentType jsontext.Value `json:"datacontenttype,omitzero"` // The data's media type.
	Data            jsontext.Value `json:"data,omitzero"`            // The payload.
}

// EventList is an EventBridge batch delivery.
type EventList struct {
	Events []CloudEvent `json:"EventList"` // The events, oldest first.
}
