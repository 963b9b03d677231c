// Package redact masks personal data and secrets before they reach a log.
//
// Contact emails are personal data: logs keep enough of them to tell two
// contacts apart (first character and domain) and nothing more. Secret keys
// and session tokens are never logged in any form.
package redact

import (
	"regexp"
	"strings"
)

// Email masks an email address as its first character, "***", and the domain:
// "test@qq.com" becomes "t***@qq.com". A value without an "@" keeps only its
// first character, so a malformed address still cannot leak through a log.
func Email(s string) string {
	if s == "" {
		return ""
	}
	at := strings.LastIndexByte(s, '@')
	if at == 0 {
		return "***" + s
	}
	first := firstRune(s)
	if at < 0 {
		return first + "***"
	}
	return first + "***" + s[at:]
}

// emailish matches anything shaped like an address inside free text, such
// as an upstream error message that quotes the address it rejected.
var emailish = regexp.MustCompile(`[^\s"'<>(),;:@]+@[^\s"'<>(),;:@]+`)

// Emails masks every address-shaped token inside free text.
func Emails(s string) string {
	return emailish.ReplaceAllStringFunc(s, Email)
}

// Secret replaces a secret with a fixed marker that says only whether it was
// set; its length is not revealed either.
func Secret(s string) string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

func firstRune(s string) string {
	for i := range s {
		if i > 0 {
			return s[:i]
		}
	}
	return s
}
