package event

import (
	"encoding/json"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/contact"
)

// CloudEvent is an event delivered by an EventBridge rule, in the
// CloudEvents 1.0 form. Its data is the contact, or, for a connector such as
// TDMQ for Pulsar (type "connector:tdmq"), an object whose msgBody is.
type CloudEvent struct {
	SpecVersion     string          `json:"specversion"`               // CloudEvents version.
	ID              string          `json:"id"`                        // The event id.
	Type            string          `json:"type"`                      // e.g. "connector:tdmq".
	Source          string          `json:"source"`                    // e.g. "tdmq.cloud.tencent".
	Subject         string          `json:"subject,omitempty"`         // The resource, qcs::...
	Time            json.RawMessage `json:"time,omitempty"`            // Milliseconds, as a string or a number.
	Region          string          `json:"region,omitempty"`          // The region.
	DataContentType string          `json:"datacontenttype,omitempty"` // The data's media type.
	Data            json.RawMessage `json:"data"`                      // The payload.
}

// EventList is an EventBridge batch delivery.
type EventList struct {
	Events []CloudEvent `json:"EventList"` // The events, oldest first.
}

// cloudEventMessage finds the contact in an event's data: a connector's
// msgBody text, a JSON string holding the contact, or the data object itself.
func cloudEventMessage(i int, raw json.RawMessage) Message {
	var e CloudEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		return malformed(i, err)
	}
	record := "id=" + e.ID
	var connector struct {
		MsgID   string  `json:"msgId"`
		MsgBody *string `json:"msgBody"`
	}
	var text string
	switch {
	case json.Unmarshal(e.Data, &connector) == nil && connector.MsgBody != nil:
		if connector.MsgID != "" {
			record += " msgId=" + connector.MsgID
		}
		return message(record, []byte(*connector.MsgBody))
	case json.Unmarshal(e.Data, &text) == nil:
		return message(record, []byte(text))
	}
	p, err := contact.ParseJSON(e.Data, "the event's data")
	return Message{Record: record, Params: p, Err: err}
}

// decodeList reads a batch delivered as a bare JSON list of CloudEvents.
func decodeList(payload []byte) (Event, error) {
	var records []json.RawMessage
	var first struct {
		SpecVersion string `json:"specversion"`
	}
	if json.Unmarshal(payload, &records) != nil || len(records) == 0 || json.Unmarshal(records[0], &first) != nil || first.SpecVersion == "" {
		return Event{Source: Direct}, apierror.New(apierror.InvalidParameter, "the event must be a JSON object, not a list")
	}
	return Event{Source: EventBridge, Messages: messages(EventBridge, records)}, nil
}
