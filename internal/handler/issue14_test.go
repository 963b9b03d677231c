package handler

// One test per example of issue 14 ("One verdict per record"), each
// asserting what only the fixed path produces. Example 9 (the tests that did
// not test their path) is fixed in leak_test.go: TestWarmInstanceLeavesNoGoroutines,
// TestSecretsAndEmailsStayOutOfLogs and TestBuiltBinaryKeepsSecretsOutOfItsOutput
// start their handler or binary with the closed endpoint and check that
// only it names that address and that the emulator got no call.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/emulator"
	"github.com/scf-dbbrain/addusercontact/internal/testsupport"
)

// Example 1: at-least-once producers send a message twice. Two copies in one
// delivery of a contact whose name exists with another email are both a
// conflict, reported and acknowledged: the partition moves on. (The copy
// used to lose the conflict and fail the delivery for ever.) One copy alone
// is acknowledged the same way.
func TestDuplicateOfATakenNameIsAcknowledged(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{RPS: -1}, nil)
	if out, err := f.invoke([]byte(contactJSON("Dup Name", "first@example.com")), 5*time.Second); err != nil || !strings.Contains(string(out), `"Id":1`) {
		t.Fatalf("registering the first: %s %v", out, err)
	}
	copyOf := contactJSON("Dup Name", "second@example.com")
	for _, copies := range []int{2, 1} {
		f.logs.Reset()
		d := f.deliver(ckafkaEvent(slices.Repeat([]string{copyOf}, copies)...), 5*time.Second)
		if d.redelivered() || len(d.Results) != copies || d.FailedCount != copies {
			t.Fatalf("%d copies: %q %s, %d results", copies, d.fnErr, d.code, len(d.Results))
		}
		for i, r := range d.Results {
			if r.ID != nil || r.Error == nil || r.Error.Code != apierror.FailedOperation || !strings.Contains(r.Error.Message, "already exists with a different email") {
				t.Errorf("%d copies, result %d: %+v %+v", copies, i, r, r.Error)
			}
			if want := fmt.Sprintf("topic=dba-onboarding partition=3 offset=%d", 100+i); r.Record != want {
				t.Errorf("%d copies, result %d: record %q, want %q", copies, i, r.Record, want)
			}
		}
		if n := strings.Count(f.logs.String(), `"msg":"record not registered`); n != copies {
			t.Errorf("%d copies: %d WARN lines, want one per record:\n%s", copies, n, f.logs.String())
		}
	}
	if c := f.emu.Contacts(); len(c) != 1 || c[0].Mail != "first@example.com" {
		t.Errorf("the emulator holds %+v", c)
	}
	if n := f.emu.Stats().Actions[dbbrain.ActionAddUserContact].Requests; n != 1 {
		t.Errorf("%d AddUserContact calls, want the first registration's only: the lookup finds the name", n)
	}
}

// Example 2: each refusal DBbrain gives one contact (not only
// InvalidParameterValue) is final for that contact: on a record trigger
// the record is reported and acknowledged, the others registered; a timer or
// direct invocation gets the final envelope. The add is made once and the
// name looked up once, never retried.
func TestRefusalOfOneContactIsPermanent(t *testing.T) {
	t.Parallel()
	codes := []string{"FailedOperation", "UnsupportedOperation", "ResourceNotFound", "LimitExceeded", "InvalidParameter", "MissingParameter", "InvalidParameterValue"}
	refused, good := contactJSON("Refused One", "refused@example.com"), contactJSON("Good One", "good@example.com")
	for _, code := range codes {
		for _, src := range []Source{CKafka, CMQ, EventBridge, Timer, Direct} {
			t.Run(code+"/"+string(src), func(t *testing.T) {
				t.Parallel()
				synctest.Test(t, func(t *testing.T) {
					fake := newFakeDBbrain(func(name string) *fakeAnswer {
						if strings.HasPrefix(name, "Refused") {
							return &fakeAnswer{code: code}
						}
						return nil
					})
					h, logs := newFakeHandler(t, fake, nil)
					var event []byte
					switch src {
					case CKafka:
						event = ckafkaEvent(good, refused)
					case CMQ:
						event = cmqEvent(good, refused)
					case EventBridge:
						event = eventBridgeEvent(good, refused)
					default:
						event = eventFor(src, refused)
					}
					start := time.Now()
					out, err := invokeFor(h, event, 10*time.Second)
					if err != nil {
						t.Fatalf("%s for %s: %v", errorType(err), code, err)
					}
					if src.records() {
						d := takeDelivery(t, out, nil)
						if len(d.Results) != 2 || d.Results[0].ID == nil || d.Results[1].Error == nil || d.Results[1].Error.Code != code || d.Results[1].Record == "" {
							t.Errorf("results %+v", d.Results)
						}
						if !strings.Contains(logs.String(), `"msg":"record not registered`) {
							t.Errorf("the refused record is not logged:\n%s", logs.String())
						}
					} else if got, _ := parseError(t, out); got != code {
						t.Errorf("answered %s, want %s", got, code)
					}
					if took := time.Since(start); took > time.Second {
						t.Errorf("took %s: retried", took)
					}
					if n := fake.count(dbbrain.ActionAddUserContact); n != 1+btoi(src.records()) {
						t.Errorf("%d adds: the refused contact was sent more than once", n)
					}
				})
			})
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Example 3: records are read for what the function needs, leniently:
// metadata of another type never loses the contact, and coordinates that
// cannot be read are the record's place in the delivery, never invented.
func TestRecordMetadataOfAnyTypeKeepsTheContact(t *testing.T) {
	t.Parallel()
	body := func(n int) string {
		return fmt.Sprintf(`"msgBody":%q`, contactJSON(fmt.Sprintf("Meta %d", n), fmt.Sprintf("meta%d@example.com", n)))
	}
	for _, tc := range []struct {
		name, event string
		records     []string // each result's Record; "" where it must have failed
		failed      []bool
	}{{
		name:    "CMQ msgTag a number",
		event:   `{"Records":[{"CMQ":{"type":"topic","topicOwner":120000,"topicName":"t","msgId":"m1",` + body(1) + `,"msgTag":7}}]}`,
		records: []string{"topic=t msgId=m1"},
	}, {
		name:    "CMQ msgTag a list, topicOwner a string",
		event:   `{"Records":[{"CMQ":{"type":"topic","topicOwner":"120000","topicName":"t","msgId":"m2",` + body(2) + `,"msgTag":["a","b"]}}]}`,
		records: []string{"topic=t msgId=m2"},
	}, {
		name:    "CKafka offset written 41.0",
		event:   `{"Records":[{"Ckafka":{"topic":"t","partition":0,"offset":41.0,"msgKey":5,` + body(3) + `}}]}`,
		records: []string{"topic=t partition=0 offset=41.0"},
	}, {
		name:    "CKafka partition and offset as strings",
		event:   `{"Records":[{"Ckafka":{"topic":"t","partition":"","offset":"42",` + body(4) + `,"extra":{"a":[1]}}}]}`,
		records: []string{"topic=t partition= offset=42"},
	}, {
		name: "a record of another trigger in a CKafka delivery",
		event: `{"Records":[{"Ckafka":{"topic":"t","partition":1,"offset":8,` + body(5) + `}},` +
			`{"CMQ":{"topicName":"t","msgId":"m6",` + body(6) + `}}]}`,
		records: []string{"topic=t partition=1 offset=8", "record=1"},
		failed:  []bool{false, true},
	}, {
		name: "coordinates partly unreadable",
		event: `{"Records":[{"Ckafka":{"topic":"t","partition":{},"offset":9,` + body(7) + `}},` +
			`{"Ckafka":"not an object"}]}`,
		records: []string{"record=0 topic=t offset=9", "record=1"},
		failed:  []bool{false, true},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, emulator.Config{RPS: -1}, nil)
			d := f.deliver([]byte(tc.event), 5*time.Second)
			if d.redelivered() || len(d.Results) != len(tc.records) {
				t.Fatalf("%q, results %+v", d.fnErr, d.Results)
			}
			for i, r := range d.Results {
				failed := tc.failed != nil && tc.failed[i]
				if r.Record != tc.records[i] || (r.ID == nil) != failed {
					t.Errorf("result %d: %+v %+v, want record %q, failed %v", i, r, r.Error, tc.records[i], failed)
				}
			}
			if strings.Contains(string(d.out), "partition=0 offset=0") || strings.Contains(string(d.out), "topic= ") {
				t.Errorf("invented coordinates: %s", d.out)
			}
			if want := len(tc.records) - strings.Count(fmt.Sprint(tc.failed), "true"); len(f.emu.Contacts()) != want {
				t.Errorf("%d contacts registered, want %d", len(f.emu.Contacts()), want)
			}
		})
	}
}

// Example 4: a fault of the whole invocation is paid once, not per
// contact. A 100-record delivery whose role's token or signature is
// refused makes at most 5 calls, then fails with a SetupError that lists
// every record.
func TestRejectedRoleCostsAFewCalls(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		key  emulator.Key
		code string
	}{
		{"token", emulator.Key{SecretID: roleID, SecretKey: roleKey, Token: "the-current-token"}, "AuthFailure.TokenFailure"},
		{"signature", emulator.Key{SecretID: roleID, SecretKey: "rotated-key", Token: roleToken}, "AuthFailure.SignatureFailure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, emulator.Config{Keys: []emulator.Key{tc.key}}, nil)
				out, err := f.invoke(ckafkaEvent(contactMessages("role", 100)...), 60*time.Second)
				d := takeDelivery(t, out, err)
				if d.fnErr != "SetupError" || d.code != tc.code {
					t.Fatalf("got %q %s", d.fnErr, d.code)
				}
				st := f.emu.Stats()
				if st.Requests < 1 || st.Requests > 5 || st.Codes[tc.code] != st.Requests {
					t.Errorf("%d upstream calls (%v), want 1 to 5, each refused with %s", st.Requests, st.Codes, tc.code)
				}
				if d.FailedCount != 100 || len(d.Results)+d.OmittedCount != 100 || len(d.text) > maxFunctionErrorText {
					t.Errorf("%d failed, %d listed and %d omitted in %d bytes", d.FailedCount, len(d.Results), d.OmittedCount, len(d.text))
				}
				for _, r := range d.Results {
					if r.Error == nil || r.Error.Code != tc.code {
						t.Errorf("result %+v", r)
					}
				}
				if len(f.emu.Contacts()) != 0 {
					t.Error("contacts were created")
				}
			})
		})
	}
	// A role that may look contacts up but not add them: the lookups pass,
	// the first add stops the batch, and the contacts not sent say why.
	t.Run("no permission to add", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			fake := newFakeDBbrain(func(string) *fakeAnswer { return &fakeAnswer{code: "UnauthorizedOperation"} })
			h, _ := newFakeHandler(t, fake, nil)
			out, err := invokeFor(h, ckafkaEvent(contactMessages("role", 100)...), 60*time.Second)
			d := takeDelivery(t, out, err)
			if d.fnErr != "SetupError" || d.code != "UnauthorizedOperation" || d.FailedCount != 100 {
				t.Fatalf("got %q %s, %d failed", d.fnErr, d.code, d.FailedCount)
			}
			adds, lookups := fake.count(dbbrain.ActionAddUserContact), fake.count(dbbrain.ActionDescribeAllUserContact)
			if adds < 1 || adds+lookups > 5 {
				t.Errorf("%d adds and %d lookups, want at most 5 calls", adds, lookups)
			}
			notSent := 0
			for _, r := range d.Results {
				if r.Error == nil || r.Error.Code != "UnauthorizedOperation" {
					t.Errorf("result %+v", r)
				} else if strings.HasPrefix(r.Error.Message, "not attempted: the batch stopped at the first failure of the function's own setup") {
					notSent++
				}
			}
			if notSent+adds < len(d.Results) {
				t.Errorf("%d results say they were not sent, of %d listed with %d adds made", notSent, len(d.Results), adds)
			}
		})
	})
}

// Example 5: a broken role on a timer is a function error, so that SCF's
// retries, its Errors metric and a dead-letter queue see it, and its type
// names it: a workflow's Retry and Catch tell a SetupError (fix the role)
// from a RetryableError (try again later) by the type's name alone. Direct
// invocations answer the same way.
func TestFunctionErrorTypeNamesTheFailure(t *testing.T) {
	t.Parallel()
	for _, src := range []Source{Timer, Direct} {
		t.Run(string(src), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				event := eventFor(src, contactJSON("Kind Case", "kind@example.com"))
				broken := newFixture(t, emulator.Config{}, map[string]string{"TENCENTCLOUD_SECRETKEY": "not-the-key"})
				out, err := broken.invoke(event, 5*time.Second)
				var se *SetupError
				var re *RetryableError
				if out != nil || errorType(err) != "SetupError" || !errors.As(err, &se) || errors.As(err, &re) || se.Code != "AuthFailure.SignatureFailure" {
					t.Errorf("a broken role: %s %T %v", out, err, err)
				}
				down := newFixture(t, emulator.Config{Faults: emulator.Faults{InternalError: 1}}, nil)
				out, err = down.invoke(event, 5*time.Second)
				if out != nil || errorType(err) != "RetryableError" || !errors.As(err, &re) || errors.As(err, &se) || re.Code != "InternalError" {
					t.Errorf("DBbrain failing: %s %T %v", out, err, err)
				}
				if n := down.emu.Stats().Requests; n < 2 {
					t.Errorf("%d calls: the transient failure was not retried", n)
				}
			})
		})
	}
}

// Example 6: two deliveries of the same 100 records overlap (a message on
// two partitions, or a redelivery while the first still runs), in two
// instances sharing the account's limit. The second's adds are refused
// (the first registered those names): an answer that is not a throttle
// says the window had room, so the pace holds, both finish well within
// their 60 s with every contact registered once, and nothing is left "not
// attempted".
func TestOverlappingDeliveriesKeepTheirPace(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, emulator.Config{}, nil) // DBbrain's 20 calls per second
		event := ckafkaEvent(contactMessages("overlap", 100)...)
		type run struct {
			h    *Handler
			logs *testsupport.Buffer
			took time.Duration
			out  []byte
			err  error
			d    delivered
		}
		runs := make([]*run, 2)
		var wg sync.WaitGroup
		for i := range runs {
			r := &run{logs: &testsupport.Buffer{}}
			r.h = f.newHandler(f.env.get, r.logs)
			t.Cleanup(r.h.Close)
			runs[i] = r
			wg.Go(func() {
				time.Sleep(time.Duration(i) * 2 * time.Second) // the second comes while the first runs
				start := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				r.out, r.err = r.h.Invoke(ctx, event)
				r.took = time.Since(start)
			})
		}
		wg.Wait()
		ids := map[string]int64{}
		for i, r := range runs {
			r.d = takeDelivery(t, r.out, r.err)
			if r.d.redelivered() || r.d.SucceededCount != 100 || r.took > 30*time.Second {
				t.Errorf("delivery %d: %q %s, %d of 100 registered in %s", i, r.d.fnErr, r.d.code, r.d.SucceededCount, r.took)
			}
			for _, res := range r.d.Results {
				if res.ID == nil {
					continue
				}
				if id, seen := ids[res.Name]; seen && id != *res.ID {
					t.Errorf("%s answered with the ids %d and %d", res.Name, id, *res.ID)
				}
				ids[res.Name] = *res.ID
			}
			// Two instances share the limit, and the first throttle may leave
			// one at a quarter of it while they find their halves; what the
			// bug did was sit at the floor (0.5-0.9 calls/s), refused adds
			// teaching the pace nothing.
			if rate := r.h.adds.Rate(); rate < 4 {
				t.Errorf("delivery %d: the pace fell to %.2f calls/s", i, rate)
			}
			if strings.Contains(r.logs.String(), "contacts not attempted") {
				t.Errorf("delivery %d left contacts not attempted:\n%s", i, clip([]byte(r.logs.String())))
			}
		}
		names := map[string]int{}
		for _, c := range f.emu.Contacts() {
			names[c.Name]++
		}
		if len(names) != 100 || len(f.emu.Contacts()) != 100 {
			t.Errorf("%d contacts stored under %d names, want 100 once each", len(f.emu.Contacts()), len(names))
		}
		if refused := f.emu.Stats().Actions[dbbrain.ActionAddUserContact].Codes["FailedOperation"]; refused == 0 {
			t.Log("no add was refused as a repeated name: the deliveries did not overlap")
		}
	})
}

// Example 7, the answer: a long topic or EventBridge id is clipped in each
// result, so that a 1000-contact message cannot push the answer past SCF's
// 6 MB (it was 8.1 MB); measured in real bytes.
func TestLongCoordinatesStayBounded(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 10<<10)
	items := make([]string, contact1000)
	for i := range items {
		items[i] = fmt.Sprintf(`{"Name":"bound %d","ContactInfo":"not an address %d"}`, i, i)
	}
	message := `{"Contacts":[` + strings.Join(items, ",") + `]}`
	eb := strings.Replace(string(eventBridgeEvent(message)), `"id":"ev-0"`, `"id":"`+long+`"`, 1)
	for name, event := range map[string][]byte{"ckafka topic": ckafkaTopicEvent(long, message), "eventbridge id": []byte(eb)} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, emulator.Config{}, nil)
			d := f.deliver(event, 10*time.Second)
			if d.redelivered() || d.FailedCount != contact1000 || len(d.Results) != contact1000 {
				t.Fatalf("%q, %d failed, %d listed", d.fnErr, d.FailedCount, len(d.Results))
			}
			if len(d.out) >= maxSyncResponse || len(d.out) > contact1000*1024 {
				t.Errorf("the answer is %d bytes", len(d.out))
			}
			for _, r := range d.Results {
				if len(r.Record) > maxCoordinates+len("…") || !strings.HasSuffix(r.Record, "…") {
					t.Fatalf("a record's coordinates are %d bytes: %.80s…", len(r.Record), r.Record)
				}
			}
		})
	}
}

// contact1000 is contact.MaxBatch, the most one message may carry.
const contact1000 = 1000

// Example 7, the function error: its text is the counts and the first
// failures, at most 64 KB, with addresses masked, however many contacts
// failed; and the log sums up what was not attempted in one line, however
// many contacts, before the deadline.
func TestFunctionErrorAndLogStayBounded(t *testing.T) {
	t.Parallel()
	records := 20 // 20,000 contacts
	if raceEnabled {
		records = 2 // the same bounds, met by a tenth: the race detector makes 20,000 slow
	}
	messages := make([]string, records)
	for i := range messages {
		items := make([]string, contact1000)
		for j := range items {
			// Named by their addresses, which the text must mask.
			items[j] = fmt.Sprintf(`{"Name":"bulk.%d.%d@example.com","ContactInfo":"bulk.%d.%d@example.com"}`, i, j, i, j)
		}
		messages[i] = `{"Contacts":[` + strings.Join(items, ",") + `]}`
	}
	event := ckafkaEvent(messages...)
	total := records * contact1000
	t.Run("setup", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			f := newFixture(t, emulator.Config{}, map[string]string{"TENCENTCLOUD_SECRETKEY": "not-the-key"})
			d := f.deliver(event, 60*time.Second)
			checkErrorText(t, d, "SetupError", total)
			if n := f.emu.Stats().Requests; n > 5 {
				t.Errorf("%d calls\n%s", n, f.logs.String())
			}
		})
	})
	t.Run("not attempted", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			f := newFixture(t, emulator.Config{}, nil) // 20 calls per second: most are left for the redelivery
			const timeout = 5 * time.Second
			start := time.Now()
			d := f.deliver(event, timeout)
			if took := time.Since(start); took >= timeout {
				t.Errorf("answered after %s, the deadline was %s", took, timeout)
			}
			checkErrorText(t, d, "RetryableError", total)
			registered := len(f.emu.Contacts())
			logs := f.logs.String()
			if n := strings.Count(logs, `"msg":"contacts not attempted`); n != 1 {
				t.Errorf("%d lines for the contacts not attempted, want one", n)
			}
			if lines := strings.Count(logs, "\n"); lines > 20 {
				t.Errorf("%d log lines for one invocation:\n%s", lines, clip([]byte(logs)))
			}
			rec := lineWith(t, logs, "contacts not attempted")
			if n, _ := rec["count"].(float64); n < float64(total-registered-100) || int(n) > total-registered {
				t.Errorf("%v contacts counted as not attempted, with %d of %d registered", rec["count"], registered, total)
			}
		})
	})
	t.Run("records not registered", func(t *testing.T) {
		t.Parallel()
		bad := slices.Repeat([]string{`{"Name":"_bad","ContactInfo":"bad@example.com"}`}, 150)
		f := newFixture(t, emulator.Config{}, nil)
		d := f.deliver(ckafkaEvent(bad...), 10*time.Second)
		logs := f.logs.String()
		if d.redelivered() || d.FailedCount != 150 {
			t.Errorf("%q, %d failed", d.fnErr, d.FailedCount)
		}
		if n := strings.Count(logs, `"msg":"record not registered`); n != 100 {
			t.Errorf("%d record lines, want the first 100", n)
		}
		if rec := lineWith(t, logs, "more records not registered"); rec["count"] != 50.0 {
			t.Errorf("the rest counted as %v, want 50", rec["count"])
		}
	})
}

func checkErrorText(t *testing.T, d delivered, typ string, total int) {
	t.Helper()
	if d.fnErr != typ || d.FailedCount == 0 {
		t.Fatalf("got %q %s with %d failed", d.fnErr, d.code, d.FailedCount)
	}
	if len(d.text) > maxFunctionErrorText || d.OmittedCount == 0 || len(d.Results)+d.OmittedCount != d.FailedCount || d.SucceededCount+d.FailedCount != total {
		t.Errorf("a %s of %d bytes: %d listed, %d omitted, %d+%d of %d", typ, len(d.text), len(d.Results), d.OmittedCount, d.SucceededCount, d.FailedCount, total)
	}
	if !strings.Contains(d.text, "b***@example.com") || strings.Contains(d.text, "bulk.0.0@example.com") {
		t.Errorf("addresses in full in the text: %s", clip([]byte(d.text)))
	}
}

// lineWith returns the log record whose message starts with msg.
func lineWith(t *testing.T, logs, msg string) map[string]any {
	t.Helper()
	for line := range strings.Lines(logs) {
		if strings.Contains(line, `"msg":"`+msg) {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatal(err)
			}
			return rec
		}
	}
	t.Fatalf("no %q line in:\n%s", msg, clip([]byte(logs)))
	return nil
}

// Example 8: emails are compared as DBbrain stores them, with ASCII case
// folding at most. "\u212Aate@qq.com" starts with the Kelvin sign, which
// Unicode folding takes for "k": it is not kate@qq.com, and a record asking
// for it under Kate's name is a conflict, never answered with Kate's Id.
func TestKelvinSignIsNotAnotherAddress(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{RPS: -1}, nil)
	out, err := f.invoke([]byte(contactJSON("Kate", "kate@qq.com")), 5*time.Second)
	if err != nil || !strings.Contains(string(out), `"Id":1`) {
		t.Fatalf("registering kate@qq.com: %s %v", out, err)
	}
	kelvin := contactJSON("Kate", "\u212Aate@qq.com")
	d := f.deliver(ckafkaEvent(kelvin), 5*time.Second)
	if d.redelivered() || len(d.Results) != 1 {
		t.Fatalf("%q, results %+v", d.fnErr, d.Results)
	}
	if r := d.Results[0]; r.ID != nil || r.Error == nil || r.Error.Code != apierror.FailedOperation || !strings.Contains(r.Error.Message, "already exists with a different email") {
		t.Errorf("the Kelvin-sign address was answered %+v %+v", r, r.Error)
	}
	// The same through a direct invocation, whose add DBbrain refuses
	// before the lookup explains it.
	out, err = f.invoke([]byte(kelvin), 5*time.Second)
	if code, _ := parseError(t, out); err != nil || code != apierror.FailedOperation {
		t.Errorf("direct: %s %v", out, err)
	}
	// ASCII case is still folded: KATE@QQ.COM is kate@qq.com.
	out, err = f.invoke([]byte(contactJSON("Kate", "KATE@QQ.COM")), 5*time.Second)
	if err != nil || !strings.Contains(string(out), `"Id":1`) {
		t.Errorf("upper case: %s %v", out, err)
	}
	if n := len(f.emu.Contacts()); n != 1 {
		t.Errorf("%d contacts", n)
	}
}

// Example 7, the function error's text: it has the envelope's shape, so a
// workflow or a dead-letter consumer can read it as JSON, with addresses
// masked, whatever the names echoed in it hold: a name that is not allowed
// (a backslash before an address) is still echoed, masked, and the text
// still parses.
func TestFunctionErrorTextIsAnEnvelope(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, emulator.Config{Faults: emulator.Faults{InternalError: 1}}, nil)
		batch := `{"Contacts":[{"Name":"Mask One","ContactInfo":"mask.one@example.com"},{"Name":"\\mask.two@example.com","ContactInfo":"mask.two@example.com"}]}`
		out, err := f.invoke([]byte(timerEvent(batch)), 2*time.Second)
		a, ierr := inspectAnswer(Timer, out, err)
		if ierr != nil || a.fnErr != "RetryableError" || len(a.codes) != 2 {
			t.Fatalf("%v (%q %v):\n%v", ierr, a.fnErr, a.codes, err)
		}
		d := takeDelivery(t, nil, err)
		if name := d.Results[1].Name; strings.Contains(name, "mask.two@") || !strings.HasSuffix(name, "***@example.com") {
			t.Errorf("the name is echoed as %q", name)
		}
	})
}
