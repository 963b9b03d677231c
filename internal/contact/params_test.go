package contact

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

func TestParseRejects(t *testing.T) {
	for name, tc := range map[string]struct {
		in, mention string
	}{
		"empty":          {"", "is empty"},
		"blank":          {" \n\t", "is empty"},
		"null":           {"null", "must be a JSON object, not null"},
		"list":           {"[1]", "not a list"},
		"string":         {`"x"`, "not a string"},
		"number":         {"12", "not a number"},
		"truncated":      {`{"Name":"Jo`, "ends too early"},
		"malformed":      {`{"Name" "x"}`, "not valid JSON"},
		"trailing":       {`{"a":"b"} {"c":1}`, "data after the JSON object"},
		"duplicate":      {`{"Name":"a","Name":"b"}`, `member "Name" more than once`},
		"bom":            {"\xEF\xBB\xBF{}", "byte-order mark"},
		"invalid utf8":   {"{\"Name\":\"\xff\xfe\"}", "not valid UTF-8"},
		"deep":           {strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000), "not valid JSON"},
		"unclosed":       {`{"a":1`, "ends too early"},
		"non-string key": {`{1:2}`, "not valid JSON"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseJSON([]byte(tc.in), "the body")
			e := apierror.From(err)
			if e == nil || e.Code != apierror.InvalidParameter {
				t.Fatalf("got %v, want InvalidParameter", err)
			}
			if !strings.Contains(e.Message, tc.mention) {
				t.Errorf("message %q does not mention %q", e.Message, tc.mention)
			}
		})
	}
}

func TestParseKeepsOrderAndRaw(t *testing.T) {
	o, err := ParseJSON([]byte(`{"b":1,"a":"x","c":{"d":[1,2]}}`), "the body")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"b", "a", "c"}, o.Names()); diff != "" {
		t.Error(diff)
	}
	if raw, _ := o.Raw("c"); string(raw) != `{"d":[1,2]}` {
		t.Errorf("raw c = %s", raw)
	}
	s, present, err := o.String("a")
	if s != "x" || !present || err != nil {
		t.Errorf("String(a) = %q %v %v", s, present, err)
	}
	if _, _, err := o.String("b"); apierror.CodeOf(err) != apierror.InvalidParameter {
		t.Errorf("String(b) err = %v", err)
	}
	if _, present, _ := o.String("zz"); present {
		t.Error("absent reported present")
	}
}

func TestFromValuesAndMerge(t *testing.T) {
	q, err := ParseValues(map[string][]string{"Name": {"John Smith"}, "Tag": {"a", "b"}, "Flag": {}}, "the query string")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseValues(map[string][]string{"Name": {"\xff"}}, "the form"); apierror.CodeOf(err) != apierror.InvalidParameter {
		t.Errorf("invalid UTF-8 value: %v", err)
	}
	if diff := cmp.Diff([]string{"Flag", "Name", "Tag"}, q.Names()); diff != "" {
		t.Error(diff)
	}
	if raw, _ := q.Raw("Tag"); JSONKind(raw) != "a list" {
		t.Errorf("repeated value kind = %s", JSONKind(raw))
	}
	if s, _, _ := q.String("Flag"); s != "" {
		t.Errorf("flag = %q", s)
	}
	body, _ := ParseJSON([]byte(`{"ContactInfo":"t@qq.com"}`), "the body")
	m, err := q.Merge(body, "query string and body")
	if err != nil || len(m.Names()) != 4 {
		t.Fatalf("merge: %v %v", m.Names(), err)
	}
	if _, err := m.Merge(body, "query string and body"); apierror.CodeOf(err) != apierror.InvalidParameter {
		t.Errorf("duplicate merge err = %v", err)
	}
}
