package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/contact"
)

// These types accept the loose JSON that gateways and message queues produce;
// scf-go-lib's event types refuse some of it.

// FlexBool is a boolean that gateways send either as true/false or as the
// strings "true"/"false".
type FlexBool bool

// UnmarshalJSON accepts a JSON boolean, a string holding one, or null.
func (b *FlexBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch t := v.(type) {
	case nil:
		*b = false
	case bool:
		*b = FlexBool(t)
	case string:
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "true":
			*b = true
		case "false", "":
			*b = false
		default:
			return fmt.Errorf("must be true or false, not %s", apierror.Quote(t))
		}
	default:
		return fmt.Errorf("must be true or false, not %s", contact.JSONKind(data))
	}
	return nil
}

// QueryString is the gateway's parsed query string. A value is a string, a
// list of strings when the key repeats, or true when the key has no value.
type QueryString map[string][]string

// UnmarshalJSON accepts every value form gateways are known to send.
func (q *QueryString) UnmarshalJSON(data []byte) error {
	out := QueryString{}
	*q = out
	return eachValue(data, func(k string, vals []string) { out[k] = vals })
}

// MarshalJSON writes the gateway's form back: a string for one value, a
// list for several, true for a key without a value.
func (q QueryString) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(q))
	for k, v := range q {
		switch len(v) {
		case 0:
			m[k] = true
		case 1:
			m[k] = v[0]
		default:
			m[k] = v
		}
	}
	return json.Marshal(m)
}

// Headers are the request headers, keyed by lower-case name whatever case the
// gateway used. A list value (a repeated header) is joined with ", ", as
// HTTP does.
type Headers map[string]string

// UnmarshalJSON lower-cases names and accepts string or list values.
func (h *Headers) UnmarshalJSON(data []byte) error {
	out := Headers{}
	*h = out
	return eachValue(data, func(k string, vals []string) { out[strings.ToLower(k)] = strings.Join(vals, ", ") })
}

// eachValue reads a JSON object of flexible values, calling set for each
// member that is not null.
func eachValue(data []byte, set func(name string, vals []string)) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("must be an object, not %s", contact.JSONKind(data))
	}
	for k, raw := range m {
		vals, ok, err := flexValues(raw)
		if err != nil {
			return fmt.Errorf("the value of %s: %w", apierror.Quote(k), err)
		}
		if ok {
			set(k, vals)
		}
	}
	return nil
}

// flexValues reads a string, number, boolean or a flat list of them. true means "the
// key without a value"; null means absent (ok == false).
func flexValues(raw json.RawMessage) (vals []string, ok bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, false, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, err
		}
		return []string{s}, true, nil
	case 't':
		return []string{}, true, nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, false, err
		}
		for _, it := range items {
			// Gateways send flat lists; refusing nesting also keeps a
			// hostile event from costing quadratic time here.
			if t := bytes.TrimSpace(it); len(t) > 0 && (t[0] == '[' || t[0] == '{') {
				return nil, false, fmt.Errorf("a list may hold only strings, numbers and booleans")
			}
			v, ok, err := flexValues(it)
			if err != nil {
				return nil, false, err
			}
			if ok {
				vals = append(vals, v...)
			}
		}
		return vals, true, nil
	case '{':
		return nil, false, fmt.Errorf("an object is not a valid value")
	default: // a number or false: keep its literal text
		return []string{string(raw)}, true, nil
	}
}

// Number is an integer that may arrive as a JSON number, as a string holding
// one, or as "" or null (zero), as Tencent's own trigger templates show.
type Number int64

// UnmarshalJSON accepts a number, a numeric string, "" or null.
func (n *Number) UnmarshalJSON(data []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(data)), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("must be a whole number, not %s", apierror.Quote(s))
	}
	*n = Number(v)
	return nil
}

// Tags are a message's tags, sent as a list, as one comma-separated string,
// or as null.
type Tags []string

// UnmarshalJSON accepts a list of strings, a comma-separated string or null.
func (t *Tags) UnmarshalJSON(data []byte) error {
	var s string
	if json.Unmarshal(data, &s) == nil {
		*t = nil
		for part := range strings.SplitSeq(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				*t = append(*t, part)
			}
		}
		return nil
	}
	var list []string
	if err := json.Unmarshal(data, &list); err != nil {
		return fmt.Errorf("must be a string or a list of strings")
	}
	*t = list
	return nil
}
