package trigger

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/params"
)

// Round trips, as aws-lambda-go does for its events: decoding a real sample
// and encoding it again must give the same JSON.
func TestRoundTrip(t *testing.T) {
	for file, v := range map[string]any{
		"apigw-event.json":        &APIGatewayEvent{},
		"function-url-event.json": &FunctionURLEvent{},
		"timer-event.json":        &TimerEvent{},
	} {
		t.Run(file, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(in, v); err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			var a, b any
			_ = json.Unmarshal(in, &a)
			_ = json.Unmarshal(out, &b)
			if diff := cmp.Diff(a, b); diff != "" {
				t.Errorf("round trip changed the event (-in +out):\n%s", diff)
			}
		})
	}
}

func str(t *testing.T, o params.Object, name string) string {
	t.Helper()
	s, _, err := o.String(name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

// Every sample in events/ is recognised as the trigger its name says.
func TestSampleEventsDecode(t *testing.T) {
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
			ev, err := Decode(payload)
			want := Direct
			switch {
			case strings.HasPrefix(name, "apigw") || name == "invalid-leading-underscore":
				want = APIGateway
			case strings.HasPrefix(name, "function-url") || name == "invalid-bad-email":
				want = FunctionURL
			case strings.HasPrefix(name, "timer") || name == "invalid-wrong-product":
				want = Timer
			}
			if ev.Kind != want {
				t.Errorf("kind %s, want %s", ev.Kind, want)
			}
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if _, ok := ev.Params.Raw("ContactInfo"); !ok {
				if _, batch := ev.Params.Raw("Contacts"); !batch {
					t.Errorf("no ContactInfo among %v", ev.Params.Names())
				}
			}
		})
	}
}

func TestGetQueryLikeAPIPage(t *testing.T) {
	payload, _ := os.ReadFile("../../events/apigw-get-query.json")
	ev, err := Decode(payload)
	if err != nil {
		t.Fatal(err)
	}
	if got := str(t, ev.Params, "Name"); got != "John Smith" {
		t.Errorf("Name %q", got)
	}
	if got := str(t, ev.Params, "Action"); got != "AddUserContact" {
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
	contact := `{"Name":"John Smith","ContactInfo":"test@qq.com"}`
	b64 := base64.StdEncoding.EncodeToString([]byte(contact))
	for name, tc := range map[string]struct {
		event []byte
		kind  Kind
		name  string
	}{
		"json body":                 {httpEvent("POST", contact, map[string]any{"Content-Type": "application/json"}, nil, nil), FunctionURL, "John Smith"},
		"header case":               {httpEvent("post", contact, map[string]any{"CONTENT-TYPE": "application/json; charset=utf-8"}, nil, nil), FunctionURL, "John Smith"},
		"no content type json":      {httpEvent("POST", contact, map[string]any{}, nil, nil), FunctionURL, "John Smith"},
		"no content type form":      {httpEvent("POST", "Name=John+Smith&ContactInfo=test%40qq.com", map[string]any{}, nil, nil), FunctionURL, "John Smith"},
		"form":                      {httpEvent("POST", "Name=John%20Smith&ContactInfo=test%40qq.com", map[string]any{"content-type": "application/x-www-form-urlencoded"}, nil, nil), FunctionURL, "John Smith"},
		"base64 bool":               {httpEvent("POST", b64, map[string]any{"content-type": "application/json"}, nil, true), APIGateway, "John Smith"},
		"base64 string":             {httpEvent("POST", b64, map[string]any{"content-type": "application/json"}, nil, "true"), APIGateway, "John Smith"},
		"base64 false string":       {httpEvent("POST", contact, map[string]any{"content-type": "application/json"}, nil, "false"), APIGateway, "John Smith"},
		"query string value":        {httpEvent("GET", "", map[string]any{}, map[string]any{"Name": "John Smith", "ContactInfo": "test@qq.com"}, nil), FunctionURL, "John Smith"},
		"query merged with body":    {httpEvent("POST", `{"ContactInfo":"test@qq.com"}`, map[string]any{"content-type": "application/json"}, map[string]any{"Name": "John Smith", "Action": "AddUserContact"}, nil), FunctionURL, "John Smith"},
		"header list value":         {httpEvent("POST", contact, map[string]any{"Content-Type": []string{"application/json"}}, nil, nil), FunctionURL, "John Smith"},
		"request context, no b64":   {[]byte(`{"httpMethod":"POST","headers":{},"body":` + strconvQuote(contact) + `,"requestContext":{}}`), APIGateway, "John Smith"},
		"flag without value (true)": {httpEvent("GET", "", map[string]any{}, map[string]any{"Name": "John Smith", "ContactInfo": "test@qq.com", "debug": true}, nil), FunctionURL, "John Smith"},
	} {
		t.Run(name, func(t *testing.T) {
			ev, err := Decode(tc.event)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind != tc.kind {
				t.Errorf("kind %s, want %s", ev.Kind, tc.kind)
			}
			if got := str(t, ev.Params, "Name"); got != tc.name {
				t.Errorf("Name %q, want %q", got, tc.name)
			}
		})
	}
}

func TestHTTPRejects(t *testing.T) {
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
		"huge direct":      {[]byte(`{"Name":"` + strings.Repeat("a", MaxEvent) + `"}`), apierror.RequestSizeLimitExceeded, "limit"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Decode(tc.event)
			e := apierror.As(err)
			if e == nil {
				t.Fatal("accepted")
			}
			if e.Code != tc.code || !strings.Contains(e.Message, tc.mention) {
				t.Errorf("got %s %q, want %s mentioning %q", e.Code, e.Message, tc.code, tc.mention)
			}
		})
	}
}

func TestHTTPResponse(t *testing.T) {
	r := NewHTTPResponse(405, []byte(`{}`), true)
	if r.Headers["Allow"] != "GET, POST" || r.Headers["Content-Type"] != ContentType || r.StatusCode != 405 {
		t.Errorf("%+v", r)
	}
	out, _ := json.Marshal(NewHTTPResponse(200, []byte(`{"Response":{}}`), false))
	want := `{"isBase64Encoded":false,"statusCode":200,"headers":{"Content-Type":"application/json; charset=utf-8"},"body":"{\"Response\":{}}"}`
	if string(out) != want {
		t.Errorf("got %s", out)
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestNestedListsRefusedQuickly(t *testing.T) {
	deep := strings.Repeat("[", 9990) + `"x"` + strings.Repeat("]", 9990)
	ev := []byte(`{"httpMethod":"GET","headers":{"a":` + deep + `,"b":` + deep + `},"queryString":{}}`)
	_, err := Decode(ev)
	if apierror.CodeOf(err) != apierror.InvalidParameter || !strings.Contains(err.Error(), "only strings") {
		t.Fatalf("got %v", err)
	}
}
