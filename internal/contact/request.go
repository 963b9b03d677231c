package contact

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
)

// MaxBatch is the most contacts one request may carry.
const MaxBatch = 1000

// fieldNames are a contact's parameters, commonNames the API 3.0 common
// parameters a request may repeat. Functions, not variables, so that no
// caller can change them.
func fieldNames() []string  { return []string{"Name", "ContactInfo", "Product"} }
func commonNames() []string { return []string{"Action", "Version", "Region"} }

// Item is one contact of a request: either a valid Contact or the reason it
// is not one.
type Item struct {
	// Name is the name as given (trimmed, cut to the longest valid name),
	// for reporting; empty when the Name member was missing or not a string.
	Name string
	// Contact is set when Err is nil.
	Contact Contact
	// Err is an *apierror.Error when the item failed decoding or validation.
	Err error
}

// Request is what one set of parameters asks for.
type Request struct {
	// Batch is true when the {"Contacts":[...]} form was used; the answer is
	// then the batch envelope, even for a single item.
	Batch bool
	// Items holds one item, or a batch's items in input order.
	Items []Item
}

// Decode decodes an AddUserContact request. region is the region this
// function serves, which a Region parameter must match.
//
// An error is returned only when the request as a whole is unusable (a
// common parameter is wrong, the batch is malformed or too large, or a single
// contact is invalid). In a batch each item is judged on its own and a bad one
// is reported in its Item.Err, so that it never stops the others.
func (d *Decoder) Decode(p Params, region string) (Request, error) {
	if err := checkCommon(p, region); err != nil {
		return Request{}, err
	}
	if !p.Has("Contacts") {
		it := d.item(p, commonNames())
		if it.Err != nil {
			return Request{}, it.Err
		}
		return Request{Items: []Item{it}}, nil
	}
	var problems issues
	for _, name := range p.Names() {
		switch {
		case name == "Contacts" || slices.Contains(commonNames(), name):
		case slices.Contains(fieldNames(), name):
			problems.add(apierror.InvalidParameter, name+" cannot be given beside Contacts: a request holds one contact or a batch, not both")
		default:
			problems.unknown(name, append([]string{"Contacts"}, commonNames()...))
		}
	}
	if err := problems.err(); err != nil {
		return Request{}, err
	}
	raws, err := batchItems(p)
	if err != nil {
		return Request{}, err
	}
	req := Request{Batch: true, Items: make([]Item, len(raws))}
	for i, raw := range raws {
		item, err := ParseJSON(raw, fmt.Sprintf("Contacts[%d]", i))
		if err != nil {
			req.Items[i] = Item{Err: err}
			continue
		}
		req.Items[i] = d.item(item, nil)
	}
	return req, nil
}

func batchItems(p Params) ([]json.RawMessage, error) {
	raw, _ := p.Raw("Contacts")
	if k := JSONKind(raw); k != "a list" {
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

// item decodes and validates one contact, reporting every problem at once: a
// missing or wrongly typed field does not hide the other fields' broken
// rules. allowed lists extra member names that may appear beside the
// contact's fields (the common parameters at the top level of a request).
func (d *Decoder) item(p Params, allowed []string) Item {
	var (
		problems issues
		c        Contact
		skip     []string // fields already reported as missing or malformed
	)
	for _, name := range p.Names() {
		if !slices.Contains(fieldNames(), name) && !slices.Contains(allowed, name) {
			problems.unknown(name, fieldNames())
		}
	}
	for _, f := range []struct {
		name, missing string
		dst           *string
	}{
		{"Name", "Name is required", &c.Name},
		{"ContactInfo", "ContactInfo (the contact's email address) is required", &c.ContactInfo},
		{"Product", "", &c.Product},
	} {
		s, present, err := p.String(f.name)
		switch {
		case err != nil:
			problems.add(apierror.InvalidParameter, apierror.From(err).Message)
			skip = append(skip, f.name)
		case !present && f.missing == "":
			s = dbbrain.Product // the only value, so the natural default
		case !present:
			problems.add(apierror.MissingParameter, f.missing)
			skip = append(skip, f.name)
		}
		*f.dst = strings.Trim(s, " ")
	}
	fields, msgs := d.ruleProblems(c)
	for i, f := range fields {
		if !slices.Contains(skip, f) {
			problems.add(apierror.InvalidParameterValue, msgs[i])
		}
	}
	it := Item{Name: apierror.ClipRunes(c.Name, dbbrain.MaxNameLen), Err: problems.err()}
	if it.Err == nil {
		it.Contact = c
	}
	return it
}

// checkCommon checks the API 3.0 common parameters a caller may copy from
// the API page's example: they must name this action, version and region.
func checkCommon(p Params, region string) error {
	check := func(name, want, code, hint string) error {
		got, present, err := p.String(name)
		if err != nil || !present {
			return err
		}
		if got != want {
			return apierror.New(code, "%s %s is not supported: %s", name, apierror.Quote(got), hint)
		}
		return nil
	}
	if err := check("Action", dbbrain.ActionAddUserContact, apierror.InvalidAction, "this function serves only "+dbbrain.ActionAddUserContact); err != nil {
		return err
	}
	if err := check("Version", dbbrain.Version, apierror.NoSuchVersion, "this function serves only version "+dbbrain.Version); err != nil {
		return err
	}
	return check("Region", region, apierror.UnsupportedRegion, "this function calls DBbrain in "+region)
}

// issues collects every problem of a request so that one answer reports all
// of them. The code of the answer is the most basic problem's: a malformed
// value comes first, a missing field next, then an unknown one, and broken
// rules last.
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
	msg := apierror.Quote(name) + " is not a parameter of " + dbbrain.ActionAddUserContact
	if s := suggest(name, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	p.add(apierror.UnknownParameter, msg)
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
