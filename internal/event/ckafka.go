package event

import "github.com/go-json-experiment/json/jsontext"

// CKafkaEvent is the event of a CKafka trigger: a batch of one topic's
// messages, delivered again whole after an error.
type CKafkaEvent struct {
	Records []CKafkaRecord `json:"Records"` // The messages.
}

// CKafkaRecord is one record of the batch.
type CKafkaRecord struct {
	Ckafka CKafkaMessage `json:"Ckafka"` // The message.
}

// CKafkaMessage is one Kafka message; its coordinates are kept as sent (numbers
// or strings, "partition":"").
type CKafkaMessage struct {
	Topic     jsontext.Value `json:"topic,omitzero"`     // The topic.
	Partition jsontext.Value `json:"partition,omitzero"` // The partition.
	Offset    jsontext.Value `json:"offset,omitzero"`    // The message's offset in it.
	MsgKey    jsontext.Value `json:"msgKey,omitzero"`    // The message key.
	MsgBody   jsontext.Value `json:"msgBody,omitzero"`   // The message: text (here the contact JSON).
}
