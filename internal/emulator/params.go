package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// params are an action's input parameters as decoded JSON values (string,
// json.Number, bool, []any, map[string]any); form and query parameters
// arrive as strings and []any of strings.
type params map[string]any

// parseParams reads the action parameters: the query of a GET, the JSON or
// form body of a POST.
func parseParams(r *http.Request, body []byte) (params, *apiError) {
	if r.Method == http.MethodGet {
		return parseForm(r.URL.RawQuery)
	}
	mediaType := "application/json"
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, &apiError{"InvalidParameter", "The Content-Type header is malformed."}
		}
		mediaType = mt
	}
	switch mediaType {
	case "application/json":
		return parseJSON(body)
	case "application/x-www-form-urlencoded":
		return parseForm(string(body))
	default:
		return nil, &apiError{"InvalidParameter", fmt.Sprintf("Content-Type `%s` is not supported; use application/json.", clip(mediaType))}
	}
}

func parseJSON(body []byte) (params, *apiError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return params{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var p map[string]any
	if err := dec.Decode(&p); err != nil || p == nil {
		return nil, &apiError{"InvalidParameter", "The request body is not a JSON object."}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &apiError{"InvalidParameter", "The request body has data after the JSON object."}
	}
	return p, nil
}

// parseForm decodes "Name=x&Names.0=a&Names.1=b" into params, arrays
// flattened the way the SDKs flatten them for GET (Names.N, N from 0).
func parseForm(raw string) (params, *apiError) {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return nil, &apiError{"InvalidParameter", "The query or form body is malformed."}
	}
	p := params{}
	arrays := map[string]map[int]string{}
	for k, vs := range vals {
		if len(vs) > 1 {
			return nil, &apiError{"InvalidParameter", fmt.Sprintf("The parameter `%s` is repeated.", clip(k))}
		}
		v := vs[0]
		if !utf8.ValidString(v) {
			return nil, &apiError{"InvalidParameter", fmt.Sprintf("The parameter `%s` is not valid UTF-8.", clip(k))}
		}
		if base, idx, ok := strings.Cut(k, "."); ok {
			n, err := strconv.Atoi(idx)
			if err != nil || n < 0 || strconv.Itoa(n) != idx {
				return nil, &apiError{"UnknownParameter", fmt.Sprintf("The parameter `%s` is not recognized.", clip(k))}
			}
			if arrays[base] == nil {
				arrays[base] = map[int]string{}
			}
			arrays[base][n] = v
			continue
		}
		p[k] = v
	}
	for base, elems := range arrays {
		if _, clash := p[base]; clash {
			return nil, &apiError{"InvalidParameter", fmt.Sprintf("The parameter `%s` is given both as a value and as an array.", clip(base))}
		}
		idx := slices.Sorted(maps.Keys(elems))
		arr := make([]any, 0, len(idx))
		for _, i := range idx {
			arr = append(arr, elems[i])
		}
		p[base] = arr
	}
	return p, nil
}

// kind is a parameter's API type.
type kind int

const (
	kindString kind = iota
	kindStringArray
)

// String names the JSON type in plain words.
func (k kind) String() string {
	if k == kindStringArray {
		return "Array of String"
	}
	return "String"
}

type paramSpec struct {
	name     string
	kind     kind
	required bool
}

// check applies the generic rules in the documented order: missing, then
// unknown, then wrongly typed. A JSON null counts as absent.
func (p params) check(specs []paramSpec) *apiError {
	for _, sp := range specs {
		if v, ok := p[sp.name]; sp.required && (!ok || v == nil) {
			return missing(sp.name)
		}
	}
	var unknown []string
	for k := range p {
		if !slices.ContainsFunc(specs, func(sp paramSpec) bool { return sp.name == k }) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return &apiError{"UnknownParameter", fmt.Sprintf("The parameter `%s` is not recognized.", clip(unknown[0]))}
	}
	for _, sp := range specs {
		v, ok := p[sp.name]
		if !ok || v == nil {
			continue
		}
		if !hasKind(v, sp.kind) {
			return &apiError{"InvalidParameter", fmt.Sprintf("The value type of parameter `%s` is incorrect, expected %s.", sp.name, sp.kind)}
		}
	}
	return nil
}

func hasKind(v any, k kind) bool {
	switch k {
	case kindString:
		_, ok := v.(string)
		return ok
	case kindStringArray:
		arr, ok := v.([]any)
		if !ok {
			return false
		}
		for _, e := range arr {
			if _, ok := e.(string); !ok {
				return false
			}
		}
		return true
	}
	return false
}

func (p params) str(name string) string {
	s, _ := p[name].(string)
	return s
}

func (p params) strs(name string) []string {
	arr, _ := p[name].([]any)
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		out = append(out, e.(string))
	}
	return out
}
