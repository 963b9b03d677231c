package event

import (
	"encoding/json"
	"fmt"
)

// CKafkaEvent is the event of a CKafka trigger: a batch of messages from one
// topic. The trigger invokes synchronously and, after a function error,
// delivers the whole batch again.
//
// scf-go-lib's CkafkaEvent has int64 partition and offset, which refuse the
// "partition":"" that Tencent's own templates show, hence this type.
type CKafkaEvent struct {
	Records []CKafkaRecord `json:"Records"` // The messages.
}

// CKafkaRecord is one record of the batch.
type CKafkaRecord struct {
	Ckafka CKafkaMessage `json:"Ckafka"` // The message.
}

// CKafkaMessage is one Kafka message.
type CKafkaMessage struct {
	Topic     string `json:"topic"`     // The topic.
	Partition Number `json:"partition"` // The partition.
	Offset    Number `json:"offset"`    // The message's offset in it.
	MsgKey    string `json:"msgKey"`    // The message key.
	MsgBody   string `json:"msgBody"`   // The message: here the contact JSON.
}

func ckafkaMessage(i int, raw json.RawMessage) Message {
	var r CKafkaRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return malformed(i, err)
	}
	m := r.Ckafka
	return message(fmt.Sprintf("topic=%s partition=%d offset=%d", m.Topic, m.Partition, m.Offset), []byte(m.MsgBody))
}
