package handler

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
)

// verdictCases is the table of what DBbrain can answer AddUserContact and
// what the function makes of it: the kind (semantics of the README's table
// "What DBbrain answers": each family DBbrain's page lists, sub-codes of
// them, codes it does not list, and the failures on the client's side) and
// the HTTP status. The other triggers' answers follow from the kind, as
// TestVerdictTable spells out.
var verdictCases = []struct {
	name   string
	answer fakeAnswer
	taken  bool   // the name is registered already, with another email
	code   string // the code every trigger reports
	kind   apierror.Kind
	status int
}{
	// The account's rate limit.
	{name: "RequestLimitExceeded", answer: fakeAnswer{code: "RequestLimitExceeded"}, code: "RequestLimitExceeded", kind: apierror.Throttled, status: 429},
	{name: "RequestLimitExceeded.UinLimitExceeded", answer: fakeAnswer{code: "RequestLimitExceeded.UinLimitExceeded"}, code: "RequestLimitExceeded.UinLimitExceeded", kind: apierror.Throttled, status: 429},
	{name: "RequestLimitExceeded.Foo", answer: fakeAnswer{code: "RequestLimitExceeded.Foo"}, code: "RequestLimitExceeded.Foo", kind: apierror.Throttled, status: 429},
	{name: "bare HTTP 429", answer: fakeAnswer{status: 429}, code: "RequestLimitExceeded", kind: apierror.Throttled, status: 429},
	// The service's state, which changes.
	{name: "InternalError", answer: fakeAnswer{code: "InternalError"}, code: "InternalError", kind: apierror.Transient, status: 500},
	{name: "InternalError.Foo", answer: fakeAnswer{code: "InternalError.Foo"}, code: "InternalError.Foo", kind: apierror.Transient, status: 500},
	{name: "ServiceUnavailable", answer: fakeAnswer{code: "ServiceUnavailable"}, code: "ServiceUnavailable", kind: apierror.Transient, status: 502},
	{name: "ResourceUnavailable", answer: fakeAnswer{code: "ResourceUnavailable"}, code: "ResourceUnavailable", kind: apierror.Transient, status: 502},
	{name: "ResourceUnavailable.Foo", answer: fakeAnswer{code: "ResourceUnavailable.Foo"}, code: "ResourceUnavailable.Foo", kind: apierror.Transient, status: 502},
	{name: "ResourceInsufficient", answer: fakeAnswer{code: "ResourceInsufficient"}, code: "ResourceInsufficient", kind: apierror.Transient, status: 502},
	{name: "ResourceInUse", answer: fakeAnswer{code: "ResourceInUse"}, code: "ResourceInUse", kind: apierror.Transient, status: 502},
	{name: "bare HTTP 503", answer: fakeAnswer{status: 503}, code: "ServiceUnavailable", kind: apierror.Transient, status: 502},
	{name: "bare HTTP 500", answer: fakeAnswer{status: 500}, code: "ServiceUnavailable", kind: apierror.Transient, status: 502},
	{name: "connection dropped", answer: fakeAnswer{drop: true}, code: apierror.NetworkError, kind: apierror.Transient, status: 502},
	{name: "no answer before the deadline", answer: fakeAnswer{hang: true}, code: apierror.DeadlineExceeded, kind: apierror.Transient, status: 504},
	// The function's own credentials, role, account, region, version.
	{name: "AuthFailure", answer: fakeAnswer{code: "AuthFailure"}, code: "AuthFailure", kind: apierror.Setup, status: 401},
	{name: "AuthFailure.SignatureFailure", answer: fakeAnswer{code: "AuthFailure.SignatureFailure"}, code: "AuthFailure.SignatureFailure", kind: apierror.Setup, status: 401},
	{name: "AuthFailure.SignatureExpire", answer: fakeAnswer{code: "AuthFailure.SignatureExpire"}, code: "AuthFailure.SignatureExpire", kind: apierror.Setup, status: 401},
	{name: "AuthFailure.SecretIdNotFound", answer: fakeAnswer{code: "AuthFailure.SecretIdNotFound"}, code: "AuthFailure.SecretIdNotFound", kind: apierror.Setup, status: 401},
	{name: "AuthFailure.TokenFailure", answer: fakeAnswer{code: "AuthFailure.TokenFailure"}, code: "AuthFailure.TokenFailure", kind: apierror.Setup, status: 401},
	{name: "AuthFailure.InvalidAuthorization", answer: fakeAnswer{code: "AuthFailure.InvalidAuthorization"}, code: "AuthFailure.InvalidAuthorization", kind: apierror.Setup, status: 401},
	{name: "AuthFailure.UnauthorizedOperation", answer: fakeAnswer{code: "AuthFailure.UnauthorizedOperation"}, code: "AuthFailure.UnauthorizedOperation", kind: apierror.Setup, status: 401},
	{name: "UnauthorizedOperation", answer: fakeAnswer{code: "UnauthorizedOperation"}, code: "UnauthorizedOperation", kind: apierror.Setup, status: 403},
	{name: "UnauthorizedOperation.Foo", answer: fakeAnswer{code: "UnauthorizedOperation.Foo"}, code: "UnauthorizedOperation.Foo", kind: apierror.Setup, status: 403},
	{name: "OperationDenied", answer: fakeAnswer{code: "OperationDenied"}, code: "OperationDenied", kind: apierror.Setup, status: 500},
	{name: "UnsupportedRegion", answer: fakeAnswer{code: "UnsupportedRegion"}, code: "UnsupportedRegion", kind: apierror.Setup, status: 500},
	{name: "NoSuchVersion", answer: fakeAnswer{code: "NoSuchVersion"}, code: "NoSuchVersion", kind: apierror.Setup, status: 500},
	{name: "InvalidAction", answer: fakeAnswer{code: "InvalidAction"}, code: "InvalidAction", kind: apierror.Setup, status: 500},
	{name: "bare HTTP 404", answer: fakeAnswer{status: 404}, code: apierror.HTTPStatusCodeError, kind: apierror.Setup, status: 502},
	{name: "unreadable 200", answer: fakeAnswer{body: "<html>not the API</html>"}, code: apierror.ParseJSONError, kind: apierror.Setup, status: 502},
	{name: "200 without an Id", answer: fakeAnswer{body: `{"Response":{"RequestId":"r-1"}}`}, code: apierror.ParseJSONError, kind: apierror.Setup, status: 502},
	// This contact, for good: reported and acknowledged.
	{name: "InvalidParameterValue", answer: fakeAnswer{code: "InvalidParameterValue"}, code: "InvalidParameterValue", kind: apierror.Invalid, status: 400},
	{name: "InvalidParameterValue.Foo", answer: fakeAnswer{code: "InvalidParameterValue.Foo"}, code: "InvalidParameterValue.Foo", kind: apierror.Invalid, status: 400},
	{name: "InvalidParameter", answer: fakeAnswer{code: "InvalidParameter"}, code: "InvalidParameter", kind: apierror.Invalid, status: 400},
	{name: "MissingParameter", answer: fakeAnswer{code: "MissingParameter"}, code: "MissingParameter", kind: apierror.Invalid, status: 400},
	{name: "UnknownParameter", answer: fakeAnswer{code: "UnknownParameter"}, code: "UnknownParameter", kind: apierror.Invalid, status: 400},
	{name: "FailedOperation", answer: fakeAnswer{code: "FailedOperation"}, code: "FailedOperation", kind: apierror.Invalid, status: 409},
	{name: "FailedOperation.Foo", answer: fakeAnswer{code: "FailedOperation.Foo"}, code: "FailedOperation.Foo", kind: apierror.Invalid, status: 409},
	{name: "UnsupportedOperation", answer: fakeAnswer{code: "UnsupportedOperation"}, code: "UnsupportedOperation", kind: apierror.Invalid, status: 400},
	{name: "ResourceNotFound", answer: fakeAnswer{code: "ResourceNotFound"}, code: "ResourceNotFound", kind: apierror.Invalid, status: 404},
	{name: "ResourceNotFound.Foo", answer: fakeAnswer{code: "ResourceNotFound.Foo"}, code: "ResourceNotFound.Foo", kind: apierror.Invalid, status: 404},
	{name: "LimitExceeded", answer: fakeAnswer{code: "LimitExceeded"}, code: "LimitExceeded", kind: apierror.Invalid, status: 400},
	{name: "LimitExceeded.Foo", answer: fakeAnswer{code: "LimitExceeded.Foo"}, code: "LimitExceeded.Foo", kind: apierror.Invalid, status: 400},
	{name: "RequestSizeLimitExceeded", answer: fakeAnswer{code: "RequestSizeLimitExceeded"}, code: "RequestSizeLimitExceeded", kind: apierror.Invalid, status: 413},
	{name: "WeirdNewCode", answer: fakeAnswer{code: "WeirdNewCode"}, code: "WeirdNewCode", kind: apierror.Invalid, status: 400},
	// The name is taken by another address: DBbrain refuses the add, and
	// the lookup says why.
	{name: "name taken", answer: fakeAnswer{code: "FailedOperation"}, taken: true, code: "FailedOperation", kind: apierror.Conflict, status: 409},
}

// TestVerdictTable gives one contact, on every trigger, each answer of
// verdictCases, and checks what the platform sees: the HTTP status for the
// HTTP triggers; for timer and direct invocations the envelope (a final
// answer), a RetryableError or a SetupError; for the record triggers the
// delivery acknowledged (the record reported with the code) or failed so
// that it comes again (RetryableError), or failed at once (SetupError). Each
// runs on the fake clock, so the retries of a transient answer take no time.
func TestVerdictTable(t *testing.T) {
	t.Parallel()
	const name, email = "Verdict Case", "verdict@example.com"
	contact := contactJSON(name, email)
	for _, vc := range verdictCases {
		for _, src := range allSources {
			t.Run(vc.name+"/"+string(src), func(t *testing.T) {
				t.Parallel()
				synctest.Test(t, func(t *testing.T) {
					var known []dbbrain.Contact
					if vc.taken {
						known = []dbbrain.Contact{{ID: 7, Name: name, Mail: "someone.else@example.com"}}
					}
					answer := vc.answer
					fake := newFakeDBbrain(func(string) *fakeAnswer { return &answer }, known...)
					h, _ := newFakeHandler(t, fake, nil)
					out, err := invokeFor(h, eventFor(src, contact), 3*time.Second)
					checkVerdict(t, src, vc.kind, vc.code, vc.status, out, err)
					adds := fake.count(dbbrain.ActionAddUserContact)
					switch {
					case vc.taken && src.records():
						// The lookup that comes first finds the name.
						if adds != 0 {
							t.Errorf("%d adds for a name a lookup finds taken", adds)
						}
					case vc.answer.hang:
						// The one call takes all the time there is.
						if adds != 1 {
							t.Errorf("%d adds, want the one that hung", adds)
						}
					case vc.kind.Retryable():
						if adds < 2 {
							t.Errorf("%d adds for an answer a retry can change: not retried", adds)
						}
					case adds != 1:
						t.Errorf("%d adds for an answer no retry can change", adds)
					}
				})
			})
		}
	}
}

// checkVerdict checks what one invocation answered against the verdict
// its kind asks of the trigger src.
func checkVerdict(t *testing.T, src Source, kind apierror.Kind, code string, status int, out []byte, err error) {
	t.Helper()
	a, ierr := inspectAnswer(src, out, err)
	if ierr != nil {
		t.Fatalf("%v\n%s %v", ierr, clip(out), err)
	}
	wantErr := ""
	switch {
	case kind == apierror.Setup:
		wantErr = "SetupError"
	case kind.Retryable():
		wantErr = "RetryableError"
	}
	switch {
	case src.http():
		if a.status != status || a.form != formError || a.codes[0] != code {
			t.Errorf("HTTP %d %s %v, want %d with %s", a.status, a.form, a.codes, status, code)
		}
	case src.records():
		if a.fnErr != wantErr || a.form != formBatch || len(a.codes) != 1 || a.codes[0] != code {
			t.Errorf("answer %q (%s %v), want %q with %s:\n%s %v", a.fnErr, a.form, a.codes, wantErr, code, out, err)
		}
		if wantErr == "" && !strings.Contains(string(out), `"Record":`) {
			t.Errorf("an acknowledged record reported without its coordinates: %s", out)
		}
	default:
		if a.fnErr != wantErr || a.form != formError || a.codes[0] != code {
			t.Errorf("answer %q (%s %v), want %q with %s:\n%s %v", a.fnErr, a.form, a.codes, wantErr, code, out, err)
		}
	}
	if err != nil {
		if _, fnCode, _, _ := asFunctionError(err); fnCode != code {
			t.Errorf("%s.Code %s, want %s", errorType(err), fnCode, code)
		}
	}
}
