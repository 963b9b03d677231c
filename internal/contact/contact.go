// Package contact is the DBbrain alert contact: its fields, the rules each
// must follow, and the decoding of an AddUserContact request (one contact or
// a batch) from request parameters.
//
// The rules are struct tags checked by go-playground/validator, with one
// custom tag for the name's character set. They follow the API page where
// its examples agree with it, and the examples where they do not: the page
// says names are letters, digits and "_", yet its own example is
// "John Smith", and the 2021-05-27 version of the API allows letters of any
// script, spaces and some punctuation, so "张三" must pass too.
package contact

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode"

	"github.com/go-playground/validator/v10"

	"github.com/scf-dbbrain/addusercontact/internal/redact"
)

// Limits and fixed values of the API.
const (
	// Product is the only product AddUserContact accepts.
	Product = "mysql"
	// MinNameLen and MaxNameLen bound a name, in characters (runes).
	MinNameLen = 2
	MaxNameLen = 60
	// MaxEmailLen is the longest address SMTP can carry (RFC 5321).
	MaxEmailLen = 254
	// NamePunctuation lists the punctuation a name may hold besides letters,
	// digits and spaces: the 2021-05-27 API's set plus ".".
	NamePunctuation = "_-.!@#$%^&*()+=（）"
)

// Contact is one alert contact as AddUserContact takes it.
type Contact struct {
	Name        string `json:"Name" validate:"required,min=2,max=60,startsnotwith=_,contactname"`     // The contact name, unique per account.
	ContactInfo string `json:"ContactInfo" validate:"required,max=254,startsnotwith=_,visible,email"` // The contact's email address.
	Product     string `json:"Product" validate:"required,eq=mysql"`                                  // Always "mysql".
}

// LogValue keeps the email masked whenever a Contact is logged.
func (c Contact) LogValue() slog.Value {
	return slog.GroupValue(
		// A name may itself be shaped like an address.
		slog.String("name", redact.Emails(c.Name)),
		slog.String("email", redact.Email(c.ContactInfo)),
	)
}

// Validator checks contacts against the struct tags above. It is safe for
// concurrent use; build one per process, since building caches reflection.
type Validator struct {
	v *validator.Validate
}

// NewValidator returns a Validator with the custom "contactname" tag.
func NewValidator() (*Validator, error) {
	v := validator.New(validator.WithRequiredStructEnabled())
	if err := v.RegisterValidation("contactname", func(fl validator.FieldLevel) bool {
		return badNameRune(fl.Field().String()) < 0
	}); err != nil {
		return nil, fmt.Errorf("registering the contactname rule: %w", err)
	}
	if err := v.RegisterValidation("visible", func(fl validator.FieldLevel) bool {
		return invisibleRune(fl.Field().String()) < 0
	}); err != nil {
		return nil, fmt.Errorf("registering the visible rule: %w", err)
	}
	return &Validator{v: v}, nil
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

// problems returns one plain-words sentence per failing field, in field
// order. Values are never echoed whole: a response may be logged by the
// caller, and the email is personal data.
func (v *Validator) problems(c Contact) []string {
	err := v.v.Struct(c)
	if err == nil {
		return nil
	}
	var fieldErrs validator.ValidationErrors
	if !errors.As(err, &fieldErrs) {
		return []string{"the contact could not be validated: " + err.Error()}
	}
	out := make([]string, 0, len(fieldErrs))
	for _, fe := range fieldErrs {
		out = append(out, describe(fe, c))
	}
	return out
}

func describe(fe validator.FieldError, c Contact) string {
	f := fe.Field()
	switch fe.Tag() {
	case "required":
		return fmt.Sprintf("%s must not be empty", f)
	case "min", "max":
		if f == "Name" {
			return fmt.Sprintf("Name must be %d to %d characters long (it has %d)", MinNameLen, MaxNameLen, len([]rune(c.Name)))
		}
		return fmt.Sprintf("%s must be at most %s characters long", f, fe.Param())
	case "startsnotwith":
		return fmt.Sprintf("%s must not start with %q", f, fe.Param())
	case "contactname":
		return fmt.Sprintf("Name may contain only letters, digits, spaces and %s; it contains %q", NamePunctuation, badNameRune(c.Name))
	case "visible":
		return fmt.Sprintf("%s may not contain spaces, control or invisible characters; it contains %q", f, invisibleRune(c.ContactInfo))
	case "email":
		return fmt.Sprintf("%s must be an email address such as name@example.com", f)
	case "eq":
		return fmt.Sprintf("%s must be %q, the only product AddUserContact supports", f, fe.Param())
	}
	return fmt.Sprintf("%s breaks the rule %q", f, fe.Tag())
}
