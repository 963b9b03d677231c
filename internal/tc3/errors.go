package tc3

import "fmt"

// Code is a Tencent Cloud API 3.0 authentication error code.
type Code string

// The authentication error codes Verify can answer, as the real service
// spells them.
const (
	CodeInvalidAuthorization Code = "AuthFailure.InvalidAuthorization"
	CodeSignatureFailure     Code = "AuthFailure.SignatureFailure"
	CodeSignatureExpire      Code = "AuthFailure.SignatureExpire"
	CodeSecretIDNotFound     Code = "AuthFailure.SecretIdNotFound"
	CodeTokenFailure         Code = "AuthFailure.TokenFailure"
)

// Error is the typed error returned by Verify: Code is the API error code to
// answer, Message a human explanation that never contains a key or token.
type Error struct {
	Code    Code   // The AuthFailure sub-code.
	Message string // Safe to show: no key or token.
	// Err is an underlying cause, if any.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

func failf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}
