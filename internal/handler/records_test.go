package handler

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/emulator"
)

// ckafkaEvent is a CKafka delivery of one message per body, offsets from 100.
func ckafkaEvent(bodies ...string) []byte {
	type msg struct {
		Topic     string `json:"topic"`
		Partition int    `json:"partition"`
		Offset    int    `json:"offset"`
		MsgBody   string `json:"msgBody"`
	}
	var ev struct {
		Records []struct {
			Ckafka msg `json:"Ckafka"`
		} `json:"Records"`
	}
	for i, b := range bodies {
		ev.Records = append(ev.Records, struct {
			Ckafka msg `json:"Ckafka"`
		}{msg{"dba-onboarding", 3, 100 + i, b}})
	}
	out, _ := json.Marshal(ev)
	return out
}

func contactMessages(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`{"Name":"%s_%02d","ContactInfo":"%s.%02d@example.com"}`, prefix, i, prefix, i)
	}
	return out
}

// deliver invokes the handler with event and returns the batch envelope's
// results, from the answer or from the function error that asks for a
// redelivery.
func (f *fixture) deliver(event []byte, timeout time.Duration) (results []Result, redelivered bool) {
	t := f.t
	t.Helper()
	out, err := f.invoke(event, timeout)
	body := out
	var re *RetryableError
	if errors.As(err, &re) {
		body, redelivered = re.Envelope, true
	} else if err != nil {
		t.Fatalf("unexpected error %T: %v", err, err)
	}
	var env struct{ Response struct{ Results []Result } }
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("not a batch envelope: %s", body)
	}
	return env.Response.Results, redelivered
}

// A CKafka delivery whose calls all fail is a function error, so that the
// trigger delivers it again; the redelivery, once the fault has cleared,
// registers each contact exactly once, and a further redelivery of the same
// batch costs one lookup and no AddUserContact.
func TestRecordsFailRedeliverAndRegisterOnce(t *testing.T) {
	f := newFixture(t, emulator.Config{RPS: -1, Faults: emulator.Faults{InternalError: 1}}, nil)
	event := ckafkaEvent(contactMessages("onboard", 5)...)
	results, redelivered := f.deliver(event, 2*time.Second)
	if !redelivered || len(results) != 5 {
		t.Fatalf("all calls failing: redelivered=%v, %d results", redelivered, len(results))
	}
	for _, r := range results {
		if r.Error == nil || r.Error.Code != "InternalError" || !strings.HasPrefix(r.Record, "topic=dba-onboarding partition=3 offset=1") {
			t.Errorf("result %+v %+v", r, r.Error)
		}
	}
	if err := f.emu.SetFaults(emulator.Faults{}); err != nil {
		t.Fatal(err)
	}
	results, redelivered = f.deliver(event, 5*time.Second)
	if redelivered {
		t.Fatalf("the redelivery failed again: %+v", results)
	}
	ids := map[int64]bool{}
	for _, r := range results {
		if r.Error != nil || r.ID == nil {
			t.Fatalf("redelivery result %+v", r)
		}
		ids[*r.ID] = true
	}
	if stored := f.emu.Contacts(); len(stored) != 5 || len(ids) != 5 {
		t.Fatalf("%d contacts stored, %d ids answered, want 5 each", len(stored), len(ids))
	}
	before := f.emu.Stats().Actions
	results, redelivered = f.deliver(event, 5*time.Second)
	after := f.emu.Stats().Actions
	adds := after[dbbrain.ActionAddUserContact].Requests - before[dbbrain.ActionAddUserContact].Requests
	lookups := after[dbbrain.ActionDescribeAllUserContact].Requests - before[dbbrain.ActionDescribeAllUserContact].Requests
	if redelivered || adds != 0 || lookups != 1 || len(f.emu.Contacts()) != 5 {
		t.Errorf("second redelivery: redelivered=%v, %d adds, %d lookups, %d contacts", redelivered, adds, lookups, len(f.emu.Contacts()))
	}
	for _, r := range results {
		if r.Error != nil || !ids[*r.ID] {
			t.Errorf("second redelivery result %+v", r)
		}
	}
}

// A record that can never be registered is acknowledged with the others,
// reported with its coordinates, and logged at WARN; the good ones are
// registered.
func TestPoisonRecordIsAcknowledged(t *testing.T) {
	f := newFixture(t, emulator.Config{RPS: -1}, nil)
	event := ckafkaEvent(`{"Name":"Good One","ContactInfo":"good1@example.com"}`, `not json at all`,
		`{"Name":"_bad","ContactInfo":"bad@example.com"}`, `{"Name":"Good Two","ContactInfo":"good2@example.com"}`)
	results, redelivered := f.deliver(event, 5*time.Second)
	if redelivered || len(results) != 4 {
		t.Fatalf("redelivered=%v, %d results", redelivered, len(results))
	}
	if results[0].ID == nil || results[3].ID == nil || results[1].Error == nil || results[2].Error == nil {
		t.Errorf("results %+v", results)
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
}

// A failure that is the function's own (its role's key) is not the
// records' fault: the delivery is failed, never acknowledged.
func TestRoleFailureRedeliversRecords(t *testing.T) {
	f := newFixture(t, emulator.Config{RPS: -1}, map[string]string{"TENCENTCLOUD_SECRETKEY": "not-the-key"})
	results, redelivered := f.deliver(ckafkaEvent(contactMessages("role", 2)...), 5*time.Second)
	if !redelivered {
		t.Fatalf("an auth failure acknowledged the records: %+v", results)
	}
	for _, r := range results {
		if r.Error == nil || r.Error.Code != "AuthFailure.SignatureFailure" {
			t.Errorf("result %+v", r)
		}
	}
}

// A code DBbrain answers because of the function's own setup (a region it
// does not serve) is not the records' fault either, although an HTTP caller
// would get a 400 for it.
func TestSetupFailureFromDBbrainRedeliversRecords(t *testing.T) {
	f := newFixture(t, emulator.Config{RPS: -1}, map[string]string{"DBBRAIN_REGION": "ap-nowhere"})
	results, redelivered := f.deliver(ckafkaEvent(contactMessages("region", 2)...), 5*time.Second)
	if !redelivered || len(f.emu.Contacts()) != 0 {
		t.Fatalf("redelivered=%v, results %+v", redelivered, results)
	}
	for _, r := range results {
		if r.Error == nil || r.Error.Code != "UnsupportedRegion" {
			t.Errorf("result %+v", r)
		}
	}
}

// A delivery too big for one invocation's time makes progress: what fits is
// registered, the rest is left for the redelivery, which finishes it.
func TestLargeDeliveryMakesProgress(t *testing.T) {
	f := newFixture(t, emulator.Config{RPS: 20}, map[string]string{"DBBRAIN_RPS": "20", "DBBRAIN_DEADLINE_MARGIN": "100ms"})
	event := ckafkaEvent(contactMessages("bulk", 60)...)
	_, redelivered := f.deliver(event, 1500*time.Millisecond)
	first := len(f.emu.Contacts())
	if !redelivered || first == 0 || first == 60 {
		t.Fatalf("first delivery: redelivered=%v with %d of 60 registered", redelivered, first)
	}
	for range 5 {
		if _, redelivered = f.deliver(event, 1500*time.Millisecond); !redelivered {
			break
		}
	}
	if redelivered || len(f.emu.Contacts()) != 60 {
		t.Fatalf("after redeliveries: redelivered=%v, %d of 60 registered", redelivered, len(f.emu.Contacts()))
	}
}

// However many records fail, the answer stays under SCF's 6 MB response
// limit: it lists the results that fit and counts the rest, so the delivery
// is acknowledged rather than failing for its answer's size.
func TestHugeAnswerStaysUnderTheLimit(t *testing.T) {
	f := newFixture(t, emulator.Config{RPS: -1}, nil)
	var items []string
	for i := range 1000 {
		items = append(items, fmt.Sprintf(`{"name":"person %d","email":"p%d@example.com"}`, i, i))
	}
	message := `{"Contacts":[` + strings.Join(items, ",") + `]}`
	bodies := make([]string, 20)
	for i := range bodies {
		bodies[i] = message
	}
	out, err := f.invoke(ckafkaEvent(bodies...), 10*time.Second)
	if err != nil {
		t.Fatalf("function error: %v", err)
	}
	var env struct {
		Response struct {
			Results      []Result
			OmittedCount int
			FailedCount  int
		}
	}
	if err := json.Unmarshal(out, &env); err != nil {
		t.Fatal(err)
	}
	r := env.Response
	if len(out) >= 6<<20 || r.OmittedCount == 0 || len(r.Results)+r.OmittedCount != 20000 || r.FailedCount != 20000 {
		t.Errorf("%d bytes, %d results listed, %d omitted, %d failed", len(out), len(r.Results), r.OmittedCount, r.FailedCount)
	}
}
