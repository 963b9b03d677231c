package redact

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"test@qq.com":           "t***@qq.com",
		"张三@example.com":        "张***@example.com",
		"@qq.com":               "***@qq.com",
		"no-at-sign":            "n***",
		"":                      "",
		"a@b@c.com":             "a***@c.com",
		"zhangsan@example.com":  "z***@example.com",
		"x":                     "x***",
		"first.last@corp.cn":    "f***@corp.cn",
		"UPPER@EXAMPLE.COM":     "U***@EXAMPLE.COM",
		"e@e":                   "e***@e",
		"\u00e9t\u00e9@site.fr": "\u00e9***@site.fr",
	} {
		if got := Email(in); got != want {
			t.Errorf("Email(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEmailsIn(t *testing.T) {
	t.Parallel()
	got := EmailsIn(`The value "test@qq.com" of ContactInfo conflicts with <zhangsan@example.com>.`)
	if strings.Contains(got, "test@qq.com") || strings.Contains(got, "zhangsan@") || !strings.Contains(got, "t***@qq.com") {
		t.Errorf("EmailsIn = %q", got)
	}
	if got := EmailsIn("no address here"); got != "no address here" {
		t.Errorf("EmailsIn changed plain text: %q", got)
	}
}

func TestSecret(t *testing.T) {
	t.Parallel()
	if Secret("") != "" || Secret("abc") != "[redacted]" || Secret(strings.Repeat("k", 100)) != "[redacted]" {
		t.Error("Secret")
	}
}

// Every line of a NewLogger is redacted, whatever the call site passes.
func TestLoggerRedactsEveryLine(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	log := NewLogger(&b, slog.LevelDebug)
	log.Info("registered test@qq.com", "email", "test@qq.com", "token", "TOKEN-XYZ", "secret_key", "KEY-XYZ",
		"existing_email", `"john.doe"@corp.cn`, "mail", "o'brien@corp.cn",
		"err", errors.New("conflict with zhangsan@example.com"), slog.Group("contact", "name", "boss@corp.cn"),
		"endpoint", "http://user:PW-XYZ@127.0.0.1:9000", "password", "PASS-XYZ",
		"cause", errors.New(`Post "https://id:ERRPW-XYZ@h/": refused`))
	out := b.String()
	for _, leak := range []string{"test@qq.com", "TOKEN-XYZ", "KEY-XYZ", "zhangsan@example.com", "boss@corp.cn", "john.doe", "brien", "PW-XYZ", "PASS-XYZ"} {
		if strings.Contains(out, leak) {
			t.Errorf("%q leaked: %s", leak, out)
		}
	}
	for _, want := range []string{"t***@qq.com", "[redacted]", "z***@example.com", "b***@corp.cn", "@127.0.0.1:9000", "https://id:"} {
		if !strings.Contains(out, want) {
			t.Errorf("%q missing: %s", want, out)
		}
	}
}

func TestURLsIn(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"calling AddUserContact at http://user:pa55@127.0.0.1:9000 failed": "calling AddUserContact at http://user:xxxxx@127.0.0.1:9000 failed",
		"endpoint \"HTTPS://a:b@h/\" is bad":                               "endpoint \"HTTPS://a:xxxxx@h/\" is bad",
		"http://user@h has no password":                                    "http://user@h has no password",
		"DBBRAIN_ENDPOINT=https://id:se/cr@et@dbbrain.tencentcloudapi.com": "DBBRAIN_ENDPOINT=https://id:xxxxx@dbbrain.tencentcloudapi.com",
		"no url here: a:b@c":                                               "no url here: a:b@c",
	} {
		if got := URLsIn(in); got != want {
			t.Errorf("URLsIn(%q) = %q, want %q", in, got, want)
		}
	}
}

// A quote or a bracket in a password is masked in free text too, up to the
// last "@" before a space.
func TestURLsInOddPassword(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`Post "https://id:se\"cret@h/": refused`:       `Post "https://id:xxxxx@h/": refused`,
		"at http://id:se<cr>et@h failed":               "at http://id:xxxxx@h failed",
		"at http://id:se'cret@h failed":                "at http://id:xxxxx@h failed",
		"at http://id:se@cr/et@h failed for a@b.cn":    "at http://id:xxxxx@h failed for a@b.cn",
		"at http://127.0.0.1:9000 failed for a@b.cn":   "at http://127.0.0.1:9000 failed for a@b.cn",
		`Post "http://127.0.0.1:9000/": refused a@b.c`: `Post "http://127.0.0.1:9000/": refused a@b.c`,
	} {
		if got := URLsIn(in); got != want {
			t.Errorf("URLsIn(%q) = %q, want %q", in, got, want)
		}
	}
}

// URL masks one value's userinfo whatever its password holds, from after
// "scheme://" (or the start) to the last "@".
func TestURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://id:se cret@host":                   "https://id:xxxxx@host",
		`https://id:se"cret@host`:                   "https://id:xxxxx@host",
		"https://id:se<cret>@host":                  "https://id:xxxxx@host",
		"https://id:se'cret@host":                   "https://id:xxxxx@host",
		"https://id:se@cret@host":                   "https://id:xxxxx@host",
		"https://id:se/cret@host":                   "https://id:xxxxx@host",
		"https://id:se/cr@et@host:9000/":            "https://id:xxxxx@host:9000/",
		"https://id:se:cret@host":                   "https://id:xxxxx@host",
		"https://id:1234#cret@host":                 "https://id:xxxxx@host",
		"https://id:se\ncret@host":                  "https://id:xxxxx@host",
		"https://id:@host":                          "https://id:xxxxx@host",
		"https://:secret@host":                      "https://:xxxxx@host",
		"HTTPS://a:b@h/":                            "HTTPS://a:xxxxx@h/",
		"https://us er:secret@host":                 "https://xxxxx@host",
		"https://us\"er@host":                       "https://xxxxx@host",
		"https://a@b.cn:secret@host":                "https://xxxxx@host",
		"https://user@host":                         "https://user@host",
		"https://user%40corp@host":                  "https://user%40corp@host",
		"https://@host":                             "https://@host",
		"id:secret@host":                            "id:xxxxx@host",
		"id:se://cret@host":                         "id:xxxxx@host",
		"//id:secret@host":                          "xxxxx@host",
		"https:/id:secret@host":                     "https:xxxxx@host",
		"se cret@host":                              "xxxxx@host",
		"http://127.0.0.1:9000":                     "http://127.0.0.1:9000",
		"https://dbbrain.intl.tencentcloudapi.com/": "https://dbbrain.intl.tencentcloudapi.com/",
		"http://[::1":                               "http://[::1",
		"":                                          "",
		"2.5":                                       "2.5",
	} {
		got := URL(in)
		if got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
		if again := URLsIn(got); again != got {
			t.Errorf("URLsIn(URL(%q)) = %q, not %q", in, again, got)
		}
	}
}

// Text that only holds an "@" is not an address, and keeps its shape.
func TestEmailsInLeavesPunctuationAlone(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"Name may contain only letters, digits, spaces and _-.!@#$%^&*()+=（）; it contains '/'",
		"@ alone", "a @ b", "100% @#$",
	} {
		if got := EmailsIn(s); got != s {
			t.Errorf("EmailsIn(%q) = %q", s, got)
		}
	}
	if got := EmailsIn("to 张三@例子.公司 and x.y+z@mail.qq.com."); got != "to 张***@例子.公司 and x***@mail.qq.com." {
		t.Errorf("EmailsIn = %q", got)
	}
}
