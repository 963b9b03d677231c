package emulator

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Product is the only product the contact APIs accept.
const Product = "mysql"

// addSpecs are AddUserContact's parameters, in the order they are checked.
func addSpecs() []paramSpec {
	return []paramSpec{
		{name: "Name", kind: kindString, required: true},
		{name: "ContactInfo", kind: kindString, required: true},
		{name: "Product", kind: kindString, required: true},
	}
}

// describeSpecs are DescribeAllUserContact's parameters.
func describeSpecs() []paramSpec {
	return []paramSpec{
		{name: "Product", kind: kindString, required: true},
		{name: "Names", kind: kindStringArray},
	}
}

type addOutput struct {
	Id int64
}

type describeOutput struct {
	TotalCount int64
	Contacts   []Contact
}

func (s *Server) addUserContact(p params) (any, *apiError) {
	if e := p.check(addSpecs()); e != nil {
		return nil, e
	}
	name, mail := p.str("Name"), p.str("ContactInfo")
	if why := nameProblem(name); why != "" {
		return nil, invalidValue("Name", why)
	}
	if why := s.mailProblem(mail); why != "" {
		return nil, invalidValue("ContactInfo", why)
	}
	if e := checkProduct(p); e != nil {
		return nil, e
	}
	s.mu.Lock()
	c, exists, err := s.store.add(name, mail)
	s.mu.Unlock()
	switch {
	case err != nil:
		return nil, &apiError{"InternalError", "An internal error has occurred: the contact could not be saved."}
	case exists:
		return nil, &apiError{"FailedOperation", fmt.Sprintf("The contact name `%s` already exists.", clip(name))}
	}
	return addOutput{Id: c.Id}, nil
}

func (s *Server) describeAllUserContact(p params) (any, *apiError) {
	if e := p.check(describeSpecs()); e != nil {
		return nil, e
	}
	if e := checkProduct(p); e != nil {
		return nil, e
	}
	s.mu.Lock()
	found := s.store.find(p.strs("Names"))
	s.mu.Unlock()
	return describeOutput{TotalCount: int64(len(found)), Contacts: found}, nil
}

func checkProduct(p params) *apiError {
	if p.str("Product") != Product {
		return invalidValue("Product", "must be `mysql`")
	}
	return nil
}

func invalidValue(name, why string) *apiError {
	return &apiError{"InvalidParameterValue", fmt.Sprintf("The value of parameter `%s` is invalid: it %s.", name, why)}
}

// nameSymbols are the non-alphanumeric characters a contact name may hold
// (the 2021-05-27 API's list plus "." ).
const nameSymbols = " _-.!@#$%^&*()+=（）"

// nameProblem says what is wrong with a contact name, or "" if nothing.
//
// The 2019-10-16 page says letters, digits and "_" only, but its own example
// is "John Smith" and the Chinese page's is "张三"; the newer API version
// allows letters of any script, digits, spaces and some symbols. The
// emulator follows the newer, wider rule so that it never rejects an official
// example.
func nameProblem(name string) string {
	n := utf8.RuneCountInString(name)
	switch {
	case !utf8.ValidString(name):
		return "is not valid UTF-8"
	case n < 2 || n > 60:
		return fmt.Sprintf("must be 2-60 characters long, not %d", n)
	case strings.HasPrefix(name, "_"):
		return "must not start with `_`"
	case strings.TrimSpace(name) == "":
		return "must not be blank"
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r) && !strings.ContainsRune(nameSymbols, r) {
			return fmt.Sprintf("must not contain %q", r)
		}
	}
	return ""
}

// mailProblem says what is wrong with a contact email, or "" if nothing.
func (s *Server) mailProblem(mail string) string {
	switch {
	case len(mail) > 254:
		return "must be at most 254 characters long"
	case strings.HasPrefix(mail, "_"):
		return "must not start with `_`"
	case s.validate.Var(mail, "required,email") != nil:
		return "must be an email address"
	}
	return ""
}
