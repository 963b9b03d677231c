package handler

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/contact"
	"github.com/scf-dbbrain/addusercontact/internal/event"
)

// The record triggers' samples give each record's coordinates and contact.
func TestRecordSources(t *testing.T) {
	t.Parallel()
	for file, want := range map[string]struct {
		source  Source
		records []string
		names   []string
	}{
		"ckafka.json":            {CKafka, []string{"topic=dba-onboarding partition=1 offset=36", "topic=dba-onboarding partition=1 offset=37"}, []string{"John Smith", "张三"}},
		"cmq-topic.json":         {CMQ, []string{"topic=dba-onboarding msgId=123345346"}, []string{"John Smith"}},
		"eventbridge.json":       {EventBridge, []string{"id=13a3f42d-7258-4ada-da6d-023a333b4662"}, []string{"John Smith"}},
		"eventbridge-batch.json": {EventBridge, []string{"id=8b9d6f3e-0f4a-4b8e-9a55-6b8f3c2d1e01 msgId=CAEQ6AgYACAA", "id=8b9d6f3e-0f4a-4b8e-9a55-6b8f3c2d1e02"}, []string{"李四", "王五"}},
	} {
		t.Run(file, func(t *testing.T) {
			payload, err := os.ReadFile(filepath.Join("..", "event", "testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			d, err := read(payload)
			if err != nil || d.source != want.source || !d.source.records() {
				t.Fatalf("read = %v, %v", d.source, err)
			}
			var records, names []string
			for _, r := range d.records {
				if r.err != nil {
					t.Fatalf("%s: %v", r.coords, r.err)
				}
				records = append(records, r.coords)
				names = append(names, str(t, r.params, "Name"))
			}
			if diff := cmp.Diff(want.records, records); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want.names, names); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
		})
	}
}

// The looser forms the documentation shows: numbers as strings or "",
// msgTag as a string or null, data as a JSON string, a batch as a bare list,
// and a message that is not JSON, which is a poison record, not a failure of
// the whole event.
func TestRecordVariants(t *testing.T) {
	t.Parallel()
	d, err := read([]byte(`{"Records":[{"Ckafka":{"topic":"t","partition":"","offset":"7","msgKey":"k","msgBody":"not json"}},
		{"Ckafka":{"topic":"t","partition":"2","offset":8,"msgBody":"{\"Name\":\"John Smith\",\"ContactInfo\":\"test@qq.com\"}"}}]}`))
	if err != nil || len(d.records) != 2 {
		t.Fatalf("%v %+v", err, d)
	}
	if r := d.records[0]; r.coords != "topic=t partition= offset=7" || apierror.CodeOf(r.err) != apierror.InvalidParameter {
		t.Errorf("poison record: %+v", r)
	}
	if r := d.records[1]; r.coords != "topic=t partition=2 offset=8" || r.err != nil {
		t.Errorf("good record: %+v", r)
	}
	for _, tag := range []string{`"a, b"`, `null`, `["a","b"]`} {
		d, err := read([]byte(`{"Records":[{"CMQ":{"topicName":"t","topicOwner":"120000","msgId":"1","msgBody":"{}","msgTag":` + tag + `}}]}`))
		if err != nil || d.source != CMQ || len(d.records) != 1 {
			t.Errorf("msgTag %s: %v", tag, err)
		}
	}
	d, err = read([]byte(`{"Records":[{"Ckafka":{"topic":"t","partition":0,"offset":9,"msgBody":{"Name":"John Smith"}}}]}`))
	if err != nil || d.records[0].err != nil || str(t, d.records[0].params, "Name") != "John Smith" {
		t.Errorf("message body as a JSON object: %v %+v", err, d)
	}
	// A name repeated in a record's metadata loses nothing; a repeated
	// message is refused, its coordinates kept.
	d, err = read([]byte(`{"Records":[{"Ckafka":{"topic":"t","partition":1,"offset":9,"headers":{"x":"1","x":"2"},"msgBody":"{\"Name\":\"John Smith\"}"}},` +
		`{"Ckafka":{"topic":"t","partition":1,"offset":10,"msgBody":"{}","msgBody":"{\"Name\":\"John Smith\"}"}}]}`))
	if err != nil || d.records[0].err != nil || d.records[0].coords != "topic=t partition=1 offset=9" || str(t, d.records[0].params, "Name") != "John Smith" {
		t.Errorf("metadata with a repeated name: %v %+v", err, d)
	}
	if r := d.records[1]; apierror.CodeOf(r.err) != apierror.InvalidParameter || !strings.Contains(r.err.Error(), "msgBody") {
		t.Errorf("a repeated message: %+v", r)
	}
	for _, rec := range []string{
		`{"Ckafka":{"topic":"t","topic":"u","msgBody":"{}","msgBody":"{\"Name\":\"John Smith\"}"}}`,
		`{"Ckafka":{"topic":"t","msgBody":"{}"},"Ckafka":{"msgBody":"{\"Name\":\"John Smith\"}"}}`,
	} {
		d, err := read([]byte(`{"Records":[` + rec + `]}`))
		if err != nil || apierror.CodeOf(d.records[0].err) != apierror.InvalidParameter || !strings.Contains(d.records[0].err.Error(), `"msgBody" more than once`) {
			t.Errorf("a repeated message behind another repeated name %s: %v %+v", rec, err, d)
		}
	}
	d, err = read([]byte(`{"specversion":"1.0","id":"a","id":"b","data":{},"data":{"Name":"John Smith"}}`))
	if err != nil || apierror.CodeOf(d.records[0].err) != apierror.InvalidParameter {
		t.Errorf("an EventBridge event's data twice: %v %+v", err, d)
	}
	d, err = read([]byte(`{"specversion":"1.0","id":"e1","type":"connector:tdmq","source":"y","props":{"a":1,"a":2},"data":{"msgId":"m","msgBody":"{\"Name\":\"John Smith\"}"}}`))
	if err != nil || d.records[0].err != nil || d.records[0].coords != "id=e1 msgId=m" {
		t.Errorf("a connector event with a repeated name in its metadata: %v %+v", err, d)
	}
	d, err = read([]byte(`[{"specversion":"1.0","id":"e1","type":"x","source":"y","data":"{\"Name\":\"John Smith\"}"}]`))
	if err != nil || d.source != EventBridge || str(t, d.records[0].params, "Name") != "John Smith" {
		t.Errorf("bare list with string data: %v %+v", err, d)
	}
}

// One record that does not have its trigger's shape, or holds a byte that is
// not UTF-8, is that record's failure alone: the others are read.
func TestOneBadRecordSparesTheOthers(t *testing.T) {
	t.Parallel()
	good := `{"Name":"John Smith","ContactInfo":"test@qq.com"}`
	huge := `{"Contacts":[` + strings.Repeat(`0,`, contact.MaxMembers) + `0]}` // one member too many
	for name, tc := range map[string]struct {
		event  string
		source Source
		bad    int
	}{
		"huge partition":      {`{"Records":[{"Ckafka":{"topic":"t","partition":99999999999999999999,"offset":1,"msgBody":"x"}},{"Ckafka":{"topic":"t","partition":0,"offset":2,"msgBody":` + quote(good) + `}}]}`, CKafka, 0},
		"body not string":     {`{"Records":[{"Ckafka":{"topic":"t","offset":2,"msgBody":` + quote(good) + `}},{"Ckafka":{"topic":"t","offset":3,"msgBody":["Name"]}}]}`, CKafka, 1},
		"cmq not object":      {`{"Records":[{"CMQ":{"topicName":"t","msgId":"1","msgBody":` + quote(good) + `}},{"CMQ":7}]}`, CMQ, 1},
		"event id number":     {`{"EventList":[{"specversion":"1.0","id":7,"data":{}},{"specversion":"1.0","id":"e2","data":` + good + `}]}`, EventBridge, 0},
		"invalid utf-8":       {"{\"Records\":[{\"Ckafka\":{\"topic\":\"t\",\"offset\":1,\"msgBody\":\"\xff\"}},{\"Ckafka\":{\"topic\":\"t\",\"offset\":2,\"msgBody\":" + quote(good) + "}}]}", CKafka, 0},
		"record too large":    {`{"EventList":[{"specversion":"1.0","id":"e1","data":` + good + `},{"specversion":"1.0","id":"e2","data":` + huge + `}]}`, EventBridge, 1},
		"bare list too large": {`[{"specversion":"1.0","id":"e1","data":` + huge + `},{"specversion":"1.0","id":"e2","data":` + good + `}]`, EventBridge, 0},
		"message too large":   {`{"Records":[{"Ckafka":{"topic":"t","offset":1,"msgBody":` + huge + `}},{"Ckafka":{"topic":"t","offset":2,"msgBody":` + quote(good) + `}}]}`, CKafka, 0},
		"bare list bad id":    {`[{"specversion":"1.0","id":["x"]},{"specversion":"1.0","id":"e2","data":` + good + `}]`, EventBridge, 0},
	} {
		t.Run(name, func(t *testing.T) {
			d, err := read([]byte(tc.event))
			if err != nil || d.source != tc.source || len(d.records) != 2 {
				t.Fatalf("read = %s, %d records, %v", d.source, len(d.records), err)
			}
			for i, r := range d.records {
				if failed := r.err != nil; failed != (i == tc.bad) {
					t.Errorf("record %d (%s): %v", i, r.coords, r.err)
				}
			}
			if ok := d.records[1-tc.bad]; str(t, ok.params, "Name") != "John Smith" {
				t.Errorf("the good record lost its contact: %+v", ok)
			}
		})
	}
	if _, err := read([]byte(`{"EventList":[]}`)); apierror.CodeOf(err) != apierror.InvalidParameter || !strings.Contains(err.Error(), "EventList holds no records") {
		t.Errorf("an empty EventList: %v", err)
	}
	for _, name := range []string{"Records", "EventList"} {
		_, err := read([]byte(`{"` + name + `":{"Ckafka":{}}}`))
		if apierror.CodeOf(err) != apierror.InvalidParameter || !strings.Contains(err.Error(), name+" must be a list") {
			t.Errorf("%s not a list: %v", name, err)
		}
	}
}

// Sources the function does not serve are named, never read as a contact.
func TestUnsupportedSources(t *testing.T) {
	t.Parallel()
	for name, payload := range map[string]string{
		"COS":     `{"Records":[{"cos":{"cosSchemaVersion":"1.0"},"event":{"eventName":"cos:ObjectCreated:*"}}]}`,
		"CLS":     `{"clslogs":{"data":"H4sIAAAAAAAAAA=="}}`,
		"unknown": `{"Records":[{"mps":{}}]}`,
		"COS upload routed through EventBridge": `{"specversion":"1.0","id":"e1","type":"cos:ObjectCreated:Put","source":"cos.cloud.tencent",` +
			`"data":{"cos":{"cosObject":{"key":"a.txt"}}}}`,
	} {
		d, err := read([]byte(payload))
		if name == "COS upload routed through EventBridge" {
			if err != nil || len(d.records) != 1 {
				t.Fatalf("%s: %v", name, err)
			}
			err = d.records[0].err
		}
		if apierror.CodeOf(err) != apierror.UnsupportedOperation || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(strings.Fields(name)[0])) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Every sample in events/ is recognised as the trigger its name says.
func TestSampleEventsDecode(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../events/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample events: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			payload, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			d, err := read(payload)
			want := Direct
			switch {
			case strings.HasPrefix(name, "apigw") || name == "invalid-leading-underscore":
				want = APIGateway
			case strings.HasPrefix(name, "function-url") || name == "invalid-bad-email":
				want = FunctionURL
			case strings.HasPrefix(name, "timer") || name == "invalid-wrong-product":
				want = Timer
			case strings.HasPrefix(name, "ckafka"):
				want = CKafka
			case strings.HasPrefix(name, "cmq"):
				want = CMQ
			case strings.HasPrefix(name, "eventbridge"):
				want = EventBridge
			}
			if d.source != want {
				t.Errorf("source %s, want %s", d.source, want)
			}
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if want.records() {
				if len(d.records) == 0 {
					t.Error("no records")
				}
				return
			}
			if !d.params.Has("ContactInfo") && !d.params.Has("Contacts") {
				t.Errorf("no ContactInfo among %v", d.params.Names())
			}
		})
	}
}

// GET with the contact in the query string, as the API page's example.
func TestGetQueryLikeAPIPage(t *testing.T) {
	t.Parallel()
	payload, err := os.ReadFile("../../events/apigw-get-query.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := read(payload)
	if err != nil {
		t.Fatal(err)
	}
	if got := str(t, d.params, "Name"); got != "John Smith" {
		t.Errorf("Name %q", got)
	}
	if got := str(t, d.params, "Action"); got != "AddUserContact" {
		t.Errorf("Action %q", got)
	}
}

func httpEvent(method, body string, headers map[string]any, query map[string]any, b64 any) []byte {
	ev := map[string]any{"httpMethod": method, "headers": headers, "body": body, "path": "/", "queryString": query}
	if b64 != nil {
		ev["isBase64Encoded"] = b64
		ev["requestContext"] = map[string]any{"stage": "release"}
	}
	out, _ := json.Marshal(ev)
	return out
}

func TestHTTPVariants(t *testing.T) {
	t.Parallel()
	contact := `{"Name":"John Smith","ContactInfo":"test@qq.com"}`
	b64 := base64.StdEncoding.EncodeToString([]byte(contact))
	for name, tc := range map[string]struct {
		event  []byte
		source Source
		name   string
	}{
		"json body":                 {httpEvent("POST", contact, map[string]any{"Content-Type": "application/json"}, nil, nil), FunctionURL, "John Smith"},
		"header case":               {httpEvent("post", contact, map[string]any{"CONTENT-TYPE": "application/json; charset=utf-8"}, nil, nil), FunctionURL, "John Smith"},
		"no content type json":      {httpEvent("POST", contact, map[string]any{}, nil, nil), FunctionURL, "John Smith"},
		"no content type form":      {httpEvent("POST", "Name=John+Smith&ContactInfo=test%40qq.com", map[string]any{}, nil, nil), FunctionURL, "John Smith"},
		"curl -d json":              {httpEvent("POST", contact, map[string]any{"content-type": "application/x-www-form-urlencoded"}, nil, nil), FunctionURL, "John Smith"},
		"form":                      {httpEvent("POST", "Name=John%20Smith&ContactInfo=test%40qq.com", map[string]any{"content-type": "application/x-www-form-urlencoded"}, nil, nil), FunctionURL, "John Smith"},
		"base64 bool":               {httpEvent("POST", b64, map[string]any{"content-type": "application/json"}, nil, true), APIGateway, "John Smith"},
		"base64 string":             {httpEvent("POST", b64, map[string]any{"content-type": "application/json"}, nil, "true"), APIGateway, "John Smith"},
		"base64 url-safe unpadded":  {httpEvent("POST", base64.RawURLEncoding.EncodeToString([]byte(contact)), map[string]any{"content-type": "application/json"}, nil, true), APIGateway, "John Smith"},
		"base64 false string":       {httpEvent("POST", contact, map[string]any{"content-type": "application/json"}, nil, "false"), APIGateway, "John Smith"},
		"query string value":        {httpEvent("GET", "", map[string]any{}, map[string]any{"Name": "John Smith", "ContactInfo": "test@qq.com"}, nil), FunctionURL, "John Smith"},
		"query merged with body":    {httpEvent("POST", `{"ContactInfo":"test@qq.com"}`, map[string]any{"content-type": "application/json"}, map[string]any{"Name": "John Smith", "Action": "AddUserContact"}, nil), FunctionURL, "John Smith"},
		"header list value":         {httpEvent("POST", contact, map[string]any{"Content-Type": []string{"application/json"}}, nil, nil), FunctionURL, "John Smith"},
		"request context, no b64":   {[]byte(`{"httpMethod":"POST","headers":{},"body":` + quote(contact) + `,"requestContext":{}}`), APIGateway, "John Smith"},
		"header null and false":     {httpEvent("POST", contact, map[string]any{"Content-Type": "application/json", "X-A": nil, "X-B": []any{false, nil}}, nil, nil), FunctionURL, "John Smith"},
		"POST, all in the query":    {httpEvent("POST", "", map[string]any{}, map[string]any{"Name": "John Smith", "ContactInfo": "test@qq.com"}, nil), FunctionURL, "John Smith"},
		"queryString null":          {[]byte(`{"httpMethod":"GET","headers":{},"requestContext":{},"queryString":null,"queryStringParameters":{"Name":"John Smith","ContactInfo":"test@qq.com"}}`), APIGateway, "John Smith"},
		"flag without value (true)": {httpEvent("GET", "", map[string]any{}, map[string]any{"Name": "John Smith", "ContactInfo": "test@qq.com", "debug": true}, nil), FunctionURL, "John Smith"},
	} {
		t.Run(name, func(t *testing.T) {
			d, err := read(tc.event)
			if err != nil {
				t.Fatal(err)
			}
			if d.source != tc.source {
				t.Errorf("source %s, want %s", d.source, tc.source)
			}
			if got := str(t, d.params, "Name"); got != tc.name {
				t.Errorf("Name %q, want %q", got, tc.name)
			}
		})
	}
}

func TestHTTPRejects(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("a", MaxHTTPBody+1)
	for name, tc := range map[string]struct {
		event   []byte
		code    string
		mention string
	}{
		"put":              {httpEvent("PUT", "{}", map[string]any{}, nil, nil), apierror.UnsupportedOperation, `"PUT"`},
		"head":             {httpEvent("HEAD", "", map[string]any{}, nil, nil), apierror.UnsupportedOperation, `"HEAD"`},
		"delete":           {httpEvent("DELETE", "", map[string]any{}, nil, nil), apierror.UnsupportedOperation, "not supported"},
		"too large":        {httpEvent("POST", big, map[string]any{}, nil, nil), apierror.RequestSizeLimitExceeded, "limit"},
		"too large b64":    {httpEvent("POST", base64.StdEncoding.EncodeToString([]byte(big)), map[string]any{}, nil, true), apierror.RequestSizeLimitExceeded, "limit"},
		"base64 garbage":   {httpEvent("POST", "!!!not base64!!!", map[string]any{}, nil, true), apierror.InvalidParameter, "not valid base64"},
		"bad b64 flag":     {httpEvent("POST", "{}", map[string]any{}, nil, "maybe"), apierror.InvalidParameter, "isBase64Encoded"},
		"content type":     {httpEvent("POST", "<x/>", map[string]any{"content-type": "text/xml"}, nil, nil), apierror.InvalidParameter, "text/xml"},
		"bad form":         {httpEvent("POST", "Name=%zz", map[string]any{"content-type": "application/x-www-form-urlencoded"}, nil, nil), apierror.InvalidParameter, "form body"},
		"query and body":   {httpEvent("POST", `{"Name":"a"}`, map[string]any{"content-type": "application/json"}, map[string]any{"Name": "b"}, nil), apierror.InvalidParameter, "given twice"},
		"body not string":  {[]byte(`{"httpMethod":"POST","headers":{},"body":{"Name":"x"}}`), apierror.InvalidParameter, "malformed"},
		"headers not map":  {[]byte(`{"httpMethod":"POST","headers":"x","body":""}`), apierror.InvalidParameter, "malformed"},
		"empty body":       {httpEvent("POST", "", map[string]any{"content-type": "application/json"}, nil, nil), apierror.InvalidParameter, "the body is empty"},
		"query object val": {[]byte(`{"httpMethod":"GET","headers":{},"queryString":{"Name":{"a":1}}}`), apierror.InvalidParameter, "malformed"},
		"timer no message": {[]byte(`{"Type":"Timer","TriggerName":"t","Time":"x","Message":""}`), apierror.MissingParameter, "argument"},
		"timer bad json":   {[]byte(`{"Type":"Timer","TriggerName":"t","Time":"x","Message":"Name=x"}`), apierror.InvalidParameter, "the timer's Message"},
		"empty event":      {[]byte(""), apierror.InvalidParameter, "the event is empty"},
		"null event":       {[]byte("null"), apierror.InvalidParameter, "not null"},
		"huge direct":      {[]byte(`{"Name":"` + strings.Repeat("a", event.MaxEvent) + `"}`), apierror.RequestSizeLimitExceeded, "limit"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := read(tc.event)
			e := apierror.From(err)
			if e == nil {
				t.Fatal("accepted")
			}
			if e.Code != tc.code || !strings.Contains(e.Message, tc.mention) {
				t.Errorf("got %s %q, want %s mentioning %q", e.Code, e.Message, tc.code, tc.mention)
			}
		})
	}
}

// A delivery of more records than an object or list may hold is refused
// whole, with no record read: their list is never unmarshalled.
func TestTooManyRecordsRefused(t *testing.T) {
	t.Parallel()
	for _, event := range []string{
		`{"Records":[` + strings.Repeat(`{},`, contact.MaxMembers) + `{}]}`,
		`{"Records":[` + strings.Repeat(`{"Ckafka":{"msgBody":"{}"}},`, contact.MaxMembers) + `{}]}`,
		`[` + strings.Repeat(`{"specversion":"1.0"},`, contact.MaxMembers) + `{}]`,
	} {
		d, err := read([]byte(event))
		if apierror.CodeOf(err) != apierror.InvalidParameter || !strings.Contains(err.Error(), "more than 10000 members") || d.records != nil {
			t.Errorf("%s…: %v, %d records", event[:40], err, len(d.records))
		}
	}
}

// Header values nested thousands deep are refused at the first list inside
// a list, without walking the rest.
func TestNestedListsRefusedQuickly(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", 9990) + `"x"` + strings.Repeat("]", 9990)
	_, err := read([]byte(`{"httpMethod":"GET","headers":{"a":` + deep + `,"b":` + deep + `},"queryString":{}}`))
	if apierror.CodeOf(err) != apierror.InvalidParameter || !strings.Contains(err.Error(), "only strings") {
		t.Fatalf("got %v", err)
	}
}

func str(t *testing.T, p contact.Params, name string) string {
	t.Helper()
	s, _, err := p.String(name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Content-Type headers that differ only in case are read in one order,
// whatever order the event's map gives: conflicting ones are refused every
// time, and the same type given twice is that type.
func TestContentTypeInAnyCaseReadAlike(t *testing.T) {
	t.Parallel()
	conflict := httpEvent("POST", `{"Name":"a"}`, map[string]any{"Content-Type": "application/json", "content-type": "text/plain"}, nil, nil)
	same := httpEvent("POST", `Name=a`, map[string]any{"Content-Type": "application/x-www-form-urlencoded", "CONTENT-TYPE": "application/x-www-form-urlencoded"}, nil, nil)
	for range 30 {
		if _, err := read(conflict); apierror.CodeOf(err) != apierror.InvalidParameter || !strings.Contains(err.Error(), "Content-Type") {
			t.Fatalf("conflicting Content-Type headers: %v", err)
		}
		if d, err := read(same); err != nil || str(t, d.params, "Name") != "a" {
			t.Fatalf("the same Content-Type twice: %v", err)
		}
	}
}

// A delivery from a trigger this function does not serve is named by its
// first record's first member, in the order sent, so the answer is the same
// every time.
func TestUnknownTriggerNamedByFirstMember(t *testing.T) {
	t.Parallel()
	for event, want := range map[string]string{
		`{"Records":[{"zeta":1,"alpha":2,"mid":3}]}`: `(its Records hold "zeta")`,
		`{"Records":[{"":1,"b":2}]}`:                 `(its Records hold "")`,
	} {
		for range 20 {
			_, err := read([]byte(event))
			if apierror.CodeOf(err) != apierror.UnsupportedOperation || !strings.Contains(err.Error(), want) {
				t.Fatalf("%s: %v, want %s", event, err, want)
			}
		}
	}
}
