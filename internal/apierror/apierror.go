// Package apierror is the one error type of this project.
//
// Its kind is a Tencent Cloud API error code ("InvalidParameterValue",
// "AuthFailure.SignatureExpire", ...), so an error raised by the function, one
// answered by DBbrain and one answered by the local emulator travel the same
// way and reach the caller in the same envelope. What a code means for an
// HTTP caller is the handler's business, not this package's.
package apierror

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Codes raised here or passed through from DBbrain; the README documents
// each.
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
	ResourceNotFound         = "ResourceNotFound"
	ServiceUnavailable       = "ServiceUnavailable"
	UnauthorizedOperation    = "UnauthorizedOperation"
	UnknownParameter         = "UnknownParameter"
	UnsupportedOperation     = "UnsupportedOperation"
	UnsupportedRegion        = "UnsupportedRegion"

	// The AuthFailure sub-codes a signature check answers.
	InvalidAuthorization = "AuthFailure.InvalidAuthorization"
	SignatureFailure     = "AuthFailure.SignatureFailure"
	SignatureExpire      = "AuthFailure.SignatureExpire"
	SecretIDNotFound     = "AuthFailure.SecretIdNotFound"
	TokenFailure         = "AuthFailure.TokenFailure"

	// InvalidConfiguration means the function's own environment variables
	// are wrong: a deployment fault that no retry of the event can fix.
	InvalidConfiguration = "InternalError.InvalidConfiguration"

	// The ClientError family follows the Go SDK's naming for failures seen on
	// the caller's side of the wire.
	NetworkError        = "ClientError.NetworkError"
	DeadlineExceeded    = "ClientError.DeadlineExceeded"
	ParseJSONError      = "ClientError.ParseJsonError"
	HTTPStatusCodeError = "ClientError.HttpStatusCodeError"
)

// Error is a failure with a Tencent Cloud error code.
type Error struct {
	// Code is the Tencent Cloud error code, the error's kind.
	Code string
	// Message is the human-readable text; it never contains a secret.
	Message string
	// RequestID is the answering service's RequestId, else empty.
	RequestID string
	// Err is the underlying cause, if any.
	Err error
}

// New returns an Error with the code and a formatted message.
func New(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an Error with the code and message that keeps err as its cause.
func Wrap(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
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

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, apierror.New(apierror.MissingParameter, "")) matches by kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// From returns the *Error in err's chain or, for any other error, makes an
// InternalError that keeps err as its cause: every failure leaves with a
// code. It returns nil for nil.
func From(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: InternalError, Message: "unexpected internal failure", Err: err}
}

// CodeOf returns the code of err ("" for nil).
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

// Retryable reports whether a later attempt of the same request can succeed
// where this one failed: throttling, server-side faults, network failures and
// running out of time. Everything else (validation, auth, conflicts) fails the
// same way every time.
func Retryable(code string) bool {
	switch code {
	case NetworkError, DeadlineExceeded:
		return true
	case InvalidConfiguration:
		// An InternalError only by family: the configuration stays wrong
		// until someone redeploys.
		return false
	}
	switch Family(code) {
	case RequestLimitExceeded, InternalError, ServiceUnavailable:
		return true
	}
	return false
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
