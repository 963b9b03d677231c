package apierror

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestKindRetryable(t *testing.T) {
	t.Parallel()
	for k, want := range map[Kind]bool{
		0:            false,
		Invalid:      false,
		Conflict:     false,
		NotAttempted: true,
		Transient:    true,
		Throttled:    true,
		Setup:        false,
	} {
		if got := k.Retryable(); got != want {
			t.Errorf("%v.Retryable() = %v, want %v", k, got, want)
		}
	}
}

// TestKindOrder pins the order a combined verdict relies on: the greater
// kind is the more urgent one, and keeping the greatest is one max.
func TestKindOrder(t *testing.T) {
	t.Parallel()
	order := []Kind{Invalid, Conflict, NotAttempted, Transient, Throttled, Setup}
	for i, k := range order {
		if i > 0 && !(order[i-1] < k) {
			t.Errorf("kind %d is not less than kind %d", order[i-1], k)
		}
		if k <= 0 {
			t.Errorf("kind %d is not above the zero Kind", k)
		}
	}
	if got := max(Transient, Setup, Invalid); got != Setup {
		t.Errorf("max = %v", got)
	}
}

func TestFromKindOfCodeOf(t *testing.T) {
	t.Parallel()
	base := E(Invalid, MissingParameter, "Name is %s", "required")
	if base.Kind != Invalid || base.Code != MissingParameter || base.Message != "Name is required" || base.Err != nil {
		t.Fatalf("E = %#v", base)
	}
	wrapped := fmt.Errorf("decoding: %w", base)
	if got := From(wrapped); got != base {
		t.Fatalf("From lost the error: %v", got)
	}
	if KindOf(wrapped) != Invalid || CodeOf(wrapped) != MissingParameter {
		t.Errorf("KindOf/CodeOf(wrapped) = %v/%q", KindOf(wrapped), CodeOf(wrapped))
	}

	plain := errors.New("boom")
	got := From(plain)
	if got.Code != InternalError || got.Kind != Transient || !errors.Is(got, plain) {
		t.Errorf("From(plain) = %#v", got)
	}
	if KindOf(plain) != Transient || CodeOf(plain) != InternalError {
		t.Errorf("KindOf/CodeOf(plain) = %v/%q", KindOf(plain), CodeOf(plain))
	}
	if From(nil) != nil || CodeOf(nil) != "" || KindOf(nil) != 0 {
		t.Error("nil must stay nil")
	}

	cause := errors.New("dial tcp: refused")
	w := Wrap(Transient, NetworkError, cause, "calling %s", "DBbrain")
	if w.Kind != Transient || w.Code != NetworkError || w.Message != "calling DBbrain" || !errors.Is(w, cause) {
		t.Errorf("Wrap = %#v", w)
	}
	var target *Error
	if !errors.As(fmt.Errorf("outer: %w", w), &target) || target != w {
		t.Error("errors.As does not find a wrapped *Error")
	}

	e := &Error{Kind: Transient, Code: InternalError, Message: "x", RequestID: "r-1"}
	if got, want := e.Error(), "InternalError: x (RequestId r-1)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := E(Setup, AuthFailure, "no key").Error(), "AuthFailure: no key"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestFamily(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]string{
		"AuthFailure.SignatureExpire":           AuthFailure,
		AuthFailure:                             AuthFailure,
		InvalidConfiguration:                    InternalError,
		NetworkError:                            "ClientError",
		"RequestLimitExceeded.UinLimitExceeded": RequestLimitExceeded,
		"":                                      "",
	} {
		if got := Family(code); got != want {
			t.Errorf("Family(%q) = %q, want %q", code, got, want)
		}
	}
}

func TestTruncationKeepsCharactersWhole(t *testing.T) {
	t.Parallel()
	s := strings.Repeat("张", 100)
	for n := range 20 {
		if got := Clip(s, n); !utf8.ValidString(got) || len(got) > n+len("…") {
			t.Errorf("Clip(%d) = %q", n, got)
		}
	}
	if got := Clip("abc", 3); got != "abc" {
		t.Errorf("Clip kept-whole = %q", got)
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
