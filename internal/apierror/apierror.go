// Package apierror is the project's one error type, after upspin's errors: its
// Kind, set where it is born, decides every retry, status and verdict; its
// Tencent Cloud code is what the wire shows.
package apierror

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind is what a caller can do about an error.
type Kind int

// The kinds, least urgent first: a verdict combining errors keeps the greatest.
const (
	Invalid      Kind = iota + 1 // The request or contact can never succeed as sent.
	Conflict                     // The name exists with another email, which DBbrain cannot change.
	NotAttempted                 // Too little of the invocation's time was left to try.
	Transient                    // A later try can succeed (DBbrain, the network, the deadline).
	Throttled                    // Refused for the account's rate limit; a slower try succeeds.
	Setup                        // The function's credentials, role, region or configuration: every call fails until fixed.
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

	InvalidConfiguration = "InternalError.InvalidConfiguration" // The function's environment variables are wrong.
	// The ClientError family: the Go SDK's names for failures on our side.
	NetworkError        = "ClientError.NetworkError"
	DeadlineExceeded    = "ClientError.DeadlineExceeded"
	ParseJSONError      = "ClientError.ParseJsonError"
	HTTPStatusCodeError = "ClientError.HttpStatusCodeError"
)

// Error is a failure with a kind and a Tencent Cloud error code.
type Error struct {
	Kind      Kind   // What a caller can do about it.
	Code      string // The Tencent Cloud error code, as the wire shows it.
	Message   string // Human-readable; never holds a secret.
	RequestID string // The answering service's RequestId, if any.
	Err       error  // The underlying cause, if any.
}

// E returns an Error of the kind and code with a formatted message.
func E(kind Kind, code, format string, args ...any) *Error {
	return Wrap(kind, code, nil, format, args...)
}

// Wrap is E keeping err as the cause.
func Wrap(kind Kind, code string, err error, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// Error formats the error as "Code: Message", with the RequestId when known.
func (e *Error) Error() string {
	if e.RequestID != "" {
		return e.Code + ": " + e.Message + " (RequestId " + e.RequestID + ")"
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// From returns the *Error in err's chain, nil for nil, or else a Transient
// InternalError (the function's; may not recur).
func From(err error) *Error {
	if e, ok := errors.AsType[*Error](err); ok || err == nil {
		return e
	}
	return &Error{Kind: Transient, Code: InternalError, Message: "unexpected internal failure", Err: err}
}

// KindOf returns the kind of err, 0 for nil.
func KindOf(err error) Kind { return cmp.Or(From(err), &Error{}).Kind }

// CodeOf returns the code of err, "" for nil.
func CodeOf(err error) string { return cmp.Or(From(err), &Error{}).Code }

// Family is a code's first segment ("AuthFailure" of "AuthFailure.X"): Tencent
// adds sub-codes freely, rules take families.
func Family(code string) string {
	fam, _, _ := strings.Cut(code, ".")
	return fam
}

// MaxMessage bounds a message in an answer or a log line, whatever the input.
const MaxMessage = 2048

// Clip cuts s to at most n bytes at a character boundary, marking the cut with "…".
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// ClipRunes cuts s to at most n characters, marking the cut with "…".
func ClipRunes(s string, n int) string {
	for at := range s {
		if n == 0 {
			return s[:at] + "…"
		}
		n--
	}
	return s
}

// Quote renders a caller's text for a message, quoted and cut to 40 characters.
func Quote(s string) string { return strconv.Quote(ClipRunes(s, 40)) }
