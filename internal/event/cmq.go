package event

import (
	"encoding/json"
	"fmt"
)

// CMQEvent is the event of a CMQ topic trigger (asynchronous: retried after
// a function error).
//
// scf-go-lib's CMQEvent reads topicOwner only as a number and msgTag as a
// list or a ", "-separated string, and fails on null; this type takes what
// the documentation's samples show.
type CMQEvent struct {
	Records []CMQRecord `json:"Records"` // The messages.
}

// CMQRecord is one record of the event.
type CMQRecord struct {
	CMQ CMQMessage `json:"CMQ"` // The message.
}

// CMQMessage is one message published to a CMQ topic.
type CMQMessage struct {
	Type             string `json:"type"`             // "topic".
	TopicOwner       Number `json:"topicOwner"`       // The topic owner's account.
	TopicName        string `json:"topicName"`        // The topic.
	SubscriptionName string `json:"subscriptionName"` // The subscription that delivered it.
	PublishTime      string `json:"publishTime"`      // When it was published.
	MsgID            string `json:"msgId"`            // The message id.
	RequestID        string `json:"requestId"`        // The publish request's id.
	MsgBody          string `json:"msgBody"`          // The message: here the contact JSON.
	MsgTag           Tags   `json:"msgTag"`           // Its tags.
}

func cmqMessage(i int, raw json.RawMessage) Message {
	var r CMQRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return malformed(i, err)
	}
	m := r.CMQ
	return message(fmt.Sprintf("topic=%s msgId=%s", m.TopicName, m.MsgID), []byte(m.MsgBody))
}
