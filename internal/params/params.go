// Package params holds the parameters of one API request as a JSON object,
// whatever transport brought them: a JSON body, a form body or a query string.
//
// Every input is turned into the same shape, an ordered set of members with
// raw JSON values, so that one decoder checks names and types for all of
// them. Duplicate member names are rejected here because encoding/json keeps
// the last one silently, and a contact silently built from half of two is
// worse than an error.
package params

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

// Object is a JSON object's members in input order, each value kept raw.
type Object struct {
	names  []string
	values map[string]json.RawMessage
}

const utf8BOM = "\xEF\xBB\xBF"

// Parse decodes data, which must hold exactly one JSON object. what names the
// input in error messages ("the body", "the timer's Message"). Every failure
// is an InvalidParameter *apierror.Error.
func Parse(data []byte, what string) (Object, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Object{}, apierror.New(apierror.InvalidParameter, "%s is empty: it must be a JSON object", what)
	}
	if bytes.HasPrefix(data, []byte(utf8BOM)) {
		return Object{}, apierror.New(apierror.InvalidParameter, "%s starts with a UTF-8 byte-order mark: send the JSON without it", what)
	}
	if !utf8.Valid(data) {
		return Object{}, apierror.New(apierror.InvalidParameter, "%s is not valid UTF-8", what)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return Object{}, syntaxError(what, err, dec)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return Object{}, apierror.New(apierror.InvalidParameter, "%s must be a JSON object, not %s", what, kindOfToken(tok))
	}
	o := Object{values: map[string]json.RawMessage{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Object{}, syntaxError(what, err, dec)
		}
		name, ok := tok.(string)
		if !ok {
			return Object{}, apierror.New(apierror.InvalidParameter, "%s is not valid JSON: expected a member name at offset %d", what, dec.InputOffset())
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return Object{}, syntaxError(what, err, dec)
		}
		if _, dup := o.values[name]; dup {
			return Object{}, apierror.New(apierror.InvalidParameter, "%s has the member %s more than once", what, Describe(name))
		}
		o.names = append(o.names, name)
		o.values[name] = raw
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return Object{}, syntaxError(what, err, dec)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Object{}, apierror.New(apierror.InvalidParameter, "%s has data after the JSON object (offset %d)", what, dec.InputOffset())
	}
	return o, nil
}

func syntaxError(what string, err error, dec *json.Decoder) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return apierror.Wrap(apierror.InvalidParameter, err, "%s is not valid JSON: it ends too early", what)
	}
	return apierror.Wrap(apierror.InvalidParameter, err, "%s is not valid JSON: %v (offset %d)", what, err, dec.InputOffset())
}

func kindOfToken(tok json.Token) string {
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
	default:
		return "a number"
	}
}

// FromValues builds an Object from URL-style values (a query string or a
// form body). A name given once becomes a JSON string, a name given several
// times a JSON list (which the decoder then rejects for a string field,
// instead of silently picking one). Names are ordered alphabetically because
// url.Values has no order of its own. Invalid UTF-8 is an InvalidParameter
// error: encoding/json would replace it silently.
func FromValues(v map[string][]string, what string) (Object, error) {
	o := Object{values: make(map[string]json.RawMessage, len(v))}
	for name, vals := range v {
		if !utf8.ValidString(name) {
			return Object{}, apierror.New(apierror.InvalidParameter, "%s has a parameter name that is not valid UTF-8", what)
		}
		for _, s := range vals {
			if !utf8.ValidString(s) {
				return Object{}, apierror.New(apierror.InvalidParameter, "%s has a value of %s that is not valid UTF-8", what, Describe(name))
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
		o.names = append(o.names, name)
		o.values[name] = raw
	}
	sort.Strings(o.names)
	return o, nil
}

// Len returns the number of members.
func (o Object) Len() int { return len(o.names) }

// Names returns the member names in order.
func (o Object) Names() []string { return append([]string(nil), o.names...) }

// Raw returns the raw JSON value of a member.
func (o Object) Raw(name string) (json.RawMessage, bool) {
	v, ok := o.values[name]
	return v, ok
}

// Merge adds other's members after o's. A name present in both is an
// InvalidParameter error: the query string and the body disagree, or repeat
// themselves, and neither can be trusted over the other.
func (o Object) Merge(other Object, what string) (Object, error) {
	out := Object{names: append([]string(nil), o.names...), values: make(map[string]json.RawMessage, len(o.names)+len(other.names))}
	for k, v := range o.values {
		out.values[k] = v
	}
	for _, name := range other.names {
		if _, dup := out.values[name]; dup {
			return Object{}, apierror.New(apierror.InvalidParameter, "the parameter %s is given twice (%s)", Describe(name), what)
		}
		out.names = append(out.names, name)
		out.values[name] = other.values[name]
	}
	return out, nil
}

// String returns a member that must be a JSON string. A member that is
// absent or null reports present == false. Any other JSON type is an
// InvalidParameter error naming the member and the type found.
func (o Object) String(name string) (value string, present bool, err error) {
	raw, ok := o.values[name]
	if !ok || Kind(raw) == "null" {
		return "", false, nil
	}
	if Kind(raw) != "a string" {
		return "", true, apierror.New(apierror.InvalidParameter, "%s must be a string, not %s", name, Kind(raw))
	}
	if err := json.Unmarshal(raw, &value); err != nil {
		return "", true, apierror.Wrap(apierror.InvalidParameter, err, "%s is not a valid JSON string", name)
	}
	return value, true, nil
}

// Kind names the JSON type of a raw value in plain words.
func Kind(raw json.RawMessage) string {
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
	default:
		return "a number"
	}
}

// Suggest returns the known name that differs from name only in letter case,
// or "", so that "name" can be answered with "did you mean Name?".
func Suggest(name string, known []string) string {
	for _, k := range known {
		if strings.EqualFold(k, name) && k != name {
			return k
		}
	}
	return ""
}

// Describe is a short rendering of a member name for messages: quoted, and
// cut to 40 characters so that a hostile name cannot flood the response.
func Describe(name string) string {
	const limit = 40
	if utf8.RuneCountInString(name) > limit {
		r := []rune(name)
		name = string(r[:limit]) + "…"
	}
	return fmt.Sprintf("%q", name)
}
