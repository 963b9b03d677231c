package redact

import "testing"

func TestEmail(t *testing.T) {
	for in, want := range map[string]string{
		"test@qq.com":         "t***@qq.com",
		"a@b.cn":              "a***@b.cn",
		"张三@example.com":      "张***@example.com",
		"no-at-sign":          "n***",
		"@qq.com":             "***@qq.com",
		"":                    "",
		"x.y+tag@sub.mail.io": "x***@sub.mail.io",
		"we@ird@host.org":     "w***@host.org",
	} {
		if got := Email(in); got != want {
			t.Errorf("Email(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSecret(t *testing.T) {
	if got := Secret("AKIDsecret"); got != "[redacted]" {
		t.Errorf("Secret = %q", got)
	}
	if got := Secret(""); got != "" {
		t.Errorf("Secret(empty) = %q", got)
	}
}

func TestEmails(t *testing.T) {
	in := `ContactInfo "test@qq.com" is invalid; also (zs@example.cn).`
	want := `ContactInfo "t***@qq.com" is invalid; also (z***@example.cn).`
	if got := Emails(in); got != want {
		t.Errorf("Emails = %q, want %q", got, want)
	}
}
