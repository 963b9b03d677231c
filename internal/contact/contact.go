// Package contact is the DBbrain alert contact: its fields, the rules each
// must follow, and the decoding of an AddUserContact request (one contact or
// a batch) from its parameters, whatever carried them.
//
// The rules are struct tags checked by go-playground/validator, with custom
// tags for the name's character set and aliases built from the API's facts in
// package dbbrain. They follow the API page where its examples agree with it,
// and the examples where they do not: the page says names are letters, digits
// and "_", yet its own example is "John Smith", and the 2021-05-27 version of
// the API allows letters of any script, spaces and some punctuation, so
// "张三" must pass too.
package contact

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/go-playground/validator/v10"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
)

// NamePunctuation lists the punctuation a name may hold besides letters,
// digits and spaces: the 2021-05-27 API's set plus ".".
const NamePunctuation = "_-.!@#$%^&*()+=（）"

// MaxBatch is the most contacts one request may carry.
const MaxBatch = 1000

// Contact is one alert contact as AddUserContact takes it.
type Contact struct {
	Name        string `json:"Name" validate:"required,namelen,startsnotwith=_,contactname"`           // The contact name, unique per account.
	ContactInfo string `json:"ContactInfo" validate:"required,emaillen,startsnotwith=_,visible,email"` // The contact's email address.
	Product     string `json:"Product" validate:"required,product"`                                    // Always dbbrain.Product.
}

// Item is one contact of a request: a valid Contact, or why it is not one.
type Item struct {
	Name    string  // As given (trimmed, cut to the longest valid name), for reporting.
	Contact Contact // Set when Err is nil.
	Err     error   // An Invalid *apierror.Error.
}

// Request is what one set of parameters asks for: one item, or with Batch
// (the {"Contacts":[...]} form, answered in batch form even for one item)
// a batch's items in order.
type Request struct {
	Batch bool
	Items []Item
}

// fieldNames are a contact's parameters, commonNames the API 3.0 common
// parameters a request may repeat.
func fieldNames() []string  { return []string{"Name", "ContactInfo", "Product"} }
func commonNames() []string { return []string{"Action", "Version", "Region"} }

// IsParameter reports whether name is, in any letter case, a parameter of
// a request.
func IsParameter(name string) bool {
	return slices.ContainsFunc(append(append(fieldNames(), commonNames()...), "Contacts"), func(k string) bool { return strings.EqualFold(k, name) })
}

// Decoder decodes requests into contacts and checks every field. It is safe
// for concurrent use; build one per process, since building caches
// reflection.
type Decoder struct{ v *validator.Validate }

// NewDecoder returns a Decoder with the custom tags and the aliases that
// carry the API's limits.
func NewDecoder() (*Decoder, error) {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterAlias("namelen", fmt.Sprintf("min=%d,max=%d", dbbrain.MinNameLen, dbbrain.MaxNameLen))
	v.RegisterAlias("emaillen", fmt.Sprintf("max=%d", dbbrain.MaxEmailLen))
	v.RegisterAlias("product", "eq="+dbbrain.Product)
	for tag, bad := range map[string]func(string) rune{"contactname": badNameRune, "visible": invisibleRune} {
		if err := v.RegisterValidation(tag, func(fl validator.FieldLevel) bool { return bad(fl.Field().String()) < 0 }); err != nil {
			return nil, fmt.Errorf("registering the %s rule: %w", tag, err)
		}
	}
	return &Decoder{v: v}, nil
}

// badNameRune returns the first rune a name may not hold, or -1.
func badNameRune(s string) rune {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r) && r != ' ' && !strings.ContainsRune(NamePunctuation, r) {
			return r
		}
	}
	return -1
}

// invisibleRune returns the first rune of an address that a reader cannot
// see or that could smuggle text (spaces, control and format characters such
// as bidirectional overrides), or -1. RFC 5322 allows some inside quoted
// local parts; an alert address has no use for them.
func invisibleRune(s string) rune {
	for _, r := range s {
		if !unicode.IsGraphic(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
			return r
		}
	}
	return -1
}

// Decode decodes an AddUserContact request; region is the one this function
// serves, which a Region parameter must match. An error means the request as
// a whole is unusable (a common parameter, the batch's form, or a single
// contact); in a batch each item is judged on its own and a bad one never
// stops the others.
func (d *Decoder) Decode(p Params, region string) (Request, error) {
	if err := checkCommon(p, region); err != nil {
		return Request{}, err
	}
	if !p.Has("Contacts") {
		it := d.item(p, commonNames())
		return Request{Items: []Item{it}}, it.Err
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
	raw, _ := p.Raw("Contacts")
	var raws []jsontext.Value // each item is read on its own, its repeated names included
	if k := JSONKind(raw); k != "a list" {
		return Request{}, invalid("Contacts must be a list of contacts, not %s", k)
	} else if err := json.Unmarshal(raw, &raws, jsontext.AllowDuplicateNames(true)); err != nil {
		return Request{}, apierror.Wrap(apierror.Invalid, apierror.InvalidParameter, err, "Contacts is not a valid JSON list")
	}
	if len(raws) == 0 || len(raws) > MaxBatch {
		return Request{}, apierror.E(apierror.Invalid, apierror.InvalidParameterValue,
			"Contacts must hold 1 to %d contacts; it holds %d (split larger batches across invocations)", MaxBatch, len(raws))
	}
	req := Request{Batch: true, Items: make([]Item, len(raws))}
	for i, raw := range raws {
		if item, err := ParseJSON(raw, fmt.Sprintf("Contacts[%d]", i)); err != nil {
			req.Items[i] = Item{Err: err}
		} else {
			req.Items[i] = d.item(item, nil)
		}
	}
	return req, nil
}

// item decodes and validates one contact, reporting every problem at once: a
// missing or wrongly typed field does not hide the other fields' broken
// rules. allowed lists the other names that may appear beside the fields.
func (d *Decoder) item(p Params, allowed []string) Item {
	var problems issues
	var c Contact
	var skip []string // fields already reported as missing or malformed
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
	var fieldErrs validator.ValidationErrors
	if err := d.v.Struct(c); errors.As(err, &fieldErrs) {
		for _, fe := range fieldErrs {
			if !slices.Contains(skip, fe.Field()) {
				problems.add(apierror.InvalidParameterValue, describe(fe, c))
			}
		}
	} else if err != nil {
		problems.add(apierror.InvalidParameterValue, "the contact could not be validated: "+err.Error())
	}
	it := Item{Name: apierror.ClipRunes(c.Name, dbbrain.MaxNameLen), Err: problems.err()}
	if it.Err == nil {
		it.Contact = c
	}
	return it
}

// describe words a broken rule. Values are never echoed whole: an answer may
// be logged by the caller, and the email is personal data.
func describe(fe validator.FieldError, c Contact) string {
	f := fe.Field()
	switch fe.Tag() {
	case "required":
		return f + " must not be empty"
	case "namelen":
		return fmt.Sprintf("Name must be %d to %d characters long (it has %d)", dbbrain.MinNameLen, dbbrain.MaxNameLen, utf8.RuneCountInString(c.Name))
	case "emaillen":
		return fmt.Sprintf("%s must be at most %d characters long", f, dbbrain.MaxEmailLen)
	case "startsnotwith":
		return fmt.Sprintf("%s must not start with %q", f, fe.Param())
	case "contactname":
		return fmt.Sprintf("Name may contain only letters, digits, spaces and %s; it contains %q", NamePunctuation, badNameRune(c.Name))
	case "visible":
		return fmt.Sprintf("%s may not contain spaces, control or invisible characters; it contains %q", f, invisibleRune(c.ContactInfo))
	case "email":
		return f + " must be an email address such as name@example.com"
	case "product":
		return fmt.Sprintf("%s must be %q, the only product AddUserContact supports", f, dbbrain.Product)
	}
	return fmt.Sprintf("%s breaks the rule %q", f, fe.Tag())
}

// checkCommon checks the API 3.0 common parameters a caller may copy from
// the API page's example: they must name this action, version and region.
func checkCommon(p Params, region string) error {
	for _, c := range []struct{ name, want, code, hint string }{
		{"Action", dbbrain.ActionAddUserContact, apierror.InvalidAction, "this function serves only " + dbbrain.ActionAddUserContact},
		{"Version", dbbrain.Version, apierror.NoSuchVersion, "this function serves only version " + dbbrain.Version},
		{"Region", region, apierror.UnsupportedRegion, "this function calls DBbrain in " + region},
	} {
		got, present, err := p.String(c.name)
		if err != nil {
			return err
		}
		if present && got != c.want {
			return apierror.E(apierror.Invalid, c.code, "%s %s is not supported: %s", c.name, apierror.Quote(got), c.hint)
		}
	}
	return nil
}

// issues collects every problem of a request so that one answer reports all
// of them. The answer's code is the most basic problem's: a malformed value,
// then a missing field, an unknown one, and broken rules last. At most
// maxUnknown unknown names are quoted, so that thousands cannot flood it.
type issues struct {
	byCode   map[string][]string
	unknowns int
}

const maxUnknown = 5

func (p *issues) add(code, msg string) {
	if p.byCode == nil {
		p.byCode = map[string][]string{}
	}
	p.byCode[code] = append(p.byCode[code], msg)
}

func (p *issues) unknown(name string, known []string) {
	if p.unknowns++; p.unknowns > maxUnknown {
		return
	}
	msg := apierror.Quote(name) + " is not a parameter of " + dbbrain.ActionAddUserContact
	for _, k := range known {
		if strings.EqualFold(k, name) {
			msg += fmt.Sprintf(" (did you mean %s?)", k)
		}
	}
	p.add(apierror.UnknownParameter, msg)
}

func (p *issues) err() error {
	var code string
	var msgs []string
	for _, c := range []string{apierror.InvalidParameter, apierror.MissingParameter, apierror.UnknownParameter, apierror.InvalidParameterValue} {
		if len(p.byCode[c]) > 0 && code == "" {
			code = c
		}
		msgs = append(msgs, p.byCode[c]...)
		if c == apierror.UnknownParameter && p.unknowns > maxUnknown {
			msgs = append(msgs, fmt.Sprintf("and %d more unknown parameters", p.unknowns-maxUnknown))
		}
	}
	if code == "" {
		return nil
	}
	return apierror.E(apierror.Invalid, code, "%s", strings.Join(msgs, "; "))
}
