package contact

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/event"
)

// wantInvalid fails unless err is an Invalid *apierror.Error of the code
// whose message holds every one of mention.
func wantInvalid(t *testing.T, err error, code string, mention ...string) {
	t.Helper()
	e := apierror.From(err)
	if e == nil {
		t.Fatalf("accepted, want %s", code)
	}
	if e.Kind != apierror.Invalid || e.Code != code {
		t.Errorf("got kind %d %s (%s), want Invalid %s", e.Kind, e.Code, e.Message, code)
	}
	for _, m := range mention {
		if !strings.Contains(e.Message, m) {
			t.Errorf("message %q does not mention %q", e.Message, m)
		}
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		in, mention string
	}{
		"empty":          {"", "is empty"},
		"blank":          {" \n\t", "is empty"},
		"null":           {"null", "must be a JSON object, not null"},
		"list":           {"[1]", "not a list"},
		"string":         {`"x"`, "not a string"},
		"number":         {"12", "not a number"},
		"boolean":        {"true", "not a boolean"},
		"truncated":      {`{"Name":"Jo`, "ends too early"},
		"malformed":      {`{"Name" "x"}`, "not valid JSON"},
		"trailing":       {`{"a":"b"} {"c":1}`, "data after the JSON object"},
		"trailing word":  {`{"a":1} x`, "data after the JSON object (offset 7)"},
		"duplicate":      {`{"Name":"a","Name":"b"}`, `member "Name" more than once`},
		"bom":            {"\xEF\xBB\xBF{}", "byte-order mark"},
		"invalid utf8":   {"{\"Name\":\"\xff\xfe\"}", "not valid UTF-8"},
		"deep":           {strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000), "not valid JSON"},
		"unclosed":       {`{"a":1`, "ends too early"},
		"non-string key": {`{1:2}`, "not valid JSON"},
		"trailing comma": {`{"a":1,}`, "not valid JSON"},
		"lone surrogate": {`{"Name":"\ud800"}`, "not valid JSON"},
		"lone low half":  {`{"Name":"\udc00x"}`, "not valid JSON"},
		"key flood":      {"{" + members(MaxMembers+1) + "}", "more than 10000 members"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseJSON([]byte(tc.in), "the body")
			wantInvalid(t, err, apierror.InvalidParameter, "the body ", tc.mention)
		})
	}
}

// Syntax errors are worded by the JSON library, with the byte offset.
func TestSyntaxErrorWording(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`{"Name": NaN}`: `the event is not valid JSON: invalid character 'N' at start of value (offset 9)`,
		`{"Name" "x"}`:  `the event is not valid JSON: invalid character '"' after object name (expecting ':') (offset 8)`,
		`{1:2}`:         `the event is not valid JSON: object member name must be a string (offset 1)`,
		`{"a":1,}`:      `the event is not valid JSON: invalid character ',' at start of value (offset 6)`,
		`{"Name":"Jo`:   `the event is not valid JSON: it ends too early`,
		`{"a":1}{}`:     `the event has data after the JSON object (offset 8)`,
		`{"a":2,"a":1}`: `the event has the member "a" more than once`,
	} {
		_, err := ParseJSON([]byte(in), "the event")
		if got := apierror.From(err); got == nil || got.Message != want || got.Kind != apierror.Invalid {
			t.Errorf("ParseJSON(%s) = %v, want %q", in, err, want)
		}
	}
}

// Repeated names are judged per object, when that object is read: a
// nested object is a batch item or a message, whose own reading refuses
// them, so that one item's fault is that item's failure.
func TestDuplicatesArePerLevel(t *testing.T) {
	t.Parallel()
	p, err := ParseJSON([]byte(`{"Contacts":[{"Name":"a","Name":"b"}],"x":{"b":1,"b":2}}`), "the event")
	if err != nil {
		t.Fatalf("a nested repeated name failed the whole object: %v", err)
	}
	raw, _ := p.Raw("x")
	_, err = ParseJSON(raw, "the message")
	wantInvalid(t, err, apierror.InvalidParameter, `the message has the member "b" more than once`)
}

func TestParseKeepsOrderAndRaw(t *testing.T) {
	t.Parallel()
	o, err := ParseJSON([]byte(`{"b":1,"a":"x","c":{"d":[1,2]},"n":null}`), "the body")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"b", "a", "c", "n"}, o.Names()); diff != "" {
		t.Error(diff)
	}
	if raw, _ := o.Raw("c"); string(raw) != `{"d":[1,2]}` {
		t.Errorf("raw c = %s", raw)
	}
	if !o.Has("n") || o.Has("zz") {
		t.Error("Has")
	}
	s, present, err := o.String("a")
	if s != "x" || !present || err != nil {
		t.Errorf("String(a) = %q %v %v", s, present, err)
	}
	_, _, err = o.String("b")
	wantInvalid(t, err, apierror.InvalidParameter, "b must be a string, not a number")
	if _, present, _ := o.String("zz"); present {
		t.Error("absent reported present")
	}
	if _, present, err := o.String("n"); present || err != nil {
		t.Errorf("null: present %v, err %v", present, err)
	}
	// Names returns a copy.
	names := o.Names()
	names[0] = "changed"
	if o.Names()[0] != "b" {
		t.Error("Names shares its slice")
	}
}

func TestFromValuesAndMerge(t *testing.T) {
	t.Parallel()
	q, err := ParseValues(map[string][]string{"Name": {"John Smith"}, "Tag": {"a", "b"}, "Flag": {}}, "the query string")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseValues(map[string][]string{"Name": {"\xff"}}, "the form")
	wantInvalid(t, err, apierror.InvalidParameter, "the form has a value of \"Name\" that is not valid UTF-8")
	_, err = ParseValues(map[string][]string{"N\xffame": {"x"}}, "the form")
	wantInvalid(t, err, apierror.InvalidParameter, "parameter name that is not valid UTF-8")
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
	if err != nil || !slices.Equal(m.Names(), []string{"Flag", "Name", "Tag", "ContactInfo"}) {
		t.Fatalf("merge: %v %v", m.Names(), err)
	}
	_, err = m.Merge(body, "query string and body")
	wantInvalid(t, err, apierror.InvalidParameter, `the parameter "ContactInfo" is given twice (query string and body)`)
	if len(q.Names()) != 3 {
		t.Error("Merge changed its receiver")
	}
}

func TestFromMap(t *testing.T) {
	t.Parallel()
	p := FromMap(map[string]jsontext.Value{"msgBody": jsontext.Value(`"x"`), "Ckafka": jsontext.Value(`{}`), "a": jsontext.Value(`1`)})
	if diff := cmp.Diff([]string{"Ckafka", "a", "msgBody"}, p.Names()); diff != "" {
		t.Errorf("names not sorted (-want +got):\n%s", diff)
	}
	if s, present, err := p.String("msgBody"); s != "x" || !present || err != nil {
		t.Errorf("String = %q %v %v", s, present, err)
	}
}

func TestIsParameterAndJSONKind(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"Name": true, "name": true, "CONTACTINFO": true, "Product": true, "contacts": true,
		"Action": true, "version": true, "Region": true, "Phone": false, "": false, "Names": false,
	} {
		if got := IsParameter(name); got != want {
			t.Errorf("IsParameter(%q) = %v", name, got)
		}
	}
	for raw, want := range map[string]string{
		`"x"`: "a string", ` {}`: "an object", `[1]`: "a list", `true`: "a boolean", `false`: "a boolean",
		`null`: "null", `-1.5e3`: "a number", `  `: "empty", ``: "empty",
	} {
		if got := JSONKind([]byte(raw)); got != want {
			t.Errorf("JSONKind(%q) = %q, want %q", raw, got, want)
		}
	}
}

// members returns n JSON object members, "k0":0,"k1":1,...
func members(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":%d`, i, i)
	}
	return b.String()
}

// elements returns n JSON list elements.
func elements(n int) string { return strings.TrimSuffix(strings.Repeat("0,", n), ",") }

// Check and Walk refuse an object or a list of more than MaxMembers
// members at once, wherever it sits, and accept MaxMembers.
func TestCheckAndWalkLimits(t *testing.T) {
	t.Parallel()
	type shape struct {
		in string
		at string // where the flood sits, as the message says
	}
	shapes := func(n int) map[string]shape {
		obj, list := "{"+members(n)+"}", "["+elements(n)+"]"
		return map[string]shape{
			"object at the top":       {obj, "an object at its top level"},
			"list at the top":         {list, "a list at its top level"},
			"object in an object":     {`{"Contacts":` + obj + `}`, `an object at "/Contacts"`},
			"list in an object":       {`{"Contacts":` + list + `}`, `a list at "/Contacts"`},
			"object in a list":        {`{"Contacts":[{},` + obj + `]}`, `an object at "/Contacts/1"`},
			"list in a list":          {`[[],` + list + `]`, `a list at "/1"`},
			"deep in a message":       {`{"Records":[{"Ckafka":{"msgBody":` + obj + `}}]}`, `an object at "/Records/0/Ckafka/msgBody"`},
			"escaped name in pointer": {`{"a/b~c":` + list + `}`, `a list at "/a~1b~0c"`},
		}
	}
	for name, s := range shapes(MaxMembers) {
		if err := Walk([]byte(s.in), "the event", 0); err != nil {
			t.Errorf("Walk refused %d members, %s: %v", MaxMembers, name, err)
		}
		if err := Check([]byte(s.in), "the event"); err != nil {
			t.Errorf("Check refused %d members, %s: %v", MaxMembers, name, err)
		}
	}
	for name, s := range shapes(MaxMembers + 1) {
		want := "the event holds more than 10000 members in " + s.at + ": no request of this function has so many"
		walk := func(data []byte, what string) error { return Walk(data, what, 0) }
		for fn, f := range map[string]func([]byte, string) error{"Walk": walk, "Check": Check} {
			err := f([]byte(s.in), "the event")
			if e := apierror.From(err); e == nil || e.Kind != apierror.Invalid || e.Code != apierror.InvalidParameter || e.Message != want {
				t.Errorf("%s, %s: %v, want %q", fn, name, err, want)
			}
		}
	}
	// ParseJSON checks first: a flood is refused before a name is kept.
	_, err := ParseJSON([]byte(`{"Contacts":[`+"{"+members(MaxMembers+1)+"}"+`]}`), "the event")
	wantInvalid(t, err, apierror.InvalidParameter, `more than 10000 members in an object at "/Contacts/0"`)
	if _, err := ParseJSON([]byte("{"+members(MaxMembers)+"}"), "the event"); err != nil {
		t.Errorf("ParseJSON refused %d members: %v", MaxMembers, err)
	}

	// Query strings and forms have the same bound.
	vals := map[string][]string{}
	for i := range MaxMembers {
		vals[fmt.Sprint("k", i)] = []string{"v"}
	}
	if _, err := ParseValues(vals, "the query string"); err != nil {
		t.Errorf("ParseValues refused %d parameters: %v", MaxMembers, err)
	}
	vals["one-more"] = nil
	_, err = ParseValues(vals, "the query string")
	wantInvalid(t, err, apierror.InvalidParameter, "the query string holds more than 10000 parameters")
}

// Check refuses what no reader should spend memory on; Walk is the lenient
// part of it, which a reading of records that tolerates invalid UTF-8 and
// repeated names also uses.
func TestCheckAndWalk(t *testing.T) {
	t.Parallel()
	for in, mention := range map[string]string{
		"":                        "the event is empty",
		"\xEF\xBB\xBF{}":          "byte-order mark",
		"{\"a\":\"\xff\"}":        "the event is not valid UTF-8",
		`{"a":`:                   "ends too early",
		`{"a":1}]`:                "data after the JSON object (offset 7)",
		`[1,2}`:                   "not valid JSON",
		`{"a":1,"a":2}` + ` true`: "data after",
	} {
		wantInvalid(t, Check([]byte(in), "the event"), apierror.InvalidParameter, mention)
	}
	for _, in := range []string{"{\"a\":\"\xff\"}", `{"a":1,"a":2}`, `[1,"x",{"b":[null]}]`, `"just a string"`, `{"a":"\ud800"}`} {
		if err := Walk([]byte(in), "the event", 0); err != nil {
			t.Errorf("Walk(%q) = %v", in, err)
		}
	}
	if err := Check([]byte(`{"a":1,"a":2}`), "the event"); err != nil {
		t.Errorf("Check refused a repeated name, which is the reader's business: %v", err)
	}
}

// Unmarshal words a type mismatch in plain words, naming the member by
// its path, and reads member names in their exact case.
func TestUnmarshalPlainWords(t *testing.T) {
	t.Parallel()
	type inner struct {
		N int64 `json:"n"`
	}
	type typed struct {
		S  string            `json:"s"`
		B  bool              `json:"b"`
		L  []string          `json:"l"`
		N  int64             `json:"n"`
		In inner             `json:"in"`
		P  *inner            `json:"p"`
		M  map[string]string `json:"m"`
		I  int               `json:"i"`
		F  float64           `json:"f"`
		U  uint8             `json:"u"`
	}
	for in, want := range map[string]string{
		`{"s":1}`:                 "the test event is malformed: s must hold a string, not a number",
		`{"b":"true"}`:            "the test event is malformed: b must hold a boolean, not a string",
		`{"l":{}}`:                "the test event is malformed: l must hold a list, not an object",
		`{"l":["a",2]}`:           "the test event is malformed: l.1 must hold a string, not a number",
		`{"n":"1"}`:               "the test event is malformed: n must hold a number, not a string",
		`{"in":[]}`:               "the test event is malformed: in must hold an object, not a list",
		`{"in":{"n":true}}`:       "the test event is malformed: in.n must hold a number, not a boolean",
		`{"p":"x"}`:               "the test event is malformed: p must hold an object, not a string",
		`{"m":{"k":null,"j":{}}}`: "the test event is malformed: m.j must hold a string, not an object",
		`{"i":"1"}`:               "the test event is malformed: i must hold a number, not a string",
		`{"f":[1]}`:               "the test event is malformed: f must hold a number, not a list",
		`{"u":true}`:              "the test event is malformed: u must hold a number, not a boolean",
	} {
		var v typed
		err := Unmarshal([]byte(in), &v, "the test event")
		if e := apierror.From(err); e == nil || e.Kind != apierror.Invalid || e.Code != apierror.InvalidParameter || e.Message != want {
			t.Errorf("Unmarshal(%s) = %v, want %q", in, err, want)
		}
	}

	// The real types read the same way.
	var timer event.TimerEvent
	err := Unmarshal([]byte(`{"Type":"Timer","TriggerName":7,"Time":"t","Message":"{}"}`), &timer, "the timer event")
	wantInvalid(t, err, apierror.InvalidParameter, "the timer event is malformed: TriggerName must hold a string, not a number")

	var v typed
	if err := Unmarshal([]byte(`{"s":"x","S":"ignored","b":true,"l":["a"],"n":-3,"in":{"n":4},"p":null,"m":{"k":"v"},"extra":[1]}`), &v, "the test event"); err != nil {
		t.Fatal(err)
	}
	want := typed{S: "x", B: true, L: []string{"a"}, N: -3, In: inner{4}, M: map[string]string{"k": "v"}}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	var lower typed
	if err := Unmarshal([]byte(`{"S":"x"}`), &lower, "the test event"); err != nil || lower.S != "" {
		t.Errorf("a name in another case was read: %q, %v", lower.S, err)
	}

	// Everything the library refuses is the event's fault, however deep:
	// a repeated name inside a record is that record's Invalid failure,
	// never an internal error that would redeliver it for ever.
	for what, in := range map[string]string{
		"nested duplicate": `{"Ckafka":{"topic":"t","topic":"u","msgBody":"{}"}}`,
		"trailing data":    `{"Ckafka":{"msgBody":"{}"}} x`,
	} {
		var rec event.CKafkaRecord
		err := Unmarshal([]byte(in), &rec, "the record")
		if e := apierror.From(err); e == nil || e.Kind != apierror.Invalid || e.Code != apierror.InvalidParameter || !strings.HasPrefix(e.Message, "the record ") {
			t.Errorf("%s: %v (kind %d), want an Invalid InvalidParameter about the record", what, err, apierror.KindOf(err))
		}
	}
}

// A list or object whose members are all objects or lists is bounded too:
// its members are counted where each opens.
func TestWalkCountsContainerMembers(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"list of objects":  `[` + strings.Repeat(`{},`, MaxMembers) + `{}]`,
		"list of lists":    `[` + strings.Repeat(`[],`, MaxMembers) + `[]]`,
		"nested in object": `{"a":[` + strings.Repeat(`{},`, MaxMembers) + `{}]}`,
	} {
		if err := Walk([]byte(in), "the event", 0); apierror.CodeOf(err) != apierror.InvalidParameter || !strings.Contains(err.Error(), "more than 10000 members") {
			t.Errorf("%s: %v", name, err)
		}
		if name == "nested in object" {
			if err := Walk([]byte(in), "the event", 1); err != nil {
				t.Errorf("%s, depth 1: %v", name, err)
			}
		}
	}
	if err := Walk([]byte(`[`+strings.Repeat(`{},`, MaxMembers-1)+`{}]`), "the event", 0); err != nil {
		t.Errorf("exactly %d objects: %v", MaxMembers, err)
	}
}
