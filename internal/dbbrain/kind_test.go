package dbbrain

import (
	"context"
	"errors"
	"strings"
	"testing"

	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

// kindOf is the README's table "What DBbrain answers": every family, with
// and without a sub-code, and codes the page does not list.
func TestKindOf(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]apierror.Kind{
		"RequestLimitExceeded":                              apierror.Throttled,
		"RequestLimitExceeded.UinLimitExceeded":             apierror.Throttled,
		"RequestLimitExceeded.GlobalRegionUinLimitExceeded": apierror.Throttled,
		"RequestLimitExceeded.IPLimitExceeded":              apierror.Throttled,

		"InternalError":                 apierror.Transient,
		"InternalError.DBError":         apierror.Transient,
		"ServiceUnavailable":            apierror.Transient,
		"ResourceUnavailable":           apierror.Transient,
		"ResourceUnavailable.Something": apierror.Transient,
		"ResourceInsufficient":          apierror.Transient,
		"ResourceInsufficient.Quota":    apierror.Transient,
		"ResourceInUse":                 apierror.Transient,
		"ResourceInUse.Locked":          apierror.Transient,

		"AuthFailure":                       apierror.Setup,
		"AuthFailure.SignatureExpire":       apierror.Setup,
		"AuthFailure.SignatureFailure":      apierror.Setup,
		"AuthFailure.SecretIdNotFound":      apierror.Setup,
		"AuthFailure.TokenFailure":          apierror.Setup,
		"AuthFailure.InvalidAuthorization":  apierror.Setup,
		"AuthFailure.UnauthorizedOperation": apierror.Setup,
		"UnauthorizedOperation":             apierror.Setup,
		"UnauthorizedOperation.NoCAMAuth":   apierror.Setup,
		"OperationDenied":                   apierror.Setup,
		"OperationDenied.UserNotVerified":   apierror.Setup,
		"UnsupportedRegion":                 apierror.Setup,
		"NoSuchVersion":                     apierror.Setup,
		"InvalidAction":                     apierror.Setup,

		"InvalidParameterValue":             apierror.Invalid,
		"InvalidParameterValue.NameTooLong": apierror.Invalid,
		"InvalidParameter":                  apierror.Invalid,
		"InvalidParameter.Format":           apierror.Invalid,
		"MissingParameter":                  apierror.Invalid,
		"UnknownParameter":                  apierror.Invalid,
		"FailedOperation":                   apierror.Invalid,
		"FailedOperation.ContactExists":     apierror.Invalid,
		"UnsupportedOperation":              apierror.Invalid,
		"ResourceNotFound":                  apierror.Invalid,
		"LimitExceeded":                     apierror.Invalid,
		"LimitExceeded.ContactCount":        apierror.Invalid,
		"RequestSizeLimitExceeded":          apierror.Invalid,

		// Codes the page does not list, and near misses of listed families.
		"":                      apierror.Invalid,
		"BrandNewFamily":        apierror.Invalid,
		"BrandNewFamily.Sub":    apierror.Invalid,
		"InternalErrorX":        apierror.Invalid,
		"internalerror":         apierror.Invalid,
		"RequestLimitExceededX": apierror.Invalid,
		"Auth":                  apierror.Invalid,
	} {
		if got := kindOf(code); got != want {
			t.Errorf("kindOf(%q) = %d, want %d", code, got, want)
		}
	}
}

// An answer DBbrain gave keeps its code, message and RequestId, with the
// kind of its family, and is never "maybe applied": DBbrain decided it.
// A ClientError the SDK raised before any call is the function's setup.
func TestTranslateSDKErrors(t *testing.T) {
	t.Parallel()
	ep := Endpoint{Scheme: "HTTP", Host: "127.0.0.1:9"}
	for code, want := range map[string]apierror.Kind{
		"AuthFailure.SignatureExpire":           apierror.Setup,
		"RequestLimitExceeded.UinLimitExceeded": apierror.Throttled,
		"InternalError":                         apierror.Transient,
		"InvalidParameterValue":                 apierror.Invalid,
	} {
		sdk := tcerr.NewTencentCloudSDKError(code, "DBbrain says no", "req-1")
		err := translate(context.Background(), ActionAddUserContact, ep, sdk, true, nil)
		e := apierror.From(err)
		if e.Kind != want || e.Code != code || e.Message != "DBbrain says no" || e.RequestID != "req-1" || errors.Is(err, ErrMaybeApplied) {
			t.Errorf("%s: %#v", code, e)
		}
	}
	err := translate(context.Background(), ActionAddUserContact, ep, tcerr.NewTencentCloudSDKError("ClientError.BuildRequestError", "bad params", ""), false, nil)
	if e := apierror.From(err); e.Kind != apierror.Setup || e.Code != "ClientError.BuildRequestError" ||
		!strings.HasPrefix(e.Message, "the SDK failed before calling AddUserContact: bad params") {
		t.Errorf("SDK failure before calling: %#v", e)
	}
}
