package event

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

// FuzzFlexBool checks FlexBool against its documented forms: a JSON
// boolean, null, or a string holding true, false or nothing.
func FuzzFlexBool(f *testing.F) {
	for _, seed := range []string{`true`, `false`, `null`, `"true"`, `" TRUE "`, `"false"`, `""`, `"maybe"`, `1`, `{}`, `[true]`, `tru`, ``} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var b FlexBool
		err := b.UnmarshalJSON(data)
		var v any
		if json.Unmarshal(data, &v) != nil {
			if err == nil {
				t.Fatalf("accepted invalid JSON %q", data)
			}
			return
		}
		want, ok := false, true
		switch x := v.(type) {
		case nil:
		case bool:
			want = x
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true":
				want = true
			case "false", "":
			default:
				ok = false
			}
		default:
			ok = false
		}
		if ok != (err == nil) || (ok && bool(b) != want) {
			t.Fatalf("%s: got %v %v, want %v (accepted %v)", data, b, err, want, ok)
		}
	})
}

// FuzzQueryString checks that whatever QueryString accepts it writes back in
// a form it reads again to the same values.
func FuzzQueryString(f *testing.F) {
	for _, seed := range []string{
		`{}`, `null`, `{"a":"1","b":["x","y"],"flag":true}`, `{"a":null}`, `{"a":[]}`, `{"a":[null,"x",["y",1]]}`,
		`{"a":false}`, `{"a":1e3}`, `{"a":{}}`, `{"a":[{}]}`, `[]`, `"a=1"`, "{\"\xff\":\"\xfe\"}", `{"a":"1","a":"2"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var q QueryString
		if err := json.Unmarshal(data, &q); err != nil {
			return
		}
		out, err := json.Marshal(q)
		if err != nil {
			t.Fatalf("MarshalJSON(%v): %v", q, err)
		}
		var again QueryString
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("reading back %s: %v", out, err)
		}
		if diff := cmp.Diff(q, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip through %s changed the values (-first +second):\n%s", out, diff)
		}
	})
}

// FuzzHeaders checks that header names come out lower-case and that a
// refusal says which header is wrong.
func FuzzHeaders(f *testing.F) {
	for _, seed := range []string{`{}`, `{"Content-Type":"application/json"}`, `{"X-A":["1","2"],"x-b":null}`, `{"a":{}}`, `[]`, `{"A":"1","a":"2"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var h Headers
		if err := json.Unmarshal(data, &h); err != nil {
			return
		}
		for k := range h {
			if k != strings.ToLower(k) {
				t.Fatalf("header name %q kept its case", k)
			}
		}
	})
}

// clientCodes are the codes of refusals caused by the request itself.
var clientCodes = []string{apierror.InvalidParameter, apierror.InvalidParameterValue, apierror.UnsupportedOperation, apierror.RequestSizeLimitExceeded}

// FuzzHTTPRequestParams drives the HTTP request path (method, base64, size
// limit, content type, JSON and form bodies, query merge): it must refuse
// with a client-error *apierror.Error or return parameters that are valid
// JSON values, never panic.
func FuzzHTTPRequestParams(f *testing.F) {
	f.Add("POST", "application/json", `{"Name":"John Smith","ContactInfo":"test@qq.com"}`, false, []byte(`{}`))
	f.Add("post", "", "Name=John+Smith&ContactInfo=test%40qq.com", false, []byte(`{"Action":"AddUserContact"}`))
	f.Add("POST", "application/json; charset=utf-8", "eyJOYW1lIjoiSm9obiJ9", true, []byte(`null`))
	f.Add("GET", "", "", false, []byte(`{"Name":["a","b"],"ContactInfo":"t@qq.com","flag":true}`))
	f.Add("POST", "application/x-www-form-urlencoded", "Name=%zz", false, []byte(`{}`))
	f.Add("POST", "text/plain", "x", false, []byte(`{}`))
	f.Add("PUT", ";;", "!!!", true, []byte(`{"Name":"x"}`))
	f.Fuzz(func(t *testing.T, method, contentType, body string, b64 bool, query []byte) {
		var q QueryString
		_ = json.Unmarshal(query, &q)
		r := HTTPRequest{Method: method, Path: "/", Headers: Headers{"content-type": contentType}, Query: q, Body: body, IsBase64Encoded: b64}
		p, err := r.Params()
		if err != nil {
			var e *apierror.Error
			if !errors.As(err, &e) || !slices.Contains(clientCodes, e.Code) {
				t.Fatalf("refusal %#v", err)
			}
			return
		}
		if m := strings.ToUpper(strings.TrimSpace(method)); m != "GET" && m != "POST" {
			t.Fatalf("method %q accepted", method)
		}
		for _, name := range p.Names() {
			raw, _ := p.Raw(name)
			if !json.Valid(raw) {
				t.Fatalf("parameter %q holds %q", name, raw)
			}
		}
	})
}
