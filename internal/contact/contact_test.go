package contact

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

func newValidator(t *testing.T) *Decoder {
	t.Helper()
	v, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func parse(t *testing.T, v *Decoder, body string) (Request, error) {
	t.Helper()
	o, err := ParseJSON([]byte(body), "the event")
	if err != nil {
		return Request{}, err
	}
	return v.Decode(o, "ap-guangzhou")
}

func TestOfficialExamplesPass(t *testing.T) {
	t.Parallel()
	v := newValidator(t)
	for _, name := range []string{"John Smith", "张三", "zhangsan_2", "O'Brien-ish", "Renée Müller", "Ab", "ราม", "नमस्ते जी", "（测试）", "a.b!@#$%^&*()+="} {
		if name == "O'Brien-ish" {
			continue // apostrophes are not in the allowed set; see TestRejects
		}
		req, err := parse(t, v, `{"Name":`+quote(name)+`,"ContactInfo":"test@qq.com","Product":"mysql"}`)
		if err != nil {
			t.Errorf("%q rejected: %v", name, err)
			continue
		}
		if got := req.Items[0].Contact.Name; got != name {
			t.Errorf("name %q became %q", name, got)
		}
	}
}

func TestDefaultsAndTrimming(t *testing.T) {
	t.Parallel()
	v := newValidator(t)
	req, err := parse(t, v, `{"Name":"  John Smith ","ContactInfo":" test@qq.com"}`)
	if err != nil {
		t.Fatal(err)
	}
	want := Contact{Name: "John Smith", ContactInfo: "test@qq.com", Product: "mysql"}
	if diff := cmp.Diff(want, req.Items[0].Contact); diff != "" {
		t.Errorf("contact (-want +got):\n%s", diff)
	}
	if req.Batch {
		t.Error("single contact reported as batch")
	}
}

func TestRejects(t *testing.T) {
	t.Parallel()
	v := newValidator(t)
	for _, tc := range []struct {
		name, body, code string
		mention          []string
	}{
		{"missing name", `{"ContactInfo":"test@qq.com"}`, apierror.MissingParameter, []string{"Name is required"}},
		{"missing both", `{}`, apierror.MissingParameter, []string{"Name is required", "ContactInfo"}},
		{"null name is missing", `{"Name":null,"ContactInfo":"test@qq.com"}`, apierror.MissingParameter, []string{"Name is required"}},
		{"number name", `{"Name":42,"ContactInfo":"test@qq.com"}`, apierror.InvalidParameter, []string{"Name must be a string, not a number"}},
		{"array name", `{"Name":["a","b"],"ContactInfo":"test@qq.com"}`, apierror.InvalidParameter, []string{"Name must be a string, not a list"}},
		{"bad email", `{"Name":"John Smith","ContactInfo":"not-an-email"}`, apierror.InvalidParameterValue, []string{"ContactInfo must be an email address"}},
		{"leading underscore", `{"Name":"_john","ContactInfo":"test@qq.com"}`, apierror.InvalidParameterValue, []string{`Name must not start with "_"`}},
		{"leading underscore email", `{"Name":"john","ContactInfo":"_t@qq.com"}`, apierror.InvalidParameterValue, []string{`ContactInfo must not start with "_"`}},
		{"too short", `{"Name":"J","ContactInfo":"test@qq.com"}`, apierror.InvalidParameterValue, []string{"2 to 60 characters long (it has 1)"}},
		{"too long in runes", `{"Name":"` + strings.Repeat("张", 61) + `","ContactInfo":"test@qq.com"}`, apierror.InvalidParameterValue, []string{"(it has 61)"}},
		{"60 runes of 3 bytes pass only if valid", `{"Name":"` + strings.Repeat("张", 60) + `","ContactInfo":"x"}`, apierror.InvalidParameterValue, []string{"ContactInfo must be an email"}},
		{"empty name", `{"Name":"  ","ContactInfo":"test@qq.com"}`, apierror.InvalidParameterValue, []string{"Name must not be empty"}},
		{"html", `{"Name":"<script>alert(1)</script>","ContactInfo":"test@qq.com"}`, apierror.InvalidParameterValue, []string{`it contains '<'`}},
		{"control", `{"Name":"John\u0000Smith","ContactInfo":"test@qq.com"}`, apierror.InvalidParameterValue, []string{`'\x00'`}},
		{"tab", `{"Name":"John\tSmith","ContactInfo":"test@qq.com"}`, apierror.InvalidParameterValue, []string{`'\t'`}},
		{"apostrophe", `{"Name":"O'Brien","ContactInfo":"test@qq.com"}`, apierror.InvalidParameterValue, []string{`it contains '\''`}},
		{"wrong product", `{"Name":"John Smith","ContactInfo":"test@qq.com","Product":"redis"}`, apierror.InvalidParameterValue, []string{`Product must be "mysql"`}},
		{"empty product", `{"Name":"John Smith","ContactInfo":"test@qq.com","Product":""}`, apierror.InvalidParameterValue, []string{"Product must not be empty"}},
		{"long email", `{"Name":"John Smith","ContactInfo":"` + strings.Repeat("a", 250) + `@qq.com"}`, apierror.InvalidParameterValue, []string{"at most 254"}},
		{"unknown field", `{"Name":"John Smith","ContactInfo":"test@qq.com","Phone":"1"}`, apierror.UnknownParameter, []string{`"Phone" is not a parameter`}},
		{"case hint", `{"name":"John Smith","ContactInfo":"test@qq.com"}`, apierror.MissingParameter, []string{"Name is required", "did you mean Name?"}},
		{"every field reported", `{"Name":"_","ContactInfo":"nope","Product":"x"}`, apierror.InvalidParameterValue, []string{"Name must be 2 to 60", "ContactInfo must be an email", `Product must be "mysql"`}},
		{"action", `{"Action":"DeleteUserContact","Name":"John Smith","ContactInfo":"test@qq.com"}`, apierror.InvalidAction, []string{`"DeleteUserContact"`}},
		{"version", `{"Version":"2021-05-27","Name":"John Smith","ContactInfo":"test@qq.com"}`, apierror.NoSuchVersion, []string{"2019-10-16"}},
		{"region", `{"Region":"ap-beijing","Name":"John Smith","ContactInfo":"test@qq.com"}`, apierror.UnsupportedRegion, []string{"ap-guangzhou"}},
		{"action not a string", `{"Action":1,"Name":"John Smith","ContactInfo":"test@qq.com"}`, apierror.InvalidParameter, []string{"Action must be a string"}},
		{"batch and contact", `{"Name":"x","Contacts":[]}`, apierror.InvalidParameter, []string{"Name cannot be given beside Contacts"}},
		{"contacts not list", `{"Contacts":{}}`, apierror.InvalidParameter, []string{"Contacts must be a list"}},
		{"empty batch", `{"Contacts":[]}`, apierror.InvalidParameterValue, []string{"1 to 1000", "holds 0"}},
		{"batch unknown", `{"Contacts":[{}],"Foo":1}`, apierror.UnknownParameter, []string{`"Foo"`}},
		{"missing name and bad email at once", `{"ContactInfo":"bad"}`, apierror.MissingParameter, []string{"Name is required", "ContactInfo must be an email address"}},
		{"wrong type and other rules at once", `{"Name":7,"ContactInfo":"bad","Product":"redis"}`, apierror.InvalidParameter, []string{"Name must be a string", "ContactInfo must be an email address", `Product must be "mysql"`}},
		// A lone surrogate is not JSON at all (encoding/json/v2's rule), not a
		// name that breaks the character rule.
		{"lone surrogate in name", `{"Name":"John\ud800","ContactInfo":"test@qq.com"}`, apierror.InvalidParameter, []string{"the event is not valid JSON", "surrogate"}},
		{"repeated member", `{"Name":"a","ContactInfo":"test@qq.com","Name":"b"}`, apierror.InvalidParameter, []string{`the event has the member "Name" more than once`}},
		{"contacts unreadable", `{"Contacts":[{"Name":"a"},]}`, apierror.InvalidParameter, []string{"not valid JSON"}},
		{"too many unknowns named", `{"Name":"John Smith","ContactInfo":"test@qq.com","a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1}`, apierror.UnknownParameter, []string{`"e" is not a parameter`, "and 2 more unknown parameters"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parse(t, v, tc.body)
			e := apierror.From(err)
			if e == nil {
				t.Fatalf("accepted %s", tc.body)
			}
			if e.Code != tc.code || e.Kind != apierror.Invalid {
				t.Errorf("code %s kind %d, want Invalid %s (%s)", e.Code, e.Kind, tc.code, e.Message)
			}
			for _, m := range tc.mention {
				if !strings.Contains(e.Message, m) {
					t.Errorf("message %q does not mention %q", e.Message, m)
				}
			}
			if strings.Contains(e.Message, "test@qq.com") {
				t.Errorf("message echoes the email: %q", e.Message)
			}
		})
	}
}

func TestCommonParametersAccepted(t *testing.T) {
	t.Parallel()
	v := newValidator(t)
	_, err := parse(t, v, `{"Action":"AddUserContact","Version":"2019-10-16","Region":"ap-guangzhou","Name":"John Smith","ContactInfo":"test@qq.com","Product":"mysql"}`)
	if err != nil {
		t.Fatal(err)
	}
}

func TestBatchItemsJudgedAlone(t *testing.T) {
	t.Parallel()
	v := newValidator(t)
	req, err := parse(t, v, `{"Action":"AddUserContact","Contacts":[
		{"Name":"John Smith","ContactInfo":"test@qq.com"},
		{"Name":"_bad","ContactInfo":"test@qq.com"},
		"not an object",
		{"Name":"张三","ContactInfo":"zs@qq.com","Product":"mysql","Name":"dup"},
		{"Name":"李四","ContactInfo":"ls@qq.com"}
	]}`)
	if err != nil {
		t.Fatal(err)
	}
	if !req.Batch || len(req.Items) != 5 {
		t.Fatalf("got %+v", req)
	}
	wantCodes := []string{"", apierror.InvalidParameterValue, apierror.InvalidParameter, apierror.InvalidParameter, ""}
	for i, it := range req.Items {
		if got := apierror.CodeOf(it.Err); got != wantCodes[i] {
			t.Errorf("item %d: code %q, want %q (%v)", i, got, wantCodes[i], it.Err)
		}
		if it.Err != nil && apierror.KindOf(it.Err) != apierror.Invalid {
			t.Errorf("item %d: kind %d, want Invalid", i, apierror.KindOf(it.Err))
		}
	}
	// The repeated name is that item's failure, named by its place.
	if msg := apierror.From(req.Items[3].Err).Message; msg != `Contacts[3] has the member "Name" more than once` {
		t.Errorf("repeated name in an item: %q", msg)
	}
	if msg := apierror.From(req.Items[2].Err).Message; msg != "Contacts[2] must be a JSON object, not a string" {
		t.Errorf("an item that is not an object: %q", msg)
	}
	if req.Items[1].Name != "_bad" || req.Items[4].Contact.Name != "李四" {
		t.Errorf("names not kept: %+v", req.Items)
	}
}

func TestBatchLimit(t *testing.T) {
	t.Parallel()
	v := newValidator(t)
	item := `{"Name":"John Smith","ContactInfo":"test@qq.com"},`
	body := `{"Contacts":[` + strings.TrimSuffix(strings.Repeat(item, MaxBatch+1), ",") + `]}`
	_, err := parse(t, v, body)
	if apierror.CodeOf(err) != apierror.InvalidParameterValue || !strings.Contains(err.Error(), "holds 1001") {
		t.Fatalf("got %v", err)
	}
	body = `{"Contacts":[` + strings.TrimSuffix(strings.Repeat(item, MaxBatch), ",") + `]}`
	req, err := parse(t, v, body)
	if err != nil || len(req.Items) != MaxBatch {
		t.Fatalf("1000 items: %v", err)
	}
}

// A key flood is refused at once, for the whole request, wherever it sits:
// no item is read.
func TestKeyFloodRefusedAtOnce(t *testing.T) {
	t.Parallel()
	v := newValidator(t)
	for body, want := range map[string]string{
		"{" + members(MaxMembers+1) + "}":                "the event holds more than 10000 members in an object at its top level: no request of this function has so many",
		`{"Contacts":[{` + members(MaxMembers+1) + `}]}`: `the event holds more than 10000 members in an object at "/Contacts/0": no request of this function has so many`,
		`{"Contacts":[` + elements(MaxMembers+1) + `]}`:  `the event holds more than 10000 members in a list at "/Contacts": no request of this function has so many`,
	} {
		_, err := parse(t, v, body)
		if e := apierror.From(err); e == nil || e.Kind != apierror.Invalid || e.Code != apierror.InvalidParameter || e.Message != want {
			t.Errorf("got %v, want %q", err, want)
		}
	}
	// At the bound the unknown members are reported, five by name.
	_, err := parse(t, v, `{"Name":"John Smith","ContactInfo":"test@qq.com",`+members(MaxMembers-2)+`}`)
	if e := apierror.From(err); e == nil || e.Code != apierror.UnknownParameter || !strings.Contains(e.Message, "and 9993 more unknown parameters") {
		t.Errorf("at the bound: %v", err)
	}
}

func quote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}
