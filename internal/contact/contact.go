// Package contact is the DBbrain alert contact, its rules (struct tags
// checked by go-playground/validator; why these, the README's "Validation"),
// and the decoding of an AddUserContact request, one contact or a batch.
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

const (
	// NamePunctuation is what a name may hold besides letters, digits and
	// spaces: the 2021-05-27 API's set plus ".".
	NamePunctuation = "_-.!@#$%^&*()+=（）"
	MaxBatch        = 1000 // The most contacts one request may carry.
)

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

// Request is what one set of parameters asks for: one item, or a batch's.
type Request struct {
	Batch bool   // The {"Contacts":[...]} form, answered as a batch even for one item.
	Items []Item // In order.
}

// A request's parameters: a contact's fields and the API 3.0 common
// parameters, or a batch's Contacts and the common parameters. Functions, not
// variables, so that nothing can change them.
func fieldNames() []string  { return []string{"Name", "ContactInfo", "Product"} }
func commonNames() []string { return []string{"Action", "Version", "Region"} }
func batchNames() []string  { return append([]string{"Contacts"}, commonNames()...) }

// IsParameter reports whether name is, in any letter case, a parameter.
func IsParameter(name string) bool {
	return slices.ContainsFunc(slices.Concat(fieldNames(), batchNames()), func(k string) bool { return strings.EqualFold(k, name) })
}

// Decoder decodes requests into checked contacts. It is safe for concurrent
// use; build one per process, since building caches reflection.
type Decoder struct{ v *validator.Validate }

// NewDecoder returns a Decoder with the custom tags and the API's limits.
func NewDecoder() (*Decoder, error) {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterAlias("namelen", fmt.Sprintf("min=%d,max=%d", dbbrain.MinNameLen, dbbrain.MaxNameLen))
	v.RegisterAlias("emaillen", fmt.Sprintf("max=%d", dbbrain.MaxEmailLen))
	v.RegisterAlias("product", "eq="+dbbrain.Product)
	for tag, bad := range map[string]func(rune) bool{"contactname": notInName, "visible": invisible} {
		if err := v.RegisterValidation(tag, func(fl validator.FieldLevel) bool { return !strings.ContainsFunc(fl.Field().String(), bad) }); err != nil {
			return nil, fmt.Errorf("registering the %s rule: %w", tag, err)
		}
	}
	return &Decoder{v: v}, nil
}

// notInName reports whether a name may not hold r.
func notInName(r rune) bool {
	return !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r) && r != ' ' && !strings.ContainsRune(NamePunctuation, r)
}

// invisible reports whether an address may not hold r: a reader cannot see
// it, or it could smuggle text (spaces, control and format characters such as
// bidi overrides). RFC 5322 allows some; an alert address needs none.
func invisible(r rune) bool {
	return !unicode.IsGraphic(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)
}

// firstRune returns the first rune of s that is bad (else its first rune).
func firstRune(s string, bad func(rune) bool) rune {
	r, _ := utf8.DecodeRuneInString(s[max(strings.IndexFunc(s, bad), 0):])
	return r
}

// Decode decodes an AddUserContact request for region. An error means the
// request as a whole is unusable; a batch's items are judged each on its own.
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
		case slices.Contains(fieldNames(), name):
			problems.add(apierror.InvalidParameter, name+" cannot be given beside Contacts: a request holds one contact or a batch, not both")
		case !slices.Contains(batchNames(), name):
			problems.unknown(name, batchNames())
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
		p, err := ParseJSON(raw, fmt.Sprintf("Contacts[%d]", i))
		req.Items[i] = Item{Err: err}
		if err == nil {
			req.Items[i] = d.item(p, nil)
		}
	}
	return req, nil
}

// item decodes one contact, reporting every problem at once; allowed lists
// the other names that may appear beside the fields.
func (d *Decoder) item(p Params, allowed []string) Item {
	var problems issues
	for _, name := range p.Names() {
		if !slices.Contains(fieldNames(), name) && !slices.Contains(allowed, name) {
			problems.unknown(name, fieldNames())
		}
	}
	var c Contact
	var skip []string // fields already reported as missing or malformed
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

// describe words a broken rule, never echoing a value whole: an answer may
// be logged, and the email is personal data.
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
		return fmt.Sprintf("Name may contain only letters, digits, spaces and %s; it contains %q", NamePunctuation, firstRune(c.Name, notInName))
	case "visible":
		return fmt.Sprintf("%s may not contain spaces, control or invisible characters; it contains %q", f, firstRune(c.ContactInfo, invisible))
	case "email":
		return f + " must be an email address such as name@example.com"
	case "product":
		return fmt.Sprintf("%s must be %q, the only product AddUserContact supports", f, dbbrain.Product)
	}
	return fmt.Sprintf("%s breaks the rule %q", f, fe.Tag())
}

// checkCommon checks that the common parameters name this action, version
// and region.
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

// issues collects every problem of a request for one answer, coded as the
// most basic (codeOrder()); at most maxUnknown unknown names are quoted, so
// that thousands cannot flood it.
type issues struct {
	msgs     [4][]string // by codeOrder()
	unknowns int
}

func codeOrder() []string {
	return []string{apierror.InvalidParameter, apierror.MissingParameter, apierror.UnknownParameter, apierror.InvalidParameterValue}
}

const maxUnknown = 5

func (p *issues) add(code, msg string) {
	i := slices.Index(codeOrder(), code)
	p.msgs[i] = append(p.msgs[i], msg)
}

func (p *issues) unknown(name string, known []string) {
	if p.unknowns++; p.unknowns > maxUnknown {
		return
	}
	msg := apierror.Quote(name) + " is not a parameter of " + dbbrain.ActionAddUserContact
	if i := slices.IndexFunc(known, func(k string) bool { return strings.EqualFold(k, name) }); i >= 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", known[i])
	}
	p.add(apierror.UnknownParameter, msg)
}

// err joins the problems into one answer, or returns nil; p is a copy, so the count it adds stays out of it.
func (p issues) err() error {
	if n := p.unknowns - maxUnknown; n > 0 {
		p.add(apierror.UnknownParameter, fmt.Sprintf("and %d more unknown parameters", n))
	}
	i := slices.IndexFunc(p.msgs[:], func(m []string) bool { return len(m) > 0 })
	if i < 0 {
		return nil
	}
	return apierror.E(apierror.Invalid, codeOrder()[i], "%s", strings.Join(slices.Concat(p.msgs[:]...), "; "))
}
