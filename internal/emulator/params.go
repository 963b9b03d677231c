package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

// params are an action's input parameters as decoded JSON values (string,
// json.Number, bool, []any, map[string]any); query and form parameters
// arrive as strings and []any of strings.
type params map[string]any

// parseParams reads a TC3 request's action parameters: the query of a GET,
// the JSON or form body of a POST.
func parseParams(r *http.Request, body []byte) (params, error) {
	raw := r.URL.RawQuery
	if r.Method != http.MethodGet {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch {
		case r.Header.Get("Content-Type") == "" || (err == nil && mt == "application/json"):
			return parseJSON(body)
		case err == nil && mt == "application/x-www-form-urlencoded":
			raw = string(body)
		default:
			return nil, apierror.E(apierror.Invalid, apierror.InvalidParameter, "Content-Type %s is not supported; use application/json.", apierror.Quote(r.Header.Get("Content-Type")))
		}
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return nil, apierror.E(apierror.Invalid, apierror.InvalidParameter, "The query or form body is malformed.")
	}
	return formParams(vals)
}

func parseJSON(body []byte) (params, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return params{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var p map[string]any
	if err := dec.Decode(&p); err != nil || p == nil {
		return nil, apierror.E(apierror.Invalid, apierror.InvalidParameter, "The request body is not a JSON object.")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, apierror.E(apierror.Invalid, apierror.InvalidParameter, "The request body has data after the JSON object.")
	}
	return p, nil
}

// formParams turns "Name=x&Names.0=a&Names.1=b" into params, with arrays
// flattened the way the SDKs flatten them (Names.N, N from 0).
func formParams(vals url.Values) (params, error) {
	p := params{}
	arrays := map[string]map[int]string{}
	for k, vs := range vals {
		if len(vs) > 1 || !utf8.ValidString(vs[0]) {
			return nil, apierror.E(apierror.Invalid, apierror.InvalidParameter, "The parameter %s is repeated or not valid UTF-8.", apierror.Quote(k))
		}
		base, idx, isElem := strings.Cut(k, ".")
		if !isElem {
			p[k] = vs[0]
			continue
		}
		if n, err := strconv.Atoi(idx); err != nil || n < 0 || strconv.Itoa(n) != idx {
			return nil, unknown(k)
		} else if arrays[base] == nil {
			arrays[base] = map[int]string{n: vs[0]}
		} else {
			arrays[base][n] = vs[0]
		}
	}
	for base, elems := range arrays {
		if _, clash := p[base]; clash {
			return nil, apierror.E(apierror.Invalid, apierror.InvalidParameter, "The parameter %s is given both as a value and as an array.", apierror.Quote(base))
		}
		var arr []any
		for _, i := range slices.Sorted(maps.Keys(elems)) {
			arr = append(arr, elems[i])
		}
		p[base] = arr
	}
	return p, nil
}

// paramSpec is one input parameter: a String, or an Array of String.
type paramSpec struct {
	name            string
	array, required bool
	only            string // the one valid value, if there is one
}

// check applies the generic rules in the documented order: missing, then
// unknown, then wrongly typed. A JSON null counts as absent.
func (p params) check(specs ...paramSpec) error {
	for _, sp := range specs {
		if sp.required && p[sp.name] == nil {
			return missing(sp.name)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(p)) {
		if !slices.ContainsFunc(specs, func(sp paramSpec) bool { return sp.name == k }) {
			return unknown(k)
		}
	}
	isStr := func(v any) bool { _, ok := v.(string); return ok }
	for _, sp := range specs {
		v := p[sp.name]
		arr, isArr := v.([]any)
		wrong := !isStr(v)
		if sp.array {
			wrong = !isArr || slices.ContainsFunc(arr, func(e any) bool { return !isStr(e) })
		}
		if v != nil && wrong {
			kind := map[bool]string{false: "String", true: "Array of String"}[sp.array]
			return apierror.E(apierror.Invalid, apierror.InvalidParameter, "The value type of parameter `%s` is incorrect, expected %s.", sp.name, kind)
		}
		if sp.only != "" && v != sp.only {
			return invalidValue(sp.name, "must be `"+sp.only+"`")
		}
	}
	return nil
}

func (p params) str(name string) string {
	s, _ := p[name].(string)
	return s
}

func (p params) strs(name string) []string {
	arr, _ := p[name].([]any)
	var out []string
	for _, e := range arr {
		out = append(out, e.(string))
	}
	return out
}

func missing(name string) error {
	return apierror.E(apierror.Invalid, apierror.MissingParameter, "The request is missing a required parameter `%s`.", name)
}

func unknown(name string) error {
	return apierror.E(apierror.Invalid, apierror.UnknownParameter, "The parameter %s is not recognized.", apierror.Quote(name))
}
