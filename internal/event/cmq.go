package event

import "github.com/go-json-experiment/json/jsontext"

// CMQEvent is the event of a CMQ topic trigger (asynchronous: retried after a function error).
type CMQEvent struct {
	Records []CMQRecord `json:"Records"` // The messages.
}

// CMQRecord is one record of the event.
type CMQRecord struct {
	CMQ CMQMessage `json:"CMQ"` // The message.
}

// CMQMessage is one message published to a CMQ topic, each member kept as sent
// (topicOwner and msgTag vary in type).
type CMQMessage struct {
	Type             jsontext.Value `json:"type,omitzero"`             // "topic".
	TopicOwner       jsontext.Value `json:"topicOwner,omitzero"`       // The topic owner's account.
	TopicName        jsontext.Value `json:"topicName,omitzero"`        // The topic.
	SubscriptionName jsontext.Value `json:"subscriptionName,omitzero"` // The subscription that delivered it.
	PublishTime      jsontext.Value `json:"publishTime,omitzero"`      // When it was published.
	MsgID            jsontext.Value `json:"msgId,omitzero"`            // The message id.
	RequestID        jsontext.Value `json:"requestId,omitzero"`        // The publish request's id.
	MsgBody          jsontext.Value `json:"msgBody,omitzero"`          // The message: text (here the contact JSON).
	MsgTag           jsontext.Value `json:"msgTag,omitzero"`           // Its tags.
}
