package handler

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/emulator"
)

// ckafkaEvent is a CKafka delivery of one message per body, offsets from 100.
func ckafkaEvent(bodies ...string) []byte {
	return ckafkaTopicEvent("dba-onboarding", bodies...)
}

func ckafkaTopicEvent(topic string, bodies ...string) []byte {
	type msg struct {
		Topic     string `json:"topic"`
		Partition int    `json:"partition"`
		Offset    int    `json:"offset"`
		MsgBody   string `json:"msgBody"`
	}
	type rec struct {
		Ckafka msg `json:"Ckafka"`
	}
	var ev struct {
		Records []rec `json:"Records"`
	}
	for i, b := range bodies {
		ev.Records = append(ev.Records, rec{msg{topic, 3, 100 + i, b}})
	}
	out, _ := json.Marshal(ev)
	return out
}

// cmqEvent is a CMQ topic delivery of one message per body.
func cmqEvent(bodies ...string) []byte {
	type msg struct {
		Type       string `json:"type"`
		TopicOwner int    `json:"topicOwner"`
		TopicName  string `json:"topicName"`
		MsgID      string `json:"msgId"`
		MsgBody    string `json:"msgBody"`
		MsgTag     string `json:"msgTag"`
	}
	type rec struct {
		CMQ msg `json:"CMQ"`
	}
	var ev struct {
		Records []rec `json:"Records"`
	}
	for i, b := range bodies {
		ev.Records = append(ev.Records, rec{msg{"topic", 120000, "dba-topic", fmt.Sprintf("msg-%d", i), b, "onboard"}})
	}
	out, _ := json.Marshal(ev)
	return out
}

// eventBridgeEvent is an EventBridge batch of one TDMQ connector event per
// body.
func eventBridgeEvent(bodies ...string) []byte {
	var list []map[string]any
	for i, b := range bodies {
		list = append(list, map[string]any{
			"specversion": "1.0", "id": fmt.Sprintf("ev-%d", i), "type": "connector:tdmq", "source": "tdmq.cloud.tencent",
			"time": "1615430559146", "datacontenttype": "application/json;charset=utf-8",
			"data": map[string]any{"topic": "dba", "msgId": fmt.Sprintf("m-%d", i), "msgBody": b},
		})
	}
	out, _ := json.Marshal(map[string]any{"EventList": list})
	return out
}

func contactMessages(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`{"Name":"%s_%02d","ContactInfo":"%s.%02d@example.com"}`, prefix, i, prefix, i)
	}
	return out
}

// batchAnswer is a batch envelope, from an answer or a function error's
// text.
type batchAnswer struct {
	Results        []Result
	OmittedCount   int
	SucceededCount int
	FailedCount    int
	RequestID      string `json:"RequestId"`
}

func parseBatch(t testing.TB, body []byte) batchAnswer {
	t.Helper()
	var env struct{ Response *batchAnswer }
	if err := json.Unmarshal(body, &env); err != nil || env.Response == nil || env.Response.Results == nil {
		t.Fatalf("not a batch envelope (%v): %s", err, clip(body))
	}
	return *env.Response
}

// delivered is what the platform learns from one record delivery.
type delivered struct {
	batchAnswer
	fnErr string // "" when the delivery is acknowledged, else the function error's type
	code  string // the function error's Code
	text  string // the function error's text
	out   []byte
}

func (d delivered) redelivered() bool { return d.fnErr != "" }

// deliver invokes the handler with a record delivery and takes the answer
// apart: the batch envelope, or the function error that asks for a
// redelivery and its text, which has the same shape.
func (f *fixture) deliver(event []byte, timeout time.Duration) delivered {
	t := f.t
	t.Helper()
	out, err := f.invoke(event, timeout)
	return takeDelivery(t, out, err)
}

func takeDelivery(t testing.TB, out []byte, err error) delivered {
	t.Helper()
	d := delivered{out: out}
	body := out
	if err != nil {
		var ok bool
		if d.fnErr, d.code, d.text, ok = asFunctionError(err); !ok {
			t.Fatalf("unexpected error %T: %v", err, err)
		}
		if out != nil {
			t.Errorf("a function error with a payload: %s", clip(out))
		}
		body = []byte(d.text)
	}
	d.batchAnswer = parseBatch(t, body)
	return d
}

// A CKafka delivery whose calls all fail is a RetryableError, so that the
// trigger delivers it again; the redelivery, once the fault has cleared,
// registers each contact exactly once, and a further redelivery of the same
// batch costs one lookup and no AddUserContact.
func TestRecordsFailRedeliverAndRegisterOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, emulator.Config{RPS: -1, Faults: emulator.Faults{InternalError: 1}}, nil)
		event := ckafkaEvent(contactMessages("onboard", 5)...)
		d := f.deliver(event, 2*time.Second)
		if d.fnErr != "RetryableError" || d.code != "InternalError" || len(d.Results) != 5 || d.FailedCount != 5 {
			t.Fatalf("all calls failing: %s %s, %d results: %s", d.fnErr, d.code, len(d.Results), d.text)
		}
		for _, r := range d.Results {
			if r.Error == nil || r.Error.Code != "InternalError" || !strings.HasPrefix(r.Record, "topic=dba-onboarding partition=3 offset=1") {
				t.Errorf("result %+v %+v", r, r.Error)
			}
		}
		if err := f.emu.SetFaults(emulator.Faults{}); err != nil {
			t.Fatal(err)
		}
		d = f.deliver(event, 5*time.Second)
		if d.redelivered() {
			t.Fatalf("the redelivery failed again: %s", d.text)
		}
		ids := map[int64]bool{}
		for _, r := range d.Results {
			if r.Error != nil || r.ID == nil {
				t.Fatalf("redelivery result %+v", r)
			}
			ids[*r.ID] = true
		}
		if stored := f.emu.Contacts(); len(stored) != 5 || len(ids) != 5 {
			t.Fatalf("%d contacts stored, %d ids answered, want 5 each", len(stored), len(ids))
		}
		before := f.emu.Stats().Actions
		d = f.deliver(event, 5*time.Second)
		after := f.emu.Stats().Actions
		adds := after[dbbrain.ActionAddUserContact].Requests - before[dbbrain.ActionAddUserContact].Requests
		lookups := after[dbbrain.ActionDescribeAllUserContact].Requests - before[dbbrain.ActionDescribeAllUserContact].Requests
		if d.redelivered() || adds != 0 || lookups != 1 || len(f.emu.Contacts()) != 5 {
			t.Errorf("second redelivery: %s, %d adds, %d lookups, %d contacts", d.fnErr, adds, lookups, len(f.emu.Contacts()))
		}
		for _, r := range d.Results {
			if r.Error != nil || !ids[*r.ID] {
				t.Errorf("second redelivery result %+v", r)
			}
		}
	})
}

// A record that can never be registered is acknowledged with the others,
// reported with its coordinates, and logged at WARN once; the good ones are
// registered, and no line is logged per contact.
func TestPoisonRecordIsAcknowledged(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{RPS: -1}, nil)
	event := ckafkaEvent(`{"Name":"Good One","ContactInfo":"good1@example.com"}`, `not json at all`,
		`{"Name":"_bad","ContactInfo":"bad@example.com"}`, `{"Name":"Good Two","ContactInfo":"good2@example.com"}`)
	d := f.deliver(event, 5*time.Second)
	if d.redelivered() || len(d.Results) != 4 {
		t.Fatalf("%s, %d results", d.fnErr, len(d.Results))
	}
	r := d.Results
	if r[0].ID == nil || r[3].ID == nil || r[1].Error == nil || r[2].Error == nil {
		t.Errorf("results %+v", r)
	}
	if len(f.emu.Contacts()) != 2 {
		t.Errorf("%d contacts stored, want the 2 good ones", len(f.emu.Contacts()))
	}
	logs := f.logs.String()
	for _, want := range []string{`"level":"WARN","msg":"record not registered`, `"record":"topic=dba-onboarding partition=3 offset=101"`, `"record":"topic=dba-onboarding partition=3 offset=102"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %s:\n%s", want, logs)
		}
	}
	if n := strings.Count(logs, `"msg":"record not registered`); n != 2 {
		t.Errorf("%d record lines, want 2:\n%s", n, logs)
	}
	if n := strings.Count(logs, "\n"); n != 3 {
		t.Errorf("%d log lines, want the two records' and the invocation's:\n%s", n, logs)
	}
}

// A failure that is the function's own (its role's key) is not the
// records' fault: the delivery fails at once with a SetupError, never
// acknowledged, and the batch stops at the first failure.
func TestRoleFailureRedeliversRecords(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{RPS: -1}, map[string]string{"TENCENTCLOUD_SECRETKEY": "not-the-key"})
	d := f.deliver(ckafkaEvent(contactMessages("role", 2)...), 5*time.Second)
	if d.fnErr != "SetupError" || d.code != "AuthFailure.SignatureFailure" {
		t.Fatalf("an auth failure: %s %s %s", d.fnErr, d.code, d.out)
	}
	for _, r := range d.Results {
		if r.Error == nil || r.Error.Code != "AuthFailure.SignatureFailure" {
			t.Errorf("result %+v", r)
		}
	}
	if n := f.emu.Stats().Requests; n < 1 || n > 2 {
		t.Errorf("%d calls, want the one that met the failure (two at most, if both contacts were sent at once)", n)
	}
}

// A code DBbrain answers because of the function's own setup (a region it
// does not serve) is not the records' fault either.
func TestSetupFailureFromDBbrainRedeliversRecords(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{RPS: -1}, map[string]string{"DBBRAIN_REGION": "ap-nowhere"})
	d := f.deliver(ckafkaEvent(contactMessages("region", 2)...), 5*time.Second)
	if d.fnErr != "SetupError" || d.code != "UnsupportedRegion" || len(f.emu.Contacts()) != 0 {
		t.Fatalf("%s %s, results %+v", d.fnErr, d.code, d.Results)
	}
	for _, r := range d.Results {
		if r.Error == nil || r.Error.Code != "UnsupportedRegion" {
			t.Errorf("result %+v", r)
		}
	}
}

// A delivery too big for one invocation's time makes progress: what fits is
// registered, the rest is left for the redelivery, which finishes it.
func TestLargeDeliveryMakesProgress(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, emulator.Config{RPS: 20}, map[string]string{"DBBRAIN_RPS": "20", "DBBRAIN_DEADLINE_MARGIN": "100ms"})
		event := ckafkaEvent(contactMessages("bulk", 60)...)
		d := f.deliver(event, 1500*time.Millisecond)
		first := len(f.emu.Contacts())
		if d.fnErr != "RetryableError" || first == 0 || first == 60 {
			t.Fatalf("first delivery: %q with %d of 60 registered", d.fnErr, first)
		}
		if d.FailedCount != 60-first || len(d.Results) != d.FailedCount {
			t.Errorf("the function error lists %d failures of %d, want only the %d not registered", len(d.Results), d.FailedCount, 60-first)
		}
		for range 5 {
			if d = f.deliver(event, 1500*time.Millisecond); !d.redelivered() {
				break
			}
		}
		if d.redelivered() || len(f.emu.Contacts()) != 60 {
			t.Fatalf("after redeliveries: %q, %d of 60 registered", d.fnErr, len(f.emu.Contacts()))
		}
	})
}

// However many records fail, the answer stays under SCF's 6 MB response
// limit: it lists the results that fit and counts the rest, so the delivery
// is acknowledged rather than failing for its answer's size.
func TestHugeAnswerStaysUnderTheLimit(t *testing.T) {
	if raceEnabled {
		t.Skip("20,000 contacts to test a size limit: seconds under the race detector, run without it")
	}
	t.Parallel()
	f := newFixture(t, emulator.Config{RPS: -1}, nil)
	var items []string
	long := strings.Repeat("x", 40) // each unknown name quoted whole in the failure
	for i := range 1000 {
		items = append(items, fmt.Sprintf(`{"name":"person %d","email":"p%d@example.com","%s1":1,"%s2":2,"%s3":3}`, i, i, long, long, long))
	}
	message := `{"Contacts":[` + strings.Join(items, ",") + `]}`
	bodies := make([]string, 20)
	for i := range bodies {
		bodies[i] = message
	}
	d := f.deliver(ckafkaEvent(bodies...), 10*time.Second)
	if d.redelivered() {
		t.Fatalf("function error: %s", clip([]byte(d.text)))
	}
	// Every failure one by one up to MaxFailures, then one per message.
	detailed := (MaxFailures/1000 + 1)
	want := detailed*1000 + len(bodies) - detailed
	if len(d.out) >= 6<<20 || d.OmittedCount == 0 || len(d.Results)+d.OmittedCount != want || d.FailedCount != want {
		t.Errorf("%d bytes, %d results listed, %d omitted, %d failed", len(d.out), len(d.Results), d.OmittedCount, d.FailedCount)
	}
	if a, err := inspectAnswer(CKafka, d.out, nil); err != nil || a.omitted != d.OmittedCount {
		t.Errorf("the cut answer is not a well-formed batch envelope: %v", err)
	}
	if n := strings.Count(f.logs.String(), "\n"); n > maxRecordLines+2 {
		t.Errorf("%d log lines for one delivery", n)
	}
}

// A record acknowledged unregistered is one WARN line, whatever number of
// its contacts failed: its first failure and the count.
func TestOneWarnLinePerRecord(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{}, nil)
	items := make([]string, 150)
	for i := range items {
		items[i] = fmt.Sprintf(`{"Name":"_bad %d","ContactInfo":"bad%d@example.com"}`, i, i)
	}
	f.deliver(ckafkaEvent(`{"Contacts":[`+strings.Join(items, ",")+`]}`, `{"Name":"_also bad","ContactInfo":"x@example.com"}`), 5*time.Second)
	logs := f.logs.String()
	if n := strings.Count(logs, `"msg":"record not registered`); n != 2 {
		t.Fatalf("%d record lines for two records:\n%s", n, clip([]byte(logs)))
	}
	if strings.Contains(logs, "more records not registered") {
		t.Errorf("a count of more records for two:\n%s", clip([]byte(logs)))
	}
	if rec := lineWith(t, logs, "record not registered"); rec["failed_contacts"] != float64(150) || !strings.HasPrefix(rec["record"].(string), "topic=dba-onboarding ") {
		t.Errorf("the first record's line: %v", rec)
	}
}

// Past MaxFailures failed contacts, a message's failures are one failure
// with their count, so that a delivery of thousands of invalid batches costs
// neither gigabytes nor a partition stalled for ever; the verdicts are the
// same, and a valid contact anywhere in the delivery is still registered or
// delivered again, never refused for where it sits.
func TestFailuresPastMaxFailures(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{}, nil)
	invalid := `{"Contacts":[` + strings.Repeat(`{},`, 999) + `{}]}` // 1000 contacts without a name
	messages := make([]string, MaxFailures/1000+2)
	for i := range messages {
		messages[i] = invalid
	}
	last := len(messages) - 1
	messages[last] = `{"Contacts":[{"Name":"John Smith","ContactInfo":"test@qq.com"},` + strings.Repeat(`{},`, 998) + `{}]}`
	d := f.deliver(ckafkaEvent(messages...), 10*time.Second)
	if d.fnErr != "" {
		t.Fatalf("a function error for contacts that can never be registered: %s", d.fnErr)
	}
	byRecord := map[string][]Result{}
	for _, r := range d.Results {
		byRecord[r.Record] = append(byRecord[r.Record], r)
	}
	if len(byRecord) != len(messages) || d.FailedCount != len(d.Results)-1 || d.SucceededCount != 1 {
		t.Fatalf("%d records, %d results, %d failed, %d succeeded", len(byRecord), len(d.Results), d.FailedCount, d.SucceededCount)
	}
	lastResults := byRecord[fmt.Sprintf("topic=dba-onboarding partition=3 offset=%d", 100+last)]
	if len(lastResults) != 2 || lastResults[0].ID == nil || lastResults[1].Error == nil ||
		!strings.HasSuffix(lastResults[1].Error.Message, "(and 998 more contacts of this message failed)") {
		t.Errorf("the last message's results: %+v", lastResults)
	}
}
