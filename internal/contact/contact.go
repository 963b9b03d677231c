// Package contact is the DBbrain alert contact, its rules (validator struct
// tags; why these, the README's "Validation"), and the decoding of an
// AddUserContact request, one contact or a batch.
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

// A request holds a contact's fields or a batch's Contacts, beside the API 3.0 common parameters.
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

// invisible reports whether an address may not hold r: a reader cannot see it,
// or it could smuggle text (spaces, control and format characters such as bidi
// overrides). RFC 5322 allows some; an alert address needs none.
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
	for _, c := range []struct{ name, want, code, hint string }{
		{"Action", dbbrain.ActionAddUserContact, apierror.InvalidAction, "this function serves only " + dbbrain.ActionAddUserContact},
		{"Version", dbbrain.Version, apierror.NoSuchVersion, "this function serves only version " + dbbrain.Version},
		{"Region", region, apierror.UnsupportedRegion, "this function calls DBbrain in " + region},
	} {
		if got, present, err := p.String(c.name); err != nil {
			return Request{}, err
		} else if present && got != c.want {
			return Request{}, apierror.E(apierror.Invalid, c.code, "%s %s is not supported: %s", c.name, apierror.Quote(got), c.hint)
		}
	}
	if !p.Has("Contacts") {
		it := d.item(p, commonNames())
		return Request{Items: []Item{it}}, it.Err
	}
	var besides []string
	for _, name := range p.Names() {
		if slices.Contains(fieldNames(), name) {
			besides = append(besides, name+" cannot be given beside Contacts: a request holds one contact or a batch, not both")
		}
	}
	if err := answer(besides, nil, unknown(p.Names(), batchNames(), fieldNames()...), nil); err != nil {
		return Request{}, err
	}
	raw, _ := p.Raw("Contacts")
	var raws []jsontext.Value // each item is read on its own, its repeated names included
	if raw.Kind() != '[' || json.Unmarshal(raw, &raws, jsontext.AllowDuplicateNames(true)) != nil {
		return Request{}, invalid("Contacts must be a list of contacts, not %s", JSONKind(raw))
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

// item decodes one contact, reporting every problem at once; allowed are the
// other names it may hold.
func (d *Decoder) item(p Params, allowed []string) Item {
	var malformed, missing, badValues []string
	field := func(name, ifMissing string) string {
		s, present, err := p.String(name)
		switch {
		case err != nil:
			malformed = append(malformed, apierror.From(err).Message)
		case !present && ifMissing == "":
			s = dbbrain.Product // the only value, so the natural default
		case !present:
			missing = append(missing, ifMissing)
		}
		return strings.Trim(s, " ")
	}
	c := Contact{ // read in this order, the order of the messages
		Name:        field("Name", "Name is required"),
		ContactInfo: field("ContactInfo", "ContactInfo (the contact's email address) is required"),
		Product:     field("Product", ""),
	}
	fieldErrs, _ := errors.AsType[validator.ValidationErrors](d.v.Struct(c)) // c is a struct, so nothing else
	for _, fe := range fieldErrs {
		// A field that is not a string is empty here, and already
		// reported as missing or malformed.
		if raw, _ := p.Raw(fe.Field()); fe.Tag() != "required" || raw.Kind() == '"' {
			badValues = append(badValues, describe(fe, c))
		}
	}
	name := apierror.ClipRunes(c.Name, dbbrain.MaxNameLen)
	if err := answer(malformed, missing, unknown(p.Names(), fieldNames(), allowed...), badValues); err != nil {
		return Item{Name: name, Err: err}
	}
	return Item{Name: name, Contact: c}
}

// describe words a broken rule, never echoing a value whole: an answer may be
// logged, and the email is personal data.
func describe(fe validator.FieldError, c Contact) string {
	switch f := fe.Field(); fe.Tag() {
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
	default:
		return fmt.Sprintf("%s breaks the rule %q", f, fe.Tag())
	}
}

// unknown words the names neither known nor allowed, suggesting a known one
// that differs only in case; it quotes five at most, so that thousands cannot
// flood the answer.
func unknown(names, known []string, allowed ...string) (msgs []string) {
	names = slices.DeleteFunc(names, func(n string) bool { return slices.Contains(known, n) || slices.Contains(allowed, n) })
	for _, name := range names[:min(len(names), 5)] {
		msg := apierror.Quote(name) + " is not a parameter of " + dbbrain.ActionAddUserContact
		if i := slices.IndexFunc(known, func(k string) bool { return strings.EqualFold(k, name) }); i >= 0 {
			msg += fmt.Sprintf(" (did you mean %s?)", known[i])
		}
		msgs = append(msgs, msg)
	}
	if len(names) > 5 {
		msgs = append(msgs, fmt.Sprintf("and %d more unknown parameters", len(names)-5))
	}
	return msgs
}

// answer joins a request's problems into one error, coded as the most basic
// kind present; nil if none.
func answer(malformed, missing, unknowns, badValues []string) error {
	groups := [][]string{malformed, missing, unknowns, badValues}
	codes := []string{apierror.InvalidParameter, apierror.MissingParameter, apierror.UnknownParameter, apierror.InvalidParameterValue}
	if i := slices.IndexFunc(groups, func(g []string) bool { return len(g) > 0 }); i >= 0 {
		return apierror.E(apierror.Invalid, codes[i], "%s", strings.Join(slices.Concat(groups...), "; "))
	}
	return nil
}
