package contact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

// Params are the parameters of one request as a JSON object, whatever
// carried them: an event, a JSON or form body, a query string, a message.
//
// Every input becomes the same shape, an ordered set of members with raw JSON
// values, so that one decoder checks names and types for all of them.
// Duplicate member names are refused because encoding/json keeps the last one
// silently, and a contact silently built from half of two is worse than an
// error.
type Params struct {
	names  []string
	values map[string]json.RawMessage
}

const utf8BOM = "\xEF\xBB\xBF"

// ParseJSON decodes data, which must hold exactly one JSON object. what names
// the input in messages ("the body", "the timer's Message"). Every failure is
// an InvalidParameter *apierror.Error.
func ParseJSON(data []byte, what string) (Params, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Params{}, apierror.New(apierror.InvalidParameter, "%s is empty: it must be a JSON object", what)
	}
	if bytes.HasPrefix(data, []byte(utf8BOM)) {
		return Params{}, apierror.New(apierror.InvalidParameter, "%s starts with a UTF-8 byte-order mark: send the JSON without it", what)
	}
	if !utf8.Valid(data) {
		return Params{}, apierror.New(apierror.InvalidParameter, "%s is not valid UTF-8", what)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return Params{}, syntaxError(what, err, dec)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return Params{}, apierror.New(apierror.InvalidParameter, "%s must be a JSON object, not %s", what, tokenKind(tok))
	}
	p := Params{values: map[string]json.RawMessage{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Params{}, syntaxError(what, err, dec)
		}
		name, ok := tok.(string)
		if !ok {
			return Params{}, apierror.New(apierror.InvalidParameter, "%s is not valid JSON: expected a member name at offset %d", what, dec.InputOffset())
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return Params{}, syntaxError(what, err, dec)
		}
		if _, dup := p.values[name]; dup {
			return Params{}, apierror.New(apierror.InvalidParameter, "%s has the member %s more than once", what, apierror.Quote(name))
		}
		p.names = append(p.names, name)
		p.values[name] = raw
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return Params{}, syntaxError(what, err, dec)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Params{}, apierror.New(apierror.InvalidParameter, "%s has data after the JSON object (offset %d)", what, dec.InputOffset())
	}
	return p, nil
}

func syntaxError(what string, err error, dec *json.Decoder) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return apierror.Wrap(apierror.InvalidParameter, err, "%s is not valid JSON: it ends too early", what)
	}
	return apierror.Wrap(apierror.InvalidParameter, err, "%s is not valid JSON: %v (offset %d)", what, err, dec.InputOffset())
}

func tokenKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "a list"
		}
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a number"
}

// ParseValues builds Params from URL-style values (a query string or a form
// body). A name given once becomes a JSON string, a name given several times
// a JSON list (which the decoder then refuses for a string field, instead of
// silently picking one). Names are sorted, since url.Values has no order.
// Invalid UTF-8 is refused: encoding/json would replace it silently.
func ParseValues(v map[string][]string, what string) (Params, error) {
	p := Params{values: make(map[string]json.RawMessage, len(v))}
	for name, vals := range v {
		if !utf8.ValidString(name) {
			return Params{}, apierror.New(apierror.InvalidParameter, "%s has a parameter name that is not valid UTF-8", what)
		}
		for _, s := range vals {
			if !utf8.ValidString(s) {
				return Params{}, apierror.New(apierror.InvalidParameter, "%s has a value of %s that is not valid UTF-8", what, apierror.Quote(name))
			}
		}
		var raw []byte
		switch len(vals) {
		case 0:
			raw, _ = json.Marshal("")
		case 1:
			raw, _ = json.Marshal(vals[0])
		default:
			raw, _ = json.Marshal(vals)
		}
		p.names = append(p.names, name)
		p.values[name] = raw
	}
	slices.Sort(p.names)
	return p, nil
}

// Names returns the member names in order.
func (p Params) Names() []string { return slices.Clone(p.names) }

// Has reports whether the member is present.
func (p Params) Has(name string) bool { _, ok := p.values[name]; return ok }

// Raw returns the raw JSON value of a member.
func (p Params) Raw(name string) (json.RawMessage, bool) {
	v, ok := p.values[name]
	return v, ok
}

// Merge adds other's members after p's. A name present in both is an
// InvalidParameter error: the query string and the body disagree, or repeat
// themselves, and neither can be trusted over the other.
func (p Params) Merge(other Params, what string) (Params, error) {
	out := Params{names: slices.Clone(p.names), values: make(map[string]json.RawMessage, len(p.names)+len(other.names))}
	for k, v := range p.values {
		out.values[k] = v
	}
	for _, name := range other.names {
		if _, dup := out.values[name]; dup {
			return Params{}, apierror.New(apierror.InvalidParameter, "the parameter %s is given twice (%s)", apierror.Quote(name), what)
		}
		out.names = append(out.names, name)
		out.values[name] = other.values[name]
	}
	return out, nil
}

// String returns a member that must be a JSON string. A member that is absent
// or null reports present == false. Any other JSON type is an
// InvalidParameter error naming the member and the type found.
func (p Params) String(name string) (value string, present bool, err error) {
	raw, ok := p.values[name]
	if !ok || JSONKind(raw) == "null" {
		return "", false, nil
	}
	if k := JSONKind(raw); k != "a string" {
		return "", true, apierror.New(apierror.InvalidParameter, "%s must be a string, not %s", name, k)
	}
	if err := json.Unmarshal(raw, &value); err != nil {
		return "", true, apierror.Wrap(apierror.InvalidParameter, err, "%s is not a valid JSON string", name)
	}
	return value, true, nil
}

// Decode fills the struct v points to from the members, each into the field
// whose json tag (or, untagged, whose name) is exactly the member's name:
// unlike encoding/json, "Body" does not fill a field tagged "body". Members without a field are left alone. It lets an
// event be split into members once and each member decoded once.
func (p Params) Decode(v any, what string) error {
	rv := reflect.ValueOf(v).Elem()
	rt := rv.Type()
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if name == "" {
			name = rt.Field(i).Name
		}
		raw, ok := p.values[name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, rv.Field(i).Addr().Interface()); err != nil {
			return apierror.Wrap(apierror.InvalidParameter, err, "%s is malformed: %s%s", what, name, plain(err, raw))
		}
	}
	return nil
}

// plain says what is wrong with a member in words, not Go types: a type
// mismatch anywhere inside it, or the member's own rule.
func plain(err error, raw json.RawMessage) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		want := "an object"
		switch te.Type.Kind() {
		case reflect.String:
			want = "a string"
		case reflect.Bool:
			want = "a boolean"
		case reflect.Slice, reflect.Array:
			want = "a list"
		case reflect.Int, reflect.Int64, reflect.Float64:
			want = "a number"
		}
		if te.Field != "" { // the mismatch is inside the member
			return fmt.Sprintf(" must hold %s at %s, not a JSON %s", want, te.Field, te.Value)
		}
		return fmt.Sprintf(" must hold %s, not %s", want, JSONKind(raw))
	}
	return ": " + err.Error()
}

// JSONKind names the JSON type of a raw value in plain words.
func JSONKind(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "empty"
	}
	switch t[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "a list"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// suggest returns the known name that differs from name only in letter case,
// or "", so that "name" can be answered with "did you mean Name?".
func suggest(name string, known []string) string {
	for _, k := range known {
		if strings.EqualFold(k, name) && k != name {
			return k
		}
	}
	return ""
}
