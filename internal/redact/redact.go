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

// userinfo finds a URL's "scheme://user:password@" in free text. The
// password runs to the last "@" before a space: quotes and brackets are in it
// (a quoted value escapes a '"' as `\"`), and nothing in free text tells
// where a password holding a space ends, which is why a value known to be
// one URL goes through URL instead.
var userinfo = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://[^\s/:@"'<>]*):\S*@`)

// URLsIn masks the password of every URL in free text, as url.URL.Redacted does.
func URLsIn(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return userinfo.ReplaceAllString(s, "${1}:xxxxx@")
}

// scheme is a URL's scheme (RFC 3986, section 3.1).
var scheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// URL masks the userinfo of one value meant as a URL, such as a variable's,
// whatever characters its password holds, and whether or not the value
// parses: the userinfo runs from after "scheme://" (from the start without
// one) to the value's last "@". It is shown as "user:xxxxx@" when the user
// part is plain, as "xxxxx@" otherwise; one without a ":" holds no password
// and is kept when plain, as url.URL.Redacted does. An "@" in a path or query
// masks what comes before it too: more is hidden, never less.
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

// plainUser holds the characters a user name may show: RFC 3986's unreserved
// characters, its sub-delimiters but "'", and "%" for escapes.
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
