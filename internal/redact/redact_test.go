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
