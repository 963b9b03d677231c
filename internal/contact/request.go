package contact

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/params"
)

// API identity that the common parameters must match when given.
const (
	Action  = "AddUserContact"
	Version = "2019-10-16"
)

// MaxBatch is the most contacts one invocation may carry.
const MaxBatch = 1000

// fieldNames are a contact's parameters, commonNames the API 3.0 common
// parameters a request may repeat. Functions, not variables, so that no
// caller can change them.
func fieldNames() []string  { return []string{"Name", "ContactInfo", "Product"} }
func commonNames() []string { return []string{"Action", "Version", "Region"} }

// Item is one contact of a request: either a valid Contact or the reason it
// is not one.
type Item struct {
	// Name is the name as given (trimmed), for reporting; empty when the
	// Name member was missing or not a string.
	Name string
	// Contact is set when Err is nil.
	Contact Contact
	// Err is an *apierror.Error when the item failed decoding or validation.
	Err error
}

// Request is what one event asks for.
type Request struct {
	// Batch is true when the event used the {"Contacts":[...]} form; the
	// answer is then the batch envelope, even for a single item.
	Batch bool
	// Items holds one item, or a batch's items in input order.
	Items []Item
}

// Parse decodes an AddUserContact request from its parameters. region is the
// region this function serves, which a Region parameter must match.
//
// An error is returned only when the request as a whole is unusable (a
// common parameter is wrong, the batch is malformed or too large, or a single
// contact is invalid). In a batch each item is judged on its own and a bad one
// is reported in its Item.Err, so that it never stops the others.
func (v *Validator) Parse(o params.Object, region string) (Request, error) {
	if err := checkCommon(o, region); err != nil {
		return Request{}, err
	}
	if _, isBatch := o.Raw("Contacts"); !isBatch {
		it := v.item(o, commonNames())
		if it.Err != nil {
			return Request{}, it.Err
		}
		return Request{Items: []Item{it}}, nil
	}
	var problems issues
	for _, name := range o.Names() {
		switch {
		case name == "Contacts" || contains(commonNames(), name):
		case contains(fieldNames(), name):
			problems.add(apierror.InvalidParameter, fmt.Sprintf("%s cannot be given beside Contacts: a request holds one contact or a batch, not both", name))
		default:
			problems.unknown(name, append([]string{"Contacts"}, commonNames()...))
		}
	}
	if err := problems.err(); err != nil {
		return Request{}, err
	}
	raws, err := batchItems(o)
	if err != nil {
		return Request{}, err
	}
	req := Request{Batch: true, Items: make([]Item, len(raws))}
	for i, raw := range raws {
		obj, err := params.Parse(raw, fmt.Sprintf("Contacts[%d]", i))
		if err != nil {
			req.Items[i] = Item{Err: err}
			continue
		}
		req.Items[i] = v.item(obj, nil)
	}
	return req, nil
}

func batchItems(o params.Object) ([]json.RawMessage, error) {
	raw, _ := o.Raw("Contacts")
	if k := params.Kind(raw); k != "a list" {
		return nil, apierror.New(apierror.InvalidParameter, "Contacts must be a list of contacts, not %s", k)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(raw, &raws); err != nil {
		return nil, apierror.Wrap(apierror.InvalidParameter, err, "Contacts is not a valid JSON list")
	}
	if len(raws) == 0 || len(raws) > MaxBatch {
		return nil, apierror.New(apierror.InvalidParameterValue, "Contacts must hold 1 to %d contacts; it holds %d (split larger batches across invocations)", MaxBatch, len(raws))
	}
	return raws, nil
}

// item decodes and validates one contact. allowed lists extra member names
// that may appear beside the contact's fields (the common parameters at the
// top level of a request).
func (v *Validator) item(o params.Object, allowed []string) Item {
	var (
		problems issues
		c        Contact
		it       Item
	)
	for _, name := range o.Names() {
		if !contains(fieldNames(), name) && !contains(allowed, name) {
			problems.unknown(name, fieldNames())
		}
	}
	field := func(name string, dst *string) bool {
		s, present, err := o.String(name)
		if err != nil {
			problems.add(apierror.InvalidParameter, apierror.As(err).Message)
			return true
		}
		*dst = strings.Trim(s, " ")
		return present
	}
	if !field("Name", &c.Name) {
		problems.add(apierror.MissingParameter, "Name is required")
	}
	it.Name = clipName(c.Name)
	if !field("ContactInfo", &c.ContactInfo) {
		problems.add(apierror.MissingParameter, "ContactInfo (the contact's email address) is required")
	}
	if !field("Product", &c.Product) {
		c.Product = Product
	}
	if problems.len() == 0 {
		for _, p := range v.problems(c) {
			problems.add(apierror.InvalidParameterValue, p)
		}
	}
	if err := problems.err(); err != nil {
		it.Err = err
		return it
	}
	it.Contact = c
	return it
}

// checkCommon checks the API 3.0 common parameters a caller may copy from
// the API page's example: they must name this action, version and region.
func checkCommon(o params.Object, region string) error {
	check := func(name, want, code, hint string) error {
		got, present, err := o.String(name)
		if err != nil || !present {
			return err
		}
		if got != want {
			return apierror.New(code, "%s %s is not supported: %s", name, params.Describe(got), hint)
		}
		return nil
	}
	if err := check("Action", Action, apierror.InvalidAction, "this function serves only AddUserContact"); err != nil {
		return err
	}
	if err := check("Version", Version, apierror.NoSuchVersion, "this function serves only version "+Version); err != nil {
		return err
	}
	return check("Region", region, apierror.UnsupportedRegion, "this function calls DBbrain in "+region)
}

// issues collects every problem of a contact so that one answer reports all
// of them. The code of the answer is the most basic problem's: a malformed
// value hides what else is wrong, a missing field comes next, then an unknown
// one, and broken rules last.
type issues struct {
	byCode   map[string][]string
	unknowns int
}

// maxUnknownReported bounds the unknown members named in one answer, so that
// an event with thousands of them cannot blow the answer past SCF's 6 MB.
const maxUnknownReported = 5

func codeOrder() []string {
	return []string{apierror.InvalidParameter, apierror.MissingParameter, apierror.UnknownParameter, apierror.InvalidParameterValue}
}

func (p *issues) add(code, msg string) {
	if p.byCode == nil {
		p.byCode = map[string][]string{}
	}
	p.byCode[code] = append(p.byCode[code], msg)
}

func (p *issues) unknown(name string, known []string) {
	p.unknowns++
	if p.unknowns > maxUnknownReported {
		return
	}
	msg := fmt.Sprintf("%s is not a parameter of AddUserContact", params.Describe(name))
	if s := params.Suggest(name, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	p.add(apierror.UnknownParameter, msg)
}

func (p *issues) len() int {
	n := 0
	for _, m := range p.byCode {
		n += len(m)
	}
	return n
}

func (p *issues) err() error {
	var code string
	var msgs []string
	for _, c := range codeOrder() {
		if len(p.byCode[c]) > 0 && code == "" {
			code = c
		}
		msgs = append(msgs, p.byCode[c]...)
		if c == apierror.UnknownParameter && p.unknowns > maxUnknownReported {
			msgs = append(msgs, fmt.Sprintf("and %d more unknown parameters", p.unknowns-maxUnknownReported))
		}
	}
	if code == "" {
		return nil
	}
	return apierror.New(code, "%s", strings.Join(msgs, "; "))
}

// clipName bounds the name a batch result echoes: a valid name has at most
// MaxNameLen characters, and an invalid one must not let a caller inflate the
// answer past SCF's 6 MB.
func clipName(s string) string {
	r := []rune(s)
	if len(r) <= MaxNameLen {
		return s
	}
	return string(r[:MaxNameLen]) + "…"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
