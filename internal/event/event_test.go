package event

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"
)

// typeFor returns a new value of the event type a sample file holds, by
// its name, or nil for a direct invocation, whose event is the request
// itself. The invalid-* samples in events/ are named for what is wrong
// with their contact; their trigger is the one the README lists.
func typeFor(file string) any {
	name := strings.TrimSuffix(filepath.Base(file), ".json")
	switch {
	case strings.HasPrefix(name, "apigw"), name == "invalid-leading-underscore":
		return &APIGatewayEvent{}
	case strings.HasPrefix(name, "function-url"), name == "invalid-bad-email":
		return &FunctionURLEvent{}
	case strings.HasPrefix(name, "timer"), name == "invalid-wrong-product":
		return &TimerEvent{}
	case strings.HasPrefix(name, "ckafka"):
		return &CKafkaEvent{}
	case strings.HasPrefix(name, "cmq"):
		return &CMQEvent{}
	case strings.HasPrefix(name, "eventbridge-batch"):
		return &EventList{}
	case strings.HasPrefix(name, "eventbridge"):
		return &CloudEvent{}
	}
	return nil
}

func samples(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, dir := range []string{"testdata", filepath.Join("..", "..", "events")} {
		fs, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil || len(fs) == 0 {
			t.Fatalf("no samples in %s: %v", dir, err)
		}
		files = append(files, fs...)
	}
	return files
}

// asAny decodes JSON text into plain values, for comparing documents.
func asAny(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	return v
}

// Round trips, as aws-lambda-go does for its events: decoding a real
// sample into its type and encoding it again gives the same JSON, the
// looser forms Tencent's documentation shows included (numbers as strings
// or "", null, msgTag as a string, data as a JSON string, header values as
// lists). Decoding never fails on metadata of another type.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	tried := 0
	for _, file := range samples(t) {
		v := typeFor(file)
		if v == nil {
			continue
		}
		tried++
		t.Run(filepath.Base(filepath.Dir(file))+"/"+filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			in, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(in, v); err != nil {
				t.Fatalf("decoding %T: %v", v, err)
			}
			out, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(asAny(t, in), asAny(t, out)); diff != "" {
				t.Errorf("round trip of %T changed the event (-in +out):\n%s", v, diff)
			}
		})
	}
	if tried < 15 {
		t.Errorf("only %d samples round-tripped", tried)
	}
}

// Members whose type varies between samples are kept exactly as sent, so
// that the handler reads each leniently, and an absent member stays nil,
// so that it can tell absent from null or "".
func TestLooseMembersKeptAsSent(t *testing.T) {
	t.Parallel()
	read := func(file string, v any) {
		t.Helper()
		in, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(in, v); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	type member struct {
		got  jsontext.Value
		want string
	}
	check := func(file string, ms map[string]member) {
		t.Helper()
		for name, m := range ms {
			if string(m.got) != m.want {
				t.Errorf("%s %s = %s, want %s", file, name, m.got, m.want)
			}
		}
	}

	var ck CKafkaEvent
	read("ckafka-loose.json", &ck)
	if len(ck.Records) != 2 {
		t.Fatalf("%d CKafka records", len(ck.Records))
	}
	a, b := ck.Records[0].Ckafka, ck.Records[1].Ckafka
	check("ckafka-loose.json", map[string]member{
		"partition":   {a.Partition, `""`},
		"offset":      {a.Offset, `"41"`},
		"msgKey":      {a.MsgKey, `""`},
		"topic":       {a.Topic, `"dba-onboarding"`},
		"msgBody":     {a.MsgBody, `"{\"Name\":\"John Smith\",\"ContactInfo\":\"test@qq.com\"}"`},
		"offset 2":    {b.Offset, `42.0`},
		"partition 2": {b.Partition, `0`},
		"msgKey 2":    {b.MsgKey, `null`},
		"msgBody 2":   {b.MsgBody, `{"Name": "张三", "ContactInfo": "zhangsan@example.com"}`},
	})

	var cmq CMQEvent
	read("cmq-loose.json", &cmq)
	m := cmq.Records[0].CMQ
	check("cmq-loose.json", map[string]member{
		"topicOwner":  {m.TopicOwner, `"1250000000"`},
		"msgId":       {m.MsgID, `123345346`},
		"msgTag":      {m.MsgTag, `"onboarding, dba"`},
		"publishTime": {m.PublishTime, `1764118800000`},
	})
	var cmqList CMQEvent
	read("cmq-topic.json", &cmqList)
	check("cmq-topic.json", map[string]member{
		"topicOwner": {cmqList.Records[0].CMQ.TopicOwner, `120000`},
		"msgTag":     {cmqList.Records[0].CMQ.MsgTag, `["onboarding", "dba"]`},
	})

	var ce CloudEvent
	read("eventbridge-loose.json", &ce)
	check("eventbridge-loose.json", map[string]member{
		"id":          {ce.ID, `7`},
		"time":        {ce.Time, `1615430559146`},
		"specversion": {ce.SpecVersion, `"0"`},
		"data":        {ce.Data, `"{\"Name\":\"John Smith\",\"ContactInfo\":\"test@qq.com\"}"`},
	})
	if ce.Subject != nil {
		t.Errorf("absent subject = %s, want nil", ce.Subject)
	}

	var gw APIGatewayEvent
	read("apigw-loose.json", &gw)
	check("apigw-loose.json", map[string]member{
		"isBase64Encoded": {gw.IsBase64Encoded, `"false"`},
		"headers": {gw.Headers, `{
    "Content-Type": ["application/json"],
    "X-Qualifier": "$LATEST"
  }`},
	})
	if gw.QueryStringParameters != nil || gw.RequestContext == nil || gw.RequestContext.Identity.SecretID != nil || gw.HTTPMethod != "GET" {
		t.Errorf("API Gateway event read as %+v", gw)
	}

	var empty CKafkaEvent
	if err := json.Unmarshal([]byte(`{"Records":[{"Ckafka":{}}, {}]}`), &empty); err != nil {
		t.Fatal(err)
	}
	for _, r := range empty.Records {
		if m := r.Ckafka; m.Topic != nil || m.Partition != nil || m.Offset != nil || m.MsgKey != nil || m.MsgBody != nil {
			t.Errorf("absent members read as %+v", m)
		}
	}
}

// The answer of an HTTP trigger has the shape API Gateway's integration
// response and Function URLs expect, every member present.
func TestIntegrationResponseShape(t *testing.T) {
	t.Parallel()
	out, err := json.Marshal(IntegrationResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json; charset=utf-8"}, Body: `{"Response":{}}`})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"isBase64Encoded":false,"statusCode":200,"headers":{"Content-Type":"application/json; charset=utf-8"},"body":"{\"Response\":{}}"}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
	var back IntegrationResponse
	if err := json.Unmarshal(out, &back); err != nil || back.StatusCode != 200 || back.Body != `{"Response":{}}` {
		t.Errorf("read back %+v, %v", back, err)
	}
}

// The package is data only, as aws-lambda-go's events are: types, no
// functions or methods, and nothing of this project's imported, so that
// detection and reading live beside the handler.
func TestDataOnly(t *testing.T) {
	t.Parallel()
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "github.com/scf-dbbrain/") {
			t.Errorf("package event imports %s", imp)
		}
	}
	fset := token.NewFileSet()
	for _, name := range pkg.GoFiles {
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				t.Errorf("%s: func %s: the event types hold data only", fset.Position(d.Pos()), d.Name.Name)
			case *ast.GenDecl:
				if d.Tok == token.VAR {
					t.Errorf("%s: a package variable: the event types hold data only", fset.Position(d.Pos()))
				}
			}
		}
	}
}
