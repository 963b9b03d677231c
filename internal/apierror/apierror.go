// Package apierror is the one error type of this function.
//
// Its Kind is a Tencent Cloud API error code ("InvalidParameterValue",
// "AuthFailure.SignatureExpire", ...), so an error raised here and one answered
// by DBbrain travel the same way and reach the caller in the same envelope.
// One table maps every code to the HTTP status an HTTP trigger answers with,
// and one list says which codes a retry can fix.
package apierror

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Codes raised by this function. Codes answered by DBbrain are passed through
// unchanged; these are the ones the function itself produces, all documented
// in the README.
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
	UnauthorizedOperation    = "UnauthorizedOperation"
	UnknownParameter         = "UnknownParameter"
	UnsupportedOperation     = "UnsupportedOperation"
	UnsupportedRegion        = "UnsupportedRegion"

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
	// Message is the human-readable text; it never contains a secret and
	// never echoes an email address back in full.
	Message string
	// RequestID is DBbrain's RequestId when DBbrain answered, else empty.
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

// MaxMessage bounds a message as it leaves the function, in an answer or a
// log line: no input can make either grow without bound.
const MaxMessage = 2048

// Clip cuts msg to MaxMessage bytes at a character boundary.
func Clip(msg string) string {
	if len(msg) <= MaxMessage {
		return msg
	}
	cut := MaxMessage
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "…"
}

// As returns the *Error in err's chain, or, for any other error, an
// InternalError that keeps err as its cause: every failure leaves the
// function with a code.
func As(err error) *Error {
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
	return As(err).Code
}

// family is a code's first segment: "AuthFailure.SignatureExpire" belongs to
// "AuthFailure". Tencent Cloud adds sub-codes freely, so every rule below is
// written for the family.
func family(code string) string {
	if i := strings.IndexByte(code, '.'); i >= 0 {
		return code[:i]
	}
	return code
}

// statusOf is the one table from error code family to HTTP status. It is a
// switch rather than a map so that no package-level state can be changed.
func statusOf(fam string) (int, bool) {
	switch fam {
	case InvalidParameter, InvalidParameterValue, MissingParameter, UnknownParameter,
		InvalidAction, NoSuchVersion, UnsupportedRegion:
		return http.StatusBadRequest, true
	case AuthFailure:
		return http.StatusUnauthorized, true
	case UnauthorizedOperation:
		return http.StatusForbidden, true
	case UnsupportedOperation:
		return http.StatusMethodNotAllowed, true
	case FailedOperation:
		return http.StatusConflict, true
	case RequestSizeLimitExceeded:
		return http.StatusRequestEntityTooLarge, true
	case RequestLimitExceeded:
		return http.StatusTooManyRequests, true
	case InternalError:
		return http.StatusInternalServerError, true
	}
	return 0, false
}

// HTTPStatus returns the status an HTTP trigger answers with for code. The
// empty code is success. Codes not in the table are upstream or network
// failures: 502, or 504 for a deadline.
func HTTPStatus(code string) int {
	switch code {
	case "":
		return http.StatusOK
	case DeadlineExceeded:
		return http.StatusGatewayTimeout
	}
	if s, ok := statusOf(family(code)); ok {
		return s
	}
	return http.StatusBadGateway
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
	switch family(code) {
	case RequestLimitExceeded, InternalError, ServiceUnavailable:
		return true
	}
	return false
}
