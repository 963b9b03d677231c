// Package redact keeps personal data and secrets out of logs.
//
// Contact emails are personal data: logs keep enough of them to tell two
// contacts apart (first character and domain) and nothing more. Secret keys
// and session tokens are never logged in any form. ReplaceAttr applies both
// rules to every log line, so call sites log plain values and cannot forget.
package redact

import (
	"io"
	"log/slog"
	"regexp"
	"strings"
)

// Email masks one email address as its first character, "***", and the
// domain: "test@qq.com" becomes "t***@qq.com". A value without an "@" keeps
// only its first character, so a malformed address cannot leak either.
func Email(s string) string {
	if s == "" {
		return ""
	}
	at := strings.LastIndexByte(s, '@')
	if at == 0 {
		return "***" + s
	}
	first := s
	for i := range s {
		if i > 0 {
			first = s[:i]
			break
		}
	}
	if at < 0 {
		return first + "***"
	}
	return first + "***" + s[at:]
}

// emailish matches anything shaped like an address inside free text, such
// as an upstream error message that quotes the address it rejected: any
// local part, and a domain of letters, digits and hyphens in dot-separated
// labels, so that text which only holds an "@" (a list of punctuation such
// as "_-.!@#$%^") is left as it is.
var emailish = regexp.MustCompile(`[^\s"'<>(),;:@\[\]]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*`)

// EmailsIn masks every address-shaped token inside free text.
func EmailsIn(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return emailish.ReplaceAllStringFunc(s, Email)
}

// userinfo matches the user information of a URL inside free text
// ("scheme://user:password@"), whose password is masked wherever a URL is
// quoted: an endpoint may carry one, and it is echoed in messages.
var userinfo = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://[^\s/:@"'<>]*):[^\s"'<>]*@`)

// URLsIn masks the password of every URL inside free text, as
// url.URL.Redacted does for one URL: "http://u:p@h" becomes
// "http://u:xxxxx@h".
func URLsIn(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return userinfo.ReplaceAllString(s, "${1}:xxxxx@")
}

// Secret replaces a secret with a fixed marker that says only whether it was
// set; its length is not revealed either.
func Secret(s string) string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// secretKey reports whether a log attribute of this name holds a secret.
func secretKey(name string) bool {
	switch strings.ToLower(name) {
	case "secret_key", "secretkey", "token", "session_token", "sessiontoken", "authorization", "password":
		return true
	}
	return false
}

// emailKey reports whether a log attribute of this name holds an address,
// which is masked whole, whatever shape it has: a quoted local part or an
// apostrophe would slip past the pattern that finds addresses in free text.
func emailKey(name string) bool {
	name = strings.ToLower(name)
	return strings.Contains(name, "email") || name == "mail" || name == "contactinfo"
}

// ReplaceAttr is the slog.HandlerOptions.ReplaceAttr of every logger in this
// project: the values of secret attributes are replaced, address attributes
// are masked, and every other string (messages included) has the addresses
// and URL passwords in it masked.
func ReplaceAttr(_ []string, a slog.Attr) slog.Attr {
	if secretKey(a.Key) {
		return slog.String(a.Key, Secret(a.Value.String()))
	}
	if emailKey(a.Key) && a.Value.Kind() == slog.KindString {
		return slog.String(a.Key, Email(a.Value.String())) // masking twice changes nothing
	}
	switch a.Value.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(EmailsIn(URLsIn(a.Value.String())))
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			a.Value = slog.StringValue(EmailsIn(URLsIn(err.Error())))
		}
	}
	return a
}

// NewLogger returns a JSON logger on w at level whose lines pass ReplaceAttr.
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: ReplaceAttr}))
}
