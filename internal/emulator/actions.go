package emulator

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
)

// rules are one API version's own contact rules, written from its pages.
type rules struct {
	minName, maxName int
	nameSymbols      string // allowed besides letters (any script), marks and digits
	// 2019-10-16 requires Region and unique names; 2021-05-27 wants unique
	// emails that start with a letter or a digit.
	regionRequired, uniqueName, uniqueMail, mailAlnumStart bool
}

// versionRules returns the rules of an emulated API version.
func versionRules(version string) (rules, bool) {
	switch version {
	case dbbrain.Version:
		// The page says letters, digits and "_" only, but its own examples
		// are "John Smith" and "张三": the later version's wider set (plus
		// ".") is used so that no official example is refused.
		return rules{minName: dbbrain.MinNameLen, maxName: dbbrain.MaxNameLen, nameSymbols: " _-.!@#$%^&*()+=（）",
			regionRequired: true, uniqueName: true}, true
	case Version20210527:
		return rules{minName: 1, maxName: MaxNameLen20210527, nameSymbols: " !@#$%^&*()_+-=（）",
			uniqueMail: true, mailAlnumStart: true}, true
	}
	return rules{}, false
}

// nameProblem says what is wrong with a contact name, or "".
func (v rules) nameProblem(name string) string {
	n := utf8.RuneCountInString(name)
	switch {
	case !utf8.ValidString(name):
		return "is not valid UTF-8"
	case n < v.minName || n > v.maxName:
		return fmt.Sprintf("must be %d-%d characters long, not %d", v.minName, v.maxName, n)
	case strings.HasPrefix(name, "_"):
		return "must not start with `_`"
	case strings.TrimSpace(name) == "":
		return "must not be blank"
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r) && !strings.ContainsRune(v.nameSymbols, r) {
			return fmt.Sprintf("must not contain %q", r)
		}
	}
	return ""
}

// mailProblem says what is wrong with a contact email, or "".
func (s *Server) mailProblem(v rules, mail string) string {
	first, _ := utf8.DecodeRuneInString(mail)
	switch {
	case len(mail) > dbbrain.MaxEmailLen:
		return fmt.Sprintf("must be at most %d characters long", dbbrain.MaxEmailLen)
	case first == '_':
		return "must not start with `_`"
	case v.mailAlnumStart && !unicode.IsLetter(first) && !unicode.IsDigit(first):
		return "must start with a letter or a digit"
	case s.validate.Var(mail, "required,email") != nil:
		return "must be an email address"
	}
	return ""
}

func (s *Server) addUserContact(v rules, p params) (map[string]any, error) {
	if err := p.check(paramSpec{name: "Name", required: true}, paramSpec{name: "ContactInfo", required: true}, paramSpec{name: "Product", required: true, only: dbbrain.Product}); err != nil {
		return nil, err
	}
	name, mail := p.str("Name"), p.str("ContactInfo")
	if why := v.nameProblem(name); why != "" {
		return nil, invalidValue("Name", why)
	}
	if why := s.mailProblem(v, mail); why != "" {
		return nil, invalidValue("ContactInfo", why)
	}
	s.mu.Lock()
	c, err := s.store.add(name, mail, func(cs []Contact) error {
		switch {
		case v.uniqueName && slices.ContainsFunc(cs, func(c Contact) bool { return c.Name == name }):
			return apierror.E(apierror.Invalid, apierror.FailedOperation, "The contact name %s already exists.", apierror.Quote(name))
		case v.uniqueMail && slices.ContainsFunc(cs, func(c Contact) bool { return strings.EqualFold(c.Mail, mail) }):
			return apierror.E(apierror.Invalid, apierror.FailedOperation, "The contact email %s already exists.", apierror.Quote(mail))
		}
		return nil
	})
	s.mu.Unlock()
	if err != nil && apierror.CodeOf(err) != apierror.FailedOperation {
		err = apierror.Wrap(apierror.Invalid, apierror.InternalError, err, "An internal error has occurred: the contact could not be saved.")
	}
	return map[string]any{"Id": c.Id}, err
}

// describeAllUserContact matches names like the service: any of Names as a
// substring, ignoring case; no names lists every contact.
func (s *Server) describeAllUserContact(p params) (map[string]any, error) {
	if err := p.check(paramSpec{name: "Product", required: true, only: dbbrain.Product}, paramSpec{name: "Names", array: true}); err != nil {
		return nil, err
	}
	names := p.strs("Names")
	found := []Contact{}
	for _, c := range s.Contacts() {
		if len(names) == 0 || slices.ContainsFunc(names, func(n string) bool {
			return strings.Contains(strings.ToLower(c.Name), strings.ToLower(n))
		}) {
			found = append(found, c)
		}
	}
	return map[string]any{"TotalCount": len(found), "Contacts": found}, nil
}

func invalidValue(name, why string) error {
	return apierror.E(apierror.Invalid, apierror.InvalidParameterValue, "The value of parameter `%s` is invalid: it %s.", name, why)
}
