// Package apierror is the one error type of this project, in the manner of
// upspin's errors package: an Error carries a Kind, which says what a caller
// can do about it and is set where the error is born, and a Tencent Cloud
// error code ("InvalidParameterValue", "AuthFailure.SignatureExpire", ...),
// which is what the wire shows. Every decision (retry, HTTP status, a
// record's verdict, a function error) reads the kind; no decision is made
// again from the code.
package apierror

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind is what a caller can do about an error.
type Kind int

// The kinds, from the least to the most urgent: a verdict that combines
// several errors keeps the greatest.
const (
	// Invalid: the request or this contact can never succeed as sent (a
	// rule, a value DBbrain refuses, an event that is not usable). Retrying
	// the same input fails the same way.
	Invalid Kind = iota + 1
	// Conflict: the name exists with another email address; DBbrain cannot
	// modify or delete contacts, so only another name can succeed.
	Conflict
	// NotAttempted: too little of the invocation's time was left to try;
	// another invocation will.
	NotAttempted
	// Transient: a later try can succeed (DBbrain's faults, the network,
	// the deadline, a lookup that could not tell).
	Transient
	// Throttled: DBbrain refused the call for the account's rate limit; a
	// later, slower try succeeds.
	Throttled
	// Setup: the function's own credentials, role, region or
	// configuration. No contact can succeed until someone fixes it, and
	// every call until then is wasted.
	Setup
)

// Retryable reports whether trying the same thing again, later, can succeed.
func (k Kind) Retryable() bool { return k == NotAttempted || k == Transient || k == Throttled }

// Codes the function raises itself; DBbrain's pass through as sent.
const (
	AuthFailure              = "AuthFailure"
	FailedOperation          = "FailedOperation"
	InternalError            = "InternalError"
	InvalidAction            = "InvalidAction"
	InvalidParameter         = "InvalidParameter"
	InvalidParameterValue    = "InvalidParameterValue"
	MissingParameter         = "MissingParameter"
	NoSuchVersion            = "NoSuchVersion"
	RequestLimitExceeded     = "RequestLimitExceeded"
	RequestSizeLimitExceeded = "RequestSizeLimitExceeded"
	ServiceUnavailable       = "ServiceUnavailable"
	UnknownParameter         = "UnknownParameter"
	UnsupportedOperation     = "UnsupportedOperation"
	UnsupportedRegion        = "UnsupportedRegion"

	// InvalidConfiguration: the function's environment variables are wrong.
	InvalidConfiguration = "InternalError.InvalidConfiguration"
	// The ClientError family: the Go SDK's names for failures on our side.
	NetworkError        = "ClientError.NetworkError"
	DeadlineExceeded    = "ClientError.DeadlineExceeded"
	ParseJSONError      = "ClientError.ParseJsonError"
	HTTPStatusCodeError = "ClientError.HttpStatusCodeError"
)

// Error is a failure with a kind and a Tencent Cloud error code.
type Error struct {
	Kind    Kind   // What a caller can do about it.
	Code    string // The Tencent Cloud error code, as the wire shows it.
	Message string // Human-readable; never holds a secret.
	// RequestID is the answering service's RequestId, else empty.
	RequestID string
	Err       error // The underlying cause, if any.
}

// E returns an Error of the kind and code with a formatted message.
func E(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap is E keeping err as the cause.
func Wrap(kind Kind, code string, err error, format string, args ...any) *Error {
	e := E(kind, code, format, args...)
	e.Err = err
	return e
}

// Error formats the error as "Code: Message", with the RequestId when known.
func (e *Error) Error() string {
	s := e.Code + ": " + e.Message
	if e.RequestID != "" {
		s += " (RequestId " + e.RequestID + ")"
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// From returns the *Error in err's chain or, for any other error, a
// Transient InternalError that keeps err as its cause (an unexpected failure
// is the function's, and may not happen again). It returns nil for nil.
func From(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: Transient, Code: InternalError, Message: "unexpected internal failure", Err: err}
}

// KindOf returns the kind of err, 0 for nil.
func KindOf(err error) Kind {
	if err == nil {
		return 0
	}
	return From(err).Kind
}

// CodeOf returns the code of err, "" for nil.
func CodeOf(err error) string {
	if err == nil {
		return ""
	}
	return From(err).Code
}

// Family is a code's first segment: "AuthFailure.SignatureExpire" belongs
// to "AuthFailure". Tencent Cloud adds sub-codes freely, so rules are
// written for families.
func Family(code string) string {
	fam, _, _ := strings.Cut(code, ".")
	return fam
}

// MaxMessage bounds a message as it leaves the function, in an answer or a
// log line: no input can make either grow without bound.
const MaxMessage = 2048

// Clip cuts s to at most n bytes at a character boundary, marking the cut
// with "…". It is the project's one truncation rule, so that no message can
// end in half a UTF-8 character.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// ClipRunes cuts s to at most n characters, marking the cut with "…".
func ClipRunes(s string, n int) string {
	i := 0
	for at := range s {
		if i == n {
			return s[:at] + "…"
		}
		i++
	}
	return s
}

// Quote renders text that came from a caller for a message: quoted, and cut
// to 40 characters so that a hostile value cannot flood an answer or a log.
func Quote(s string) string {
	return strconv.Quote(ClipRunes(s, 40))
}
