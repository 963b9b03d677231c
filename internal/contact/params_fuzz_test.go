package contact

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

// FuzzParse checks ParseJSON against encoding/json (v1, an independent
// reader): whatever ParseJSON accepts is a valid JSON object with the same
// members, and whatever it refuses is refused with an Invalid
// InvalidParameter for a reason encoding/json agrees with, or for one of the
// rules it does not apply: a repeated member, a lone surrogate escape
// (which it replaces), more than MaxMembers members or elements.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		``, ` `, `null`, `[]`, `"x"`, `{}`, `{"a":1}`, `{"a":1,"a":2}`, `{"a":1,"A":2}`,
		`{"Name":"John Smith","ContactInfo":"test@qq.com","Product":"mysql"}`,
		`{"Contacts":[{"Name":"a","Name":"b"}]}`, `{"a":{"b":[1,2,{"c":null}]}}`,
		"\xef\xbb\xbf{}", "{\"a\":\"\xff\"}", `{"a":"\ud800"}`, `{"a":1} x`, `{"a":1}{}`,
		`{"a"`, `{"a":`, `{"a":1`, `{1:2}`, `{"a":1e999}`, " {\"a\" : true } \n",
		strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
		strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001),
		"{" + members(MaxMembers+1) + "}", `{"a":[` + elements(MaxMembers+1) + `]}`, `{"a":"\udc00"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := ParseJSON(data, "the body")
		if err != nil {
			var e *apierror.Error
			if !errors.As(err, &e) || e.Kind != apierror.Invalid || e.Code != apierror.InvalidParameter || !strings.HasPrefix(e.Message, "the body ") {
				t.Fatalf("refusal %#v", err)
			}
			var m map[string]json.RawMessage
			if utf8.Valid(data) && !bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) && json.Unmarshal(data, &m) == nil && m != nil &&
				!strings.Contains(e.Message, "more than once") && !strings.Contains(e.Message, "surrogate") &&
				!strings.Contains(e.Message, "more than 10000 members") {
				t.Fatalf("refused a JSON object encoding/json reads: %v", err)
			}
			return
		}
		if !utf8.Valid(data) {
			t.Fatalf("accepted invalid UTF-8 %q", data)
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q (nesting %d)", data, nesting(data))
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil || m == nil {
			t.Fatalf("accepted what is not a JSON object: %v", err)
		}
		names := o.Names()
		if len(o.Names()) != len(names) || len(names) != len(m) {
			t.Fatalf("%d names %q, encoding/json sees %d members", len(o.Names()), names, len(m))
		}
		for _, name := range names {
			raw, ok := o.Raw(name)
			if !ok {
				t.Fatalf("name %q has no value", name)
			}
			if !bytes.Equal(compact(t, raw), compact(t, m[name])) {
				t.Fatalf("member %q: %s, encoding/json reads %s", name, raw, m[name])
			}
			s, present, err := o.String(name)
			switch JSONKind(raw) {
			case "a string":
				var want string
				_ = json.Unmarshal(raw, &want)
				if err != nil || !present || s != want {
					t.Fatalf("String(%q) = %q %v %v, want %q", name, s, present, err, want)
				}
			case "null":
				if err != nil || present {
					t.Fatalf("String(%q) of null = %v %v", name, present, err)
				}
			default:
				if apierror.CodeOf(err) != apierror.InvalidParameter || !present {
					t.Fatalf("String(%q) of %s = %v %v", name, JSONKind(raw), present, err)
				}
			}
		}
	})
}

// nesting returns the deepest nesting of objects and lists in JSON text.
func nesting(data []byte) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range data {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

func compact(t *testing.T, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("value %s is not valid JSON: %v", raw, err)
	}
	return b.Bytes()
}

// FuzzFromValuesAndMerge checks the query-string and form path: values keep
// their text, invalid UTF-8 is refused, a repeated name becomes a list, and
// Merge refuses a name given twice.
func FuzzFromValuesAndMerge(f *testing.F) {
	f.Add("Name", "John Smith", "Jane", uint8(1), []byte(`{"ContactInfo":"test@qq.com"}`))
	f.Add("Name", "a", "b", uint8(2), []byte(`{"Name":"x"}`))
	f.Add("Flag", "", "", uint8(0), []byte(`{}`))
	f.Add("N\xffame", "\xfe", "x", uint8(1), []byte(`{"Other":1}`))
	f.Fuzz(func(t *testing.T, name, v1, v2 string, n uint8, body []byte) {
		vals := []string{v1, v2}[:n%3]
		in := map[string][]string{"Other": {v2}}
		in[name] = vals
		o, err := ParseValues(in, "the query string")
		valid := true
		for k, vs := range in {
			valid = valid && utf8.ValidString(k)
			for _, v := range vs {
				valid = valid && utf8.ValidString(v)
			}
		}
		if err != nil {
			if apierror.CodeOf(err) != apierror.InvalidParameter || valid {
				t.Fatalf("FromValues refused valid input: %v", err)
			}
			return
		}
		if !valid {
			t.Fatal("FromValues accepted invalid UTF-8")
		}
		if !slices.IsSorted(o.Names()) || len(o.Names()) != len(in) {
			t.Fatalf("names %q", o.Names())
		}
		s, present, err := o.String(name)
		switch len(in[name]) {
		case 0:
			if err != nil || !present || s != "" {
				t.Fatalf("flag: %q %v %v", s, present, err)
			}
		case 1:
			if err != nil || !present || s != in[name][0] {
				t.Fatalf("value %q: got %q %v %v", in[name][0], s, present, err)
			}
		default:
			if raw, _ := o.Raw(name); JSONKind(raw) != "a list" || apierror.CodeOf(err) != apierror.InvalidParameter {
				t.Fatalf("repeated value: %s %v", raw, err)
			}
		}
		b, err := ParseJSON(body, "the body")
		if err != nil {
			return
		}
		m, err := o.Merge(b, "in both")
		dup := slices.ContainsFunc(b.Names(), func(n string) bool { _, ok := in[n]; return ok })
		switch {
		case dup && apierror.CodeOf(err) != apierror.InvalidParameter:
			t.Fatalf("merge of a repeated name: %v", err)
		case !dup && err != nil:
			t.Fatalf("merge: %v", err)
		case !dup && !slices.Equal(m.Names(), append(o.Names(), b.Names()...)):
			t.Fatalf("merged names %q", m.Names())
		}
	})
}
