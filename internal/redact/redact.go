// Package redact keeps personal data and secrets out of logs: an email keeps
// only enough to tell two apart, a secret nothing. ReplaceAttr applies both
// rules to every log line, so call sites log plain values and cannot forget.
package redact

import (
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Email masks an address as its first character, "***", and the domain
// ("t***@qq.com"); without an "@", only the first character is kept.
func Email(s string) string {
	at := strings.LastIndexByte(s, '@')
	switch {
	case s == "":
		return ""
	case at == 0:
		return "***" + s
	case at < 0:
		at = len(s)
	}
	_, n := utf8.DecodeRuneInString(s)
	return s[:n] + "***" + s[at:]
}

// emailish finds addresses in free text, such as a message quoting one; the
// domain must be labels, so that punctuation around an "@" is left alone.
var emailish = regexp.MustCompile(`[^\s"'<>(),;:@\[\]]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*`)

// EmailsIn masks every address-shaped token inside free text.
func EmailsIn(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return emailish.ReplaceAllStringFunc(s, Email)
}

// userinfo finds a URL's "scheme://user:password@" in free text.
var userinfo = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://[^\s/:@"'<>]*):[^\s"'<>]*@`)

// URLsIn masks the password of every URL in free text, as url.URL.Redacted does.
func URLsIn(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return userinfo.ReplaceAllString(s, "${1}:xxxxx@")
}

// Secret replaces a secret with a marker that says only whether it was set.
func Secret(s string) string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// ReplaceAttr is every logger's slog.HandlerOptions.ReplaceAttr: secrets are
// replaced, address attributes masked whole (a quoted local part would slip
// past emailish), and addresses and URL passwords in any other string masked.
func ReplaceAttr(_ []string, a slog.Attr) slog.Attr {
	switch key := strings.ToLower(a.Key); {
	case slices.Contains([]string{"secret_key", "secretkey", "token", "session_token", "sessiontoken", "authorization", "password"}, key):
		return slog.String(a.Key, Secret(a.Value.String()))
	case (strings.Contains(key, "email") || key == "mail" || key == "contactinfo") && a.Value.Kind() == slog.KindString:
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
