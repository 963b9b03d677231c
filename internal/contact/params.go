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

// Params are one request's parameters, whatever carried them: its members in
// order, each a raw JSON value.
type Params struct {
	names  []string
	values map[string]jsontext.Value
}

// MaxMembers bounds the members of any object or list read: finding repeated
// names keeps every name, about 100 MB for the 500,000 keys of a 6 MB event.
const MaxMembers = 10_000

// ParseJSON decodes exactly one JSON object, named what in messages ("the
// body"). A repeated name is refused one object at a time, so that a batch
// item's is that item's own failure.
func ParseJSON(data []byte, what string) (Params, error) {
	if err := Check(data, what); err != nil {
		return Params{}, err
	}
	// From a bytes.Buffer the decoder reads data in place, and values are
	// slices of it, not copies: a 6 MB event is not held twice.
	dec := jsontext.NewDecoder(bytes.NewBuffer(data), jsontext.AllowDuplicateNames(true))
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
		if p.Has(name) {
			return Params{}, invalid("%s has the member %s more than once", what, apierror.Quote(name))
		}
		p.names = append(p.names, name)
		p.values[name] = v[:len(v):len(v)] // an append cannot reach the next member
	}
	return p, nil // Check saw that nothing follows
}

// Check refuses nothing, a byte-order mark, invalid UTF-8, and what Walk refuses.
func Check(data []byte, what string) error {
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return invalid("%s is empty: it must be a JSON object", what)
	case bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")):
		return invalid("%s starts with a UTF-8 byte-order mark: send the JSON without it", what)
	case !utf8.Valid(data):
		return invalid("%s is not valid UTF-8", what)
	}
	return Walk(data, what, 0)
}

// Walk refuses JSON that is malformed, followed by data, or with more than
// MaxMembers in an object or list nested at most depth deep (0: any); it lets
// invalid UTF-8 and repeated names pass, for lenient readings too.
func Walk(data []byte, what string, depth int) error {
	dec := jsontext.NewDecoder(bytes.NewBuffer(data), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	for complete := false; ; complete = dec.StackDepth() == 0 {
		tok, err := dec.ReadToken()
		switch {
		case err == io.EOF:
			return nil
		case complete: // the library reads a stream of values; a request is one
			return invalid("%s has data after the JSON object (offset %d)", what, dec.InputOffset())
		case err != nil:
			return syntaxError(what, err)
		}
		d := dec.StackDepth() // the container the token is a member of
		if k := tok.Kind(); k == '{' || k == '[' {
			d-- // counted in its parent, which a list of objects would never reach otherwise
		}
		kind, n := dec.StackIndex(d)
		if kind == '{' {
			n /= 2 // a name and a value each
		}
		if n > MaxMembers && (depth == 0 || d <= depth) {
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
	se, isSyntax := errors.AsType[*jsontext.SyntacticError](err)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apierror.Wrap(apierror.Invalid, apierror.InvalidParameter, err, "%s is not valid JSON: it ends too early", what)
	case isSyntax && errors.Is(se.Err, jsontext.ErrDuplicateName):
		return apierror.Wrap(apierror.Invalid, apierror.InvalidParameter, err, "%s has the member %s more than once (at %s)", what,
			apierror.Quote(se.JSONPointer.LastToken()), apierror.Quote(string(se.JSONPointer)))
	case isSyntax:
		return apierror.Wrap(apierror.Invalid, apierror.InvalidParameter, err, "%s is not valid JSON: %s (offset %d)", what,
			strings.TrimPrefix(se.Err.Error(), "jsontext: "), se.ByteOffset)
	}
	return apierror.Wrap(apierror.Invalid, apierror.InvalidParameter, err, "%s is not valid JSON: %v", what, err)
}

// Unmarshal decodes checked data into v, wording a mismatch plainly: "the
// timer event is malformed: TriggerName must hold a string, not a number".
func Unmarshal(data []byte, v any, what string, opts ...json.Options) error {
	err := json.Unmarshal(data, v, opts...)
	se, ok := errors.AsType[*json.SemanticError](err)
	if !ok {
		return syntaxError(what, err) // a name repeated in a nested object, say
	}
	want := "an object"
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
		what, strings.ReplaceAll(strings.TrimPrefix(string(se.JSONPointer), "/"), "/", "."), want, kindName(se.JSONKind))
}

// ParseValues builds Params from a query string or form, names sorted; a
// repeated name becomes a list.
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
func (p Params) Raw(name string) (jsontext.Value, bool) { v, ok := p.values[name]; return v, ok }

// Merge adds other's members after p's, refusing a name in both: neither can be
// trusted over the other.
func (p Params) Merge(other Params, what string) (Params, error) {
	if i := slices.IndexFunc(other.names, p.Has); i >= 0 {
		return Params{}, invalid("the parameter %s is given twice (%s)", apierror.Quote(other.names[i]), what)
	}
	out := Params{names: slices.Concat(p.names, other.names), values: map[string]jsontext.Value{}}
	maps.Copy(out.values, p.values)
	maps.Copy(out.values, other.values)
	return out, nil
}

// String returns a member that must be a JSON string; absent or null, it is not present.
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
	if raw = bytes.TrimSpace(raw); len(raw) == 0 {
		return "empty"
	}
	return kindName(jsontext.Value(raw).Kind())
}

func kindName(k jsontext.Kind) string {
	names := map[jsontext.Kind]string{'"': "a string", '{': "an object", '[': "a list", 't': "a boolean", 'f': "a boolean", 'n': "null", '0': "a number"}
	return cmp.Or(names[k], "nothing")
}
