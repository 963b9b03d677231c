package contact

import (
	"bytes"
	"cmp"
	"errors"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

// Params are the parameters of one request, whatever carried them (an
// event, a JSON or form body, a query string, a message): its members in
// order, each a raw JSON value, so that one decoder checks them all.
//
// JSON is read by encoding/json/v2's implementation, which refuses invalid
// UTF-8, malformed input and names in another case. Repeated names are
// refused too (a contact built from half of two is worse than an error),
// checked here one object at a time: a batch item's repetition is that
// item's failure, not the request's.
type Params struct {
	names  []string
	values map[string]jsontext.Value
}

// MaxMembers bounds the members of any object and the elements of any list
// that is read. To find repeated names the library keeps every name of an
// object, which for the 500,000 keys of a 6 MB event costs about 100 MB,
// more than SCF's smallest instance has; no request comes near the bound (a
// batch holds 1000 contacts, a CKafka delivery 10,000 records).
const MaxMembers = 10_000

// ParseJSON decodes data, which must hold exactly one JSON object; what
// names it in messages ("the body"). Failures are Invalid InvalidParameter.
func ParseJSON(data []byte, what string) (Params, error) {
	if err := Check(data, what); err != nil {
		return Params{}, err
	}
	dec := jsontext.NewDecoder(bytes.NewReader(data), jsontext.AllowDuplicateNames(true))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return Params{}, cmp.Or(syntaxError(what, err), invalid("%s must be a JSON object, not %s", what, kindName(tok.Kind())))
	}
	p := Params{values: map[string]jsontext.Value{}}
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return Params{}, syntaxError(what, err)
		}
		name := tok.String() // before the next read voids the token
		v, err := dec.ReadValue()
		if err != nil {
			return Params{}, syntaxError(what, err)
		}
		if _, dup := p.values[name]; dup {
			return Params{}, invalid("%s has the member %s more than once", what, apierror.Quote(name))
		}
		p.names = append(p.names, name)
		p.values[name] = v.Clone()
	}
	return p, nil // Check saw that nothing follows
}

// Check refuses what no reader here should spend memory on: nothing, a
// byte-order mark, invalid UTF-8, or what Walk refuses.
func Check(data []byte, what string) error {
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return invalid("%s is empty: it must be a JSON object", what)
	case bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")):
		return invalid("%s starts with a UTF-8 byte-order mark: send the JSON without it", what)
	case !utf8.Valid(data):
		return invalid("%s is not valid UTF-8", what)
	}
	return Walk(data, what)
}

// Walk refuses JSON that is malformed, holds data after its value, or more
// than MaxMembers members or elements in one object or list. It reads the
// tokens once, keeping no names, and lets invalid UTF-8 and repeated names
// pass, so that a lenient reading can use it too.
func Walk(data []byte, what string) error {
	dec := jsontext.NewDecoder(bytes.NewReader(data), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	complete := false // a whole top-level value has been read
	for {
		tok, err := dec.ReadToken()
		switch {
		case err == io.EOF:
			return nil
		case complete: // the library reads a stream of values; a request is one
			return invalid("%s has data after the JSON object (offset %d)", what, dec.InputOffset())
		case err != nil:
			return syntaxError(what, err)
		}
		complete = dec.StackDepth() == 0
		kind, n := dec.StackIndex(dec.StackDepth())
		if kind == '{' {
			n /= 2 // a name and a value each
		}
		if n > MaxMembers && tok.Kind() != '}' && tok.Kind() != ']' {
			at := "at its top level"
			if p := dec.StackPointer().Parent(); p != "" {
				at = "at " + apierror.Quote(string(p))
			}
			return invalid("%s holds more than %d members in %s %s: no request of this function has so many", what, MaxMembers, kindName(kind), at)
		}
	}
}

func invalid(format string, args ...any) error {
	return apierror.E(apierror.Invalid, apierror.InvalidParameter, format, args...)
}

// syntaxError words the library's errors, or returns nil for nil.
func syntaxError(what string, err error) error {
	var se *jsontext.SyntacticError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apierror.Wrap(apierror.Invalid, apierror.InvalidParameter, err, "%s is not valid JSON: it ends too early", what)
	case errors.As(err, &se) && errors.Is(se.Err, jsontext.ErrDuplicateName):
		return apierror.Wrap(apierror.Invalid, apierror.InvalidParameter, err, "%s has the member %s more than once (at %s)", what,
			apierror.Quote(se.JSONPointer.LastToken()), apierror.Quote(string(se.JSONPointer)))
	case errors.As(err, &se):
		return apierror.Wrap(apierror.Invalid, apierror.InvalidParameter, err, "%s is not valid JSON: %s (offset %d)", what,
			strings.TrimPrefix(se.Err.Error(), "jsontext: "), se.ByteOffset)
	}
	return apierror.Wrap(apierror.Invalid, apierror.InvalidParameter, err, "%s is not valid JSON: %v", what, err)
}

// Unmarshal decodes data, which Check has passed, into v with the library's
// strict defaults, wording a type mismatch in plain words: "the timer event
// is malformed: TriggerName must hold a string, not a number".
func Unmarshal(data []byte, v any, what string) error {
	err := json.Unmarshal(data, v)
	var se *json.SemanticError
	if err == nil || !errors.As(err, &se) {
		return syntaxError(what, err) // a name repeated in a nested object, say
	}
	want := ""
	if se.GoType != nil {
		switch k := se.GoType.Kind(); {
		case k == reflect.String:
			want = "a string"
		case k == reflect.Bool:
			want = "a boolean"
		case k == reflect.Slice || k == reflect.Array:
			want = "a list"
		case k >= reflect.Int && k <= reflect.Float64:
			want = "a number"
		}
	}
	return apierror.Wrap(apierror.Invalid, apierror.InvalidParameter, err, "%s is malformed: %s must hold %s, not %s",
		what, strings.ReplaceAll(strings.TrimPrefix(string(se.JSONPointer), "/"), "/", "."), cmp.Or(want, "an object"), kindName(se.JSONKind))
}

// ParseValues builds Params from URL-style values (a query string or a form
// body), names sorted. A name given once becomes a JSON string, a name given
// several times a JSON list, which the decoder refuses for a string field
// instead of silently picking one.
func ParseValues(v map[string][]string, what string) (Params, error) {
	if len(v) > MaxMembers {
		return Params{}, invalid("%s holds more than %d parameters: no request of this function has so many", what, MaxMembers)
	}
	p := Params{names: slices.Sorted(maps.Keys(v)), values: make(map[string]jsontext.Value, len(v))}
	for name, vals := range v {
		var val any = vals
		if len(vals) < 2 {
			val = strings.Join(vals, "")
		}
		if !utf8.ValidString(name) {
			return Params{}, invalid("%s has a parameter name that is not valid UTF-8", what)
		}
		raw, err := json.Marshal(val) // fails only on invalid UTF-8, which would be replaced silently
		if err != nil {
			return Params{}, invalid("%s has a value of %s that is not valid UTF-8", what, apierror.Quote(name))
		}
		p.values[name] = raw
	}
	return p, nil
}

// FromMap builds Params from members read leniently, in name order.
func FromMap(m map[string]jsontext.Value) Params {
	return Params{names: slices.Sorted(maps.Keys(m)), values: m}
}

// Names returns the member names in order.
func (p Params) Names() []string { return slices.Clone(p.names) }

// Has reports whether the member is present.
func (p Params) Has(name string) bool { _, ok := p.values[name]; return ok }

// Raw returns the raw JSON value of a member.
func (p Params) Raw(name string) (jsontext.Value, bool) {
	v, ok := p.values[name]
	return v, ok
}

// Merge adds other's members after p's. A name in both is refused: the
// query string and the body disagree, or repeat themselves, and neither can
// be trusted over the other.
func (p Params) Merge(other Params, what string) (Params, error) {
	out := Params{names: slices.Concat(p.names, other.names), values: maps.Clone(p.values)}
	if out.values == nil {
		out.values = map[string]jsontext.Value{}
	}
	for _, name := range other.names {
		if _, dup := out.values[name]; dup {
			return Params{}, invalid("the parameter %s is given twice (%s)", apierror.Quote(name), what)
		}
		out.values[name] = other.values[name]
	}
	return out, nil
}

// String returns a member that must be a JSON string. An absent or null
// member reports present == false; another type is an InvalidParameter error
// naming the member and the type found.
func (p Params) String(name string) (value string, present bool, err error) {
	raw, ok := p.values[name]
	if !ok || raw.Kind() == 'n' {
		return "", false, nil
	}
	if raw.Kind() != '"' {
		return "", true, invalid("%s must be a string, not %s", name, JSONKind(raw))
	}
	return value, true, json.Unmarshal(raw, &value) // Check has validated it
}

// JSONKind names the JSON type of a raw value in plain words.
func JSONKind(raw []byte) string {
	if len(bytes.TrimSpace(raw)) == 0 {
		return "empty"
	}
	return kindName(jsontext.Value(bytes.TrimSpace(raw)).Kind())
}

func kindName(k jsontext.Kind) string {
	switch k {
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
	case '0':
		return "a number"
	}
	return "nothing"
}
