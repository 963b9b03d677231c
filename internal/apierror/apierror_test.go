package apierror

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestHTTPStatus(t *testing.T) {
	for code, want := range map[string]int{
		"":                                      http.StatusOK,
		InvalidParameter:                        400,
		"InvalidParameterValue.TooLong":         400,
		MissingParameter:                        400,
		UnknownParameter:                        400,
		InvalidAction:                           400,
		NoSuchVersion:                           400,
		UnsupportedRegion:                       400,
		"AuthFailure.SignatureExpire":           401,
		AuthFailure:                             401,
		UnauthorizedOperation:                   403,
		UnsupportedOperation:                    405,
		FailedOperation:                         409,
		RequestSizeLimitExceeded:                413,
		"RequestLimitExceeded.UinLimitExceeded": 429,
		InternalError:                           500,
		InvalidConfiguration:                    500,
		ServiceUnavailable:                      502,
		NetworkError:                            502,
		ParseJSONError:                          502,
		HTTPStatusCodeError:                     502,
		"SomethingNew":                          502,
		DeadlineExceeded:                        504,
	} {
		if got := HTTPStatus(code); got != want {
			t.Errorf("HTTPStatus(%q) = %d, want %d", code, got, want)
		}
	}
}

func TestRetryable(t *testing.T) {
	for code, want := range map[string]bool{
		RequestLimitExceeded: true,
		"RequestLimitExceeded.GlobalRegionUinLimitExceeded": true,
		InternalError:                 true,
		"InternalError.DBError":       true,
		ServiceUnavailable:            true,
		NetworkError:                  true,
		DeadlineExceeded:              true,
		InvalidConfiguration:          false,
		FailedOperation:               false,
		AuthFailure:                   false,
		"AuthFailure.SignatureExpire": false,
		InvalidParameterValue:         false,
		ParseJSONError:                false,
		HTTPStatusCodeError:           false,
		"":                            false,
	} {
		if got := Retryable(code); got != want {
			t.Errorf("Retryable(%q) = %v, want %v", code, got, want)
		}
	}
}

func TestAsAndIs(t *testing.T) {
	base := New(MissingParameter, "Name is required")
	wrapped := fmt.Errorf("decoding: %w", base)
	if got := As(wrapped); got != base {
		t.Fatalf("As lost the error: %v", got)
	}
	if !errors.Is(wrapped, New(MissingParameter, "")) {
		t.Error("errors.Is does not match by code")
	}
	if errors.Is(wrapped, New(InvalidParameter, "")) {
		t.Error("errors.Is matched another code")
	}
	plain := errors.New("boom")
	if got := As(plain); got.Code != InternalError || !errors.Is(got, plain) {
		t.Errorf("As(plain) = %#v", got)
	}
	if As(nil) != nil || CodeOf(nil) != "" {
		t.Error("nil must stay nil")
	}
	e := &Error{Code: InternalError, Message: "x", RequestID: "r-1"}
	if got, want := e.Error(), "InternalError: x (RequestId r-1)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
