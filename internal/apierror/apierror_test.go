package apierror

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRetryable(t *testing.T) {
	for code, want := range map[string]bool{
		RequestLimitExceeded: true,
		"RequestLimitExceeded.GlobalRegionUinLimitExceeded": true,
		InternalError:           true,
		"InternalError.DBError": true,
		ServiceUnavailable:      true,
		NetworkError:            true,
		DeadlineExceeded:        true,
		InvalidConfiguration:    false,
		FailedOperation:         false,
		AuthFailure:             false,
		SignatureExpire:         false,
		InvalidParameterValue:   false,
		ParseJSONError:          false,
		HTTPStatusCodeError:     false,
		"":                      false,
	} {
		if got := Retryable(code); got != want {
			t.Errorf("Retryable(%q) = %v, want %v", code, got, want)
		}
	}
}

func TestFromAndIs(t *testing.T) {
	base := New(MissingParameter, "Name is required")
	wrapped := fmt.Errorf("decoding: %w", base)
	if got := From(wrapped); got != base {
		t.Fatalf("From lost the error: %v", got)
	}
	if !errors.Is(wrapped, New(MissingParameter, "")) {
		t.Error("errors.Is does not match by code")
	}
	if errors.Is(wrapped, New(InvalidParameter, "")) {
		t.Error("errors.Is matched another code")
	}
	plain := errors.New("boom")
	if got := From(plain); got.Code != InternalError || !errors.Is(got, plain) {
		t.Errorf("From(plain) = %#v", got)
	}
	if From(nil) != nil || CodeOf(nil) != "" {
		t.Error("nil must stay nil")
	}
	e := &Error{Code: InternalError, Message: "x", RequestID: "r-1"}
	if got, want := e.Error(), "InternalError: x (RequestId r-1)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if Family(SignatureExpire) != AuthFailure || Family(AuthFailure) != AuthFailure {
		t.Error("Family")
	}
}

func TestTruncationKeepsCharactersWhole(t *testing.T) {
	s := strings.Repeat("张", 100)
	for n := range 20 {
		if got := Clip(s, n); !utf8.ValidString(got) || len(got) > n+len("…") {
			t.Errorf("Clip(%d) = %q", n, got)
		}
	}
	if got := ClipRunes("张三李四", 2); got != "张三…" {
		t.Errorf("ClipRunes = %q", got)
	}
	if got := ClipRunes("ab", 2); got != "ab" {
		t.Errorf("ClipRunes kept-whole = %q", got)
	}
	if got := Quote(strings.Repeat("x", 50)); got != `"`+strings.Repeat("x", 40)+`…"` {
		t.Errorf("Quote = %s", got)
	}
}
