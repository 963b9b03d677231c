package kafkatrigger

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/scf-dbbrain/addusercontact/internal/event"
)

// ckafkaMessage is one record as the CKafka trigger delivers it, in its
// field order (scf-go-lib's events.CkafkaEvent).
type ckafkaMessage struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	MsgKey    string `json:"msgKey"`
	MsgBody   string `json:"msgBody"`
}

type ckafkaRecord struct {
	Ckafka ckafkaMessage `json:"Ckafka"`
}

// buildEvent renders the CKafka event of the first records of batch, as
// many as keep it within SCF's synchronous limit, and at least one (SCF
// then refuses it, and the trigger's retries end with the batch skipped).
// fit is how many records it holds.
func buildEvent(batch []*kgo.Record) (payload []byte, fit int) {
	const head, tail = `{"Records":[`, `]}`
	var b bytes.Buffer
	b.WriteString(head)
	for i, r := range batch {
		// Strings only: Marshal cannot fail. Bytes that are not UTF-8
		// become U+FFFD, as any JSON encoder must.
		item, _ := json.Marshal(ckafkaRecord{ckafkaMessage{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
			MsgKey: string(r.Key), MsgBody: string(r.Value)}})
		if i > 0 && b.Len()+1+len(item)+len(tail) > event.MaxEvent {
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(item)
		fit++
	}
	b.WriteString(tail)
	return b.Bytes(), fit
}

// counts is what the function's batch envelope says of a batch:
// {"Response":{"Results":[…],"SucceededCount":n,"FailedCount":m,"RequestId":"…"}}.
type counts struct {
	succeeded, failed int
	requestID         string
	batch             bool   // the answer is a batch envelope
	errorText         string // the answer is an error envelope: "Code: Message"
}

// readCounts reads an answer's counts; anything else (a text, another
// shape) gives zeros, which the trigger only reports.
func readCounts(answer []byte) counts {
	var env struct {
		Response struct {
			Results                     []json.RawMessage
			SucceededCount, FailedCount int
			RequestID                   string `json:"RequestId"`
			Error                       *struct{ Code, Message string }
		}
	}
	if json.Unmarshal(answer, &env) != nil {
		return counts{}
	}
	r := env.Response
	c := counts{succeeded: r.SucceededCount, failed: r.FailedCount, requestID: r.RequestID, batch: r.Results != nil}
	if r.Error != nil {
		c.errorText = r.Error.Code + ": " + r.Error.Message
	}
	return c
}

// describe says in one bounded line why an invocation failed: a batch
// envelope runs to kilobytes, so its counts stand for it.
func describe(fe *FunctionError, c counts) string {
	switch {
	case c.batch:
		return fmt.Sprintf("%s: %d succeeded, %d failed or not attempted", fe.Type, c.succeeded, c.failed)
	case c.errorText != "":
		return fe.Type + ": " + clip(c.errorText, 300)
	}
	return fe.Type + ": " + clip(fe.Message, 300)
}
