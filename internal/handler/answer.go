package handler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/contact"
	"github.com/scf-dbbrain/addusercontact/internal/event"
	"github.com/scf-dbbrain/addusercontact/internal/redact"
	"github.com/scf-dbbrain/addusercontact/internal/registrar"
)

// ErrorBody is the Error object of a failure envelope or a batch result.
type ErrorBody struct {
	Code    string `json:"Code"`    // The Tencent Cloud error code.
	Message string `json:"Message"` // The human-readable text.
}

// Result is one contact's outcome in a batch: Id on success, Error on
// failure; Record says which delivered message it came from.
type Result struct {
	Record string     `json:"Record,omitempty"` // The message's coordinates, for record triggers.
	Name   string     `json:"Name"`             // The contact's name as given.
	ID     *int64     `json:"Id,omitempty"`     // The contact's id, on success.
	Error  *ErrorBody `json:"Error,omitempty"`  // The failure, otherwise.

	contact contact.Contact // what is registered, when Error is nil
	final   bool            // the failure is the contact's own: no later delivery can succeed
}

// RetryableError is returned to the runtime, as a function error, when what
// failed can succeed later: a retryable failure of a timer or direct
// invocation, or anything but a record's own fault in a CKafka, CMQ or
// EventBridge delivery. The platform then invokes again, and the retry is
// idempotent. Its text is the envelope, so a synchronous caller still learns
// the code, the message and, for a batch, which contacts did succeed.
type RetryableError struct {
	Code     string // The failure's code, or PartialSuccess/Failed for a batch.
	Envelope []byte // The answer the caller would have got.
}

// Error is the envelope with every address masked: SCF logs function errors,
// and an upstream message may quote the address it refused.
func (e *RetryableError) Error() string { return redact.EmailsIn(string(e.Envelope)) }

// answer renders the invocation in its trigger's form.
func (h *Handler) answer(inv *invocation) ([]byte, error) {
	var body []byte
	status := http.StatusOK
	switch {
	case inv.err != nil:
		e := apierror.From(inv.err)
		rid := e.RequestID
		if rid == "" {
			rid = inv.requestID
		}
		body = render(struct {
			Error     ErrorBody `json:"Error"`
			RequestID string    `json:"RequestId"`
		}{ErrorBody{e.Code, apierror.Clip(e.Message, apierror.MaxMessage)}, rid})
		status = httpStatus(inv.err)
	case inv.batch:
		b := struct {
			Results        []Result `json:"Results"`
			OmittedCount   int      `json:"OmittedCount,omitempty"`
			SucceededCount int      `json:"SucceededCount"`
			FailedCount    int      `json:"FailedCount"`
			RequestID      string   `json:"RequestId"`
		}{inv.results, 0, len(inv.results) - inv.failed, inv.failed, inv.requestID}
		if b.Results == nil {
			b.Results = []Result{}
		}
		budget := maxAnswer
		if inv.source.HTTP() {
			budget /= 2 // the body is quoted once more inside the integration response
		}
		b.Results, b.OmittedCount = fit(b.Results, budget)
		body = render(b)
		if inv.failed > 0 {
			status = http.StatusMultiStatus
		}
	default:
		body = render(struct {
			ID        int64  `json:"Id"`
			RequestID string `json:"RequestId"`
		}{inv.single.ID, inv.single.RequestID})
	}
	if inv.source.HTTP() {
		// HTTP triggers are synchronous and never retried by the platform:
		// the caller gets the status and decides.
		allow := errors.Is(inv.err, event.ErrMethodNotAllowed)
		out, err := encode(event.NewHTTPResponse(status, body, allow))
		if err != nil {
			return nil, fmt.Errorf("encoding the integration response: %w", err)
		}
		return out, nil
	}
	if inv.redeliver() {
		return nil, &RetryableError{Code: inv.outcome(), Envelope: body}
	}
	return body, nil
}

// redeliver reports whether the platform must invoke again: for a record
// trigger, whenever something failed that is not a record's own fault; for
// a timer or direct invocation, whenever a retry can fix what failed.
func (inv *invocation) redeliver() bool {
	switch {
	case inv.source.HTTP():
		return false
	case inv.source.Records():
		if inv.err != nil {
			return !inv.final
		}
		for _, r := range inv.results {
			if r.Error != nil && !r.final {
				return true
			}
		}
		return false
	case inv.err != nil:
		return apierror.Retryable(apierror.CodeOf(inv.err))
	}
	for _, r := range inv.results {
		if r.Error != nil && apierror.Retryable(r.Error.Code) {
			return true
		}
	}
	return false
}

// final reports whether a registration failed because of the contact itself,
// so that no later delivery can succeed: a name taken by another email, or a
// value DBbrain refuses. Anything else (throttling, DBbrain's faults, the
// function's own credentials, role or configuration) can be redelivered.
func final(o registrar.Outcome) bool {
	return o.Conflict || apierror.Family(apierror.CodeOf(o.Err)) == apierror.InvalidParameterValue
}

func (inv *invocation) outcome() string {
	switch {
	case inv.err != nil:
		return apierror.CodeOf(inv.err)
	case inv.batch && len(inv.results) > 0 && inv.failed == len(inv.results):
		return "Failed"
	case inv.batch && inv.failed > 0:
		return "PartialSuccess"
	}
	return "Success"
}

// httpStatus is the one table from a code (by family) to the status an HTTP
// trigger answers with. Codes not in it are upstream or network failures:
// 502, or 504 for a deadline.
func httpStatus(err error) int {
	code := apierror.CodeOf(err)
	switch code {
	case "":
		return http.StatusOK
	case apierror.DeadlineExceeded:
		return http.StatusGatewayTimeout
	}
	switch apierror.Family(code) {
	case apierror.InvalidParameter, apierror.InvalidParameterValue, apierror.MissingParameter, apierror.UnknownParameter,
		apierror.InvalidAction, apierror.NoSuchVersion, apierror.UnsupportedRegion:
		return http.StatusBadRequest
	case apierror.AuthFailure:
		return http.StatusUnauthorized
	case apierror.UnauthorizedOperation:
		return http.StatusForbidden
	case apierror.ResourceNotFound:
		return http.StatusNotFound
	case apierror.UnsupportedOperation:
		if errors.Is(err, event.ErrMethodNotAllowed) {
			return http.StatusMethodNotAllowed
		}
		return http.StatusBadRequest // DBbrain's: the request is fine as HTTP
	case apierror.FailedOperation:
		return http.StatusConflict
	case apierror.RequestSizeLimitExceeded:
		return http.StatusRequestEntityTooLarge
	case apierror.RequestLimitExceeded:
		return http.StatusTooManyRequests
	case apierror.InternalError:
		return http.StatusInternalServerError
	}
	return http.StatusBadGateway
}

// maxAnswer keeps an answer under SCF's 6 MB response limit, with room for
// the rest of the envelope: an oversized answer fails the invocation, and a
// record trigger would deliver the same batch again and again.
const maxAnswer = 5 << 20

// fit keeps the results that fit in budget bytes, in order, and says how many
// it left out; the counts of the envelope still cover them all.
func fit(results []Result, budget int) ([]Result, int) {
	const largest = 3 << 10 // a result: coordinates, a 60-character name, a 2 KB message
	if len(results)*largest <= budget {
		return results, 0
	}
	size := 0
	for i, r := range results {
		enc, err := encode(r)
		if size += len(enc) + 1; err != nil || size > budget {
			return results[:i], len(results) - i
		}
	}
	return results, 0
}

func errorBody(err error) *ErrorBody {
	if err == nil {
		return nil
	}
	e := apierror.From(err)
	return &ErrorBody{Code: e.Code, Message: apierror.Clip(e.Message, apierror.MaxMessage)}
}

// render wraps fields in {"Response":...}. They hold only strings and
// numbers, which always encode; the fallback keeps any path from panicking
// or answering nothing.
func render(fields any) []byte {
	out, err := encode(struct {
		Response any `json:"Response"`
	}{fields})
	if err != nil {
		return []byte(`{"Response":{"Error":{"Code":"InternalError","Message":"the response could not be encoded"},"RequestId":""}}`)
	}
	return out
}

// encode writes JSON without escaping <, > and & as \u003c and the like:
// the answers are JSON, never HTML, and the escapes would triple the size of
// hostile input echoed back, nested once more inside an integration response.
func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
