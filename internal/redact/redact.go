// Package redact keeps personal data and secrets out of logs: an email keeps
// only enough to tell two apart, a secret nothing. ReplaceAttr applies both to
// every log line, so call sites log plain values and cannot forget.
package redact

import (
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Email masks an address as its first character, "***" and the domain
// ("t***@qq.com"); without an "@", as "t***".
func Email(s string) string {
	if s == "" {
		return ""
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		at = len(s)
	}
	_, n := utf8.DecodeRuneInString(s[:at])
	return s[:n] + "***" + s[at:]
}

// emailish finds addresses in free text; the domain must be labels, so that
// punctuation around an "@" is left alone.
var emailish = regexp.MustCompile(`[^\s"'<>(),;:@\[\]]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*`)

// EmailsIn masks every address-shaped token inside free text.
func EmailsIn(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return emailish.ReplaceAllStringFunc(s, Email)
}

// userinfo finds a URL's "scheme://user:password@" in free text, the password
// running to the last "@" before a space, quotes and brackets included; a
// password holding a space is caught only by URL, on a value known to be one.
var userinfo = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://[^\s/:@"'<>]*):\S*@`)

// URLsIn masks the password of every URL in free text, as url.URL.Redacted does.
func URLsIn(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return userinfo.ReplaceAllString(s, "${1}:xxxxx@")
}

var scheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// URL masks the userinfo of one value meant as a URL, parsing or not, whatever
// its password holds: from after "scheme://" (or the start) to the last "@",
// more hidden, never less. A plain user part shows, as url.URL.Redacted.
func URL(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return s
	}
	start := 0
	if i := strings.Index(s[:at], "://"); i >= 0 && scheme.MatchString(s[:i]) {
		start = i + len("://")
	}
	user, _, password := strings.Cut(s[start:at], ":")
	switch {
	case strings.TrimLeft(user, plainUser) != "":
		return s[:start] + "xxxxx" + s[at:]
	case password:
		return s[:start] + user + ":xxxxx" + s[at:]
	}
	return s
}

// plainUser is what a shown user name may hold: RFC 3986's unreserved
// characters and sub-delimiters but "'", and "%".
const plainUser = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&()*+,;=%"

// Secret replaces a secret with a marker that says only whether it was set.
func Secret(s string) string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// ReplaceAttr is every logger's slog.HandlerOptions.ReplaceAttr: secrets are
// replaced, address attributes masked whole (a quoted local part would slip
// past emailish), addresses and URL passwords in other strings and errors.
func ReplaceAttr(_ []string, a slog.Attr) slog.Attr {
	key, isString := strings.ToLower(a.Key), a.Value.Kind() == slog.KindString
	err, isErr := a.Value.Any().(error)
	switch {
	case slices.Contains([]string{"secret_key", "secretkey", "token", "session_token", "sessiontoken", "authorization", "password"}, key):
		return slog.String(a.Key, Secret(a.Value.String()))
	case isString && (strings.Contains(key, "email") || key == "mail" || key == "contactinfo"):
		return slog.String(a.Key, Email(a.Value.String())) // masking twice changes nothing
	case isString:
		return slog.String(a.Key, EmailsIn(URLsIn(a.Value.String())))
	case isErr && a.Value.Kind() == slog.KindAny:
		return slog.String(a.Key, EmailsIn(URLsIn(err.Error())))
	}
	return a
}

// NewLogger returns a JSON logger on w at level whose lines pass ReplaceAttr.
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: ReplaceAttr}))
}
