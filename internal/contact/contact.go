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
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"

	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
)

// NamePunctuation lists the punctuation a name may hold besides letters,
// digits and spaces: the 2021-05-27 API's set plus ".".
const NamePunctuation = "_-.!@#$%^&*()+=（）"

// Contact is one alert contact as AddUserContact takes it.
type Contact struct {
	Name        string `json:"Name" validate:"required,namelen,startsnotwith=_,contactname"`           // The contact name, unique per account.
	ContactInfo string `json:"ContactInfo" validate:"required,emaillen,startsnotwith=_,visible,email"` // The contact's email address.
	Product     string `json:"Product" validate:"required,product"`                                    // Always dbbrain.Product.
}

// Decoder decodes requests into contacts and checks every field against the
// rules. It is safe for concurrent use; build one per process, since building
// caches reflection.
type Decoder struct {
	v *validator.Validate
}

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
		switch {
		case unicode.IsLetter(r), unicode.IsMark(r), unicode.IsDigit(r), r == ' ':
		case strings.ContainsRune(NamePunctuation, r):
		default:
			return r
		}
	}
	return -1
}

// invisibleRune returns the first rune of an address that a reader cannot
// see or that could smuggle text: spaces, control characters and format
// characters (bidirectional overrides, zero-width spaces). RFC 5322 allows
// some of them inside quoted local parts; an alert address has no use for
// them. It returns -1 when there is none.
func invisibleRune(s string) rune {
	for _, r := range s {
		if !unicode.IsGraphic(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
			return r
		}
	}
	return -1
}

// ruleProblems returns, per field, the plain-words sentence for each rule c
// breaks, in field order. Values are never echoed whole: an answer may be
// logged by the caller, and the email is personal data.
func (d *Decoder) ruleProblems(c Contact) (fields []string, msgs []string) {
	err := d.v.Struct(c)
	var fieldErrs validator.ValidationErrors
	if err == nil {
		return nil, nil
	}
	if !errors.As(err, &fieldErrs) {
		return []string{""}, []string{"the contact could not be validated: " + err.Error()}
	}
	for _, fe := range fieldErrs {
		fields = append(fields, fe.Field())
		msgs = append(msgs, describe(fe, c))
	}
	return fields, msgs
}

func describe(fe validator.FieldError, c Contact) string {
	f := fe.Field()
	switch fe.Tag() {
	case "required":
		return fmt.Sprintf("%s must not be empty", f)
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
		return fmt.Sprintf("%s must be an email address such as name@example.com", f)
	case "product":
		return fmt.Sprintf("%s must be %q, the only product AddUserContact supports", f, dbbrain.Product)
	}
	return fmt.Sprintf("%s breaks the rule %q", f, fe.Tag())
}
