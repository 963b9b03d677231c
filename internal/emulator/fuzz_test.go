package emulator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
)

// FuzzServeHTTP drives request parsing behind a valid signature: any method,
// content type, query and body, signed so that they reach the parameter
// checks. It asserts that the emulator never panics, that every API answer
// is a well-formed envelope with a RequestId, and that a success is only
// ever a success for a well-formed call.
func FuzzServeHTTP(f *testing.F) {
	form := "application/x-www-form-urlencoded"
	for _, seed := range []struct {
		method, action, contentType, query, body string
	}{
		{"POST", dbbrain.ActionAddUserContact, "application/json", "", addBody("John Smith", "test@qq.com")},
		{"POST", dbbrain.ActionAddUserContact, "application/json", "", addBody("张三", "zs@qq.com")},
		{"POST", dbbrain.ActionAddUserContact, "application/json; charset=utf-8", "", `{"Name":1}`},
		{"POST", dbbrain.ActionAddUserContact, form, "", "Name=John+Smith&ContactInfo=test%40qq.com&Product=mysql"},
		{"GET", dbbrain.ActionAddUserContact, form, "Name=a%20b&ContactInfo=a%40b.co&Product=mysql", ""},
		{"POST", dbbrain.ActionDescribeAllUserContact, "application/json", "", `{"Product":"mysql","Names":["zhang",null]}`},
		{"GET", dbbrain.ActionDescribeAllUserContact, form, "Product=mysql&Names.0=a&Names.10=b", ""},
		{"POST", dbbrain.ActionDescribeAllUserContact, "text/plain", "", `{"Product":"mysql"}`},
		{"POST", "Nope", "application/json", "", `{`},
		{"PATCH", dbbrain.ActionAddUserContact, "application/json", "", `{}`},
	} {
		f.Add(seed.method, seed.action, seed.contentType, seed.query, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, method, action, contentType, query string, body []byte) {
		s, err := New(Config{Keys: []Key{permKey}, RPS: -1, Now: newFakeClock().Now})
		if err != nil {
			t.Fatal(err)
		}
		r, err := http.NewRequest(method, "http://127.0.0.1:9000/?"+query, nil)
		if err != nil || r.URL.Path != "/" {
			return // not something a client could send
		}
		req := apiReq{method: method, action: action, contentType: contentType, body: string(body), target: "/?" + r.URL.RawQuery}
		var built *http.Request
		func() {
			defer func() {
				if recover() != nil {
					built = nil // httptest.NewRequest panics on unsendable input
				}
			}()
			built = req.build(t)
		}()
		if built == nil {
			return
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, built)
		if m := built.Method; m != http.MethodGet && m != http.MethodPost {
			if rec.Code != http.StatusMethodNotAllowed {
				t.Fatalf("method %q: status %d", m, rec.Code)
			}
			return
		}
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
		}
		var env struct {
			Response map[string]json.RawMessage
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Response == nil {
			t.Fatalf("not an envelope: %q", rec.Body.String())
		}
		var id string
		if err := json.Unmarshal(env.Response["RequestId"], &id); err != nil || id == "" {
			t.Fatalf("no RequestId: %s", rec.Body.String())
		}
		if raw, isErr := env.Response["Error"]; isErr {
			var e struct{ Code, Message string }
			if err := json.Unmarshal(raw, &e); err != nil || e.Code == "" || e.Message == "" {
				t.Fatalf("bad error %s", raw)
			}
			if len(s.Contacts()) != 0 {
				t.Fatalf("an error (%s) created a contact", e.Code)
			}
			return
		}
		if action == "" {
			action = dbbrain.ActionAddUserContact // apiReq's default
		}
		switch action {
		case dbbrain.ActionAddUserContact:
			c := s.Contacts()
			v, _ := versionRules(dbbrain.Version)
			if len(c) != 1 || c[0].Id != 1 || v.nameProblem(c[0].Name) != "" || s.mailProblem(v, c[0].Mail) != "" {
				t.Fatalf("success stored %+v", c)
			}
		case dbbrain.ActionDescribeAllUserContact:
			if _, ok := env.Response["Contacts"]; !ok {
				t.Fatalf("describe without Contacts: %s", rec.Body.String())
			}
		default:
			t.Fatalf("success for action %q", action)
		}
	})
}
