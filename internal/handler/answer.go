package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/event"
	"github.com/scf-dbbrain/addusercontact/internal/redact"
)

// verdict is what an outcome asks of the platform, in the manner of
// Powertools' batch processor: each record gets one, the greatest of its
// contacts', and the invocation the greatest of all (the README's table).
type verdict int

const (
	done      verdict = iota // registered, or already there with the same email
	permanent                // never registrable as sent: reported, logged, acknowledged
	transient                // a later delivery can register it: fail the delivery
	setup                    // the function's own setup: fail the delivery at once
)

func verdictOf(err error) verdict {
	switch k := apierror.KindOf(err); {
	case k == 0:
		return done
	case k == apierror.Setup:
		return setup
	case k.Retryable():
		return transient
	}
	return permanent
}

// verdicts combines, in this one place, the verdict of each record (the
// greatest of its contacts') and of the invocation (the greatest of all).
func (inv *invocation) verdicts() (records []verdict, all verdict) {
	records = make([]verdict, len(inv.records))
	all = verdictOf(inv.err)
	for _, it := range inv.items {
		v := verdictOf(it.out.Err)
		if it.record >= 0 {
			records[it.record] = max(records[it.record], v)
		}
		all = max(all, v)
	}
	return records, all
}

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
}

// RetryableError is the function error of an invocation a later delivery
// can complete: SCF's asynchronous retries, a record trigger's redelivery
// and a workflow's Retry see its type's name. The retry is idempotent.
type RetryableError struct{ functionError }

// SetupError is the function error of an invocation that failed on the
// function's own credentials, role, region or configuration: a delivery
// fails at once, and a workflow's Catch can tell it from a RetryableError.
type SetupError struct{ functionError }

// functionError carries the failure's code and a short text: the counts and
// the first failures, never more than maxErrorText, with addresses masked
// (SCF logs function errors).
type functionError struct {
	Code string // The code of the failure that decided the verdict.
	text string
}

// Error returns the text.
func (e functionError) Error() string { return e.text }

// Bounds on what leaves the function: an answer over SCF's 6 MB fails the
// invocation (and a record trigger would deliver it again and again), and
// SCF logs a function error's text whole.
const (
	maxAnswer    = 5 << 20
	maxErrorText = 60 << 10
)

// answer renders the invocation in its trigger's form: the integration
// response for HTTP, else the envelope, or a function error when the
// verdict asks the platform to deliver again.
func (h *Handler) answer(inv *invocation) ([]byte, error) {
	_, v := inv.verdicts()
	body, status := inv.envelope(inv.results(false, nil), maxAnswer, inv.source.http(), inv.err)
	if inv.source.http() { // never retried by the platform: the caller decides by the status
		h := map[string]string{"Content-Type": "application/json; charset=utf-8"}
		if errors.Is(inv.err, errMethodNotAllowed) {
			h["Allow"] = allowedMethods
		}
		return encode(event.IntegrationResponse{StatusCode: status, Headers: h, Body: string(body)})
	}
	if v < transient {
		return body, nil
	}
	// SCF logs a function error's text: addresses are masked in each field
	// before it is encoded, so that the text stays JSON.
	var masked error
	if e := apierror.From(inv.err); e != nil {
		masked = &apierror.Error{Kind: e.Kind, Code: e.Code, Message: redact.EmailsIn(e.Message), RequestID: e.RequestID}
	}
	text, _ := inv.envelope(inv.results(true, redact.EmailsIn), maxErrorText, false, masked)
	fe := functionError{Code: inv.decidingCode(v), text: string(text)}
	if v == setup {
		return nil, &SetupError{fe}
	}
	return nil, &RetryableError{fe}
}

// decidingCode is the code of the first failure with the verdict v.
func (inv *invocation) decidingCode(v verdict) string {
	if verdictOf(inv.err) == v {
		return apierror.CodeOf(inv.err)
	}
	for _, it := range inv.items {
		if verdictOf(it.out.Err) == v {
			return apierror.CodeOf(it.out.Err)
		}
	}
	return ""
}

// results lists the items as the batch answer does; with mask, only the
// failures, their text masked, for a function error's text.
func (inv *invocation) results(failedOnly bool, mask func(string) string) []Result {
	out := make([]Result, 0, len(inv.items))
	for _, it := range inv.items {
		if failedOnly && it.out.Err == nil {
			continue
		}
		r := Result{Name: it.name, Error: errorBody(it.out.Err)}
		if it.record >= 0 {
			r.Record = inv.records[it.record]
		}
		if mask != nil && r.Error != nil {
			r.Name, r.Record, r.Error.Message = mask(r.Name), mask(r.Record), mask(r.Error.Message)
		}
		if it.out.Err == nil {
			id := it.out.ID
			r.ID = &id
		}
		out = append(out, r)
	}
	return out
}

// envelope renders {"Response":...}: the error, the batch, or the single
// success, and the HTTP status it means. results are cut to what fits in
// budget bytes, measured as they will be sent (quoted once more inside an
// integration response when quoted is set).
func (inv *invocation) envelope(results []Result, budget int, quoted bool, err error) ([]byte, int) {
	switch {
	case err != nil:
		e := apierror.From(err)
		rid := e.RequestID
		if rid == "" {
			rid = inv.requestID
		}
		return render(struct {
			Error     ErrorBody `json:"Error"`
			RequestID string    `json:"RequestId"`
		}{ErrorBody{e.Code, apierror.Clip(e.Message, apierror.MaxMessage)}, rid}), httpStatus(e)
	case inv.batch:
		failed := 0
		for _, it := range inv.items {
			if it.out.Err != nil {
				failed++
			}
		}
		kept, omitted := fit(results, budget, quoted)
		status := http.StatusOK
		if failed > 0 {
			status = http.StatusMultiStatus
		}
		return render(struct {
			Results        []Result `json:"Results"`
			OmittedCount   int      `json:"OmittedCount,omitempty"`
			SucceededCount int      `json:"SucceededCount"`
			FailedCount    int      `json:"FailedCount"`
			RequestID      string   `json:"RequestId"`
		}{kept, omitted, len(inv.items) - failed, failed, inv.requestID}), status
	}
	return render(struct {
		ID        int64  `json:"Id"`
		RequestID string `json:"RequestId"`
	}{inv.single.ID, inv.single.RequestID}), http.StatusOK
}

// fit keeps the results that fit in budget bytes, in order, and says how many
// it left out; each is measured as encoded (and quoted again when quoted).
func fit(results []Result, budget int, quoted bool) ([]Result, int) {
	size := 0
	for i, r := range results {
		enc, _ := encode(r) // strings and numbers only: cannot fail
		if quoted {
			enc, _ = encode(string(enc))
		}
		if size += len(enc) + 1; size > budget {
			return results[:i], len(results) - i
		}
	}
	return results, 0
}

// httpStatus is the one table from an error to the status an HTTP trigger
// answers with: the kind decides the class, the code the detail.
func httpStatus(e *apierror.Error) int {
	code := apierror.Family(e.Code)
	switch e.Kind {
	case apierror.Conflict:
		return http.StatusConflict
	case apierror.NotAttempted:
		return http.StatusGatewayTimeout
	case apierror.Throttled:
		return http.StatusTooManyRequests
	case apierror.Transient:
		switch {
		case e.Code == apierror.DeadlineExceeded:
			return http.StatusGatewayTimeout
		case code == apierror.InternalError:
			return http.StatusInternalServerError
		}
		return http.StatusBadGateway
	case apierror.Setup:
		switch code {
		case apierror.AuthFailure:
			return http.StatusUnauthorized
		case "UnauthorizedOperation":
			return http.StatusForbidden
		case apierror.InternalError:
			return http.StatusInternalServerError
		case "ClientError":
			return http.StatusBadGateway
		}
		return http.StatusInternalServerError
	}
	switch {
	case errors.Is(e, errMethodNotAllowed):
		return http.StatusMethodNotAllowed
	case code == apierror.RequestSizeLimitExceeded:
		return http.StatusRequestEntityTooLarge
	case code == "ResourceNotFound":
		return http.StatusNotFound
	case code == apierror.FailedOperation:
		return http.StatusConflict
	}
	return http.StatusBadRequest
}

func errorBody(err error) *ErrorBody {
	if err == nil {
		return nil
	}
	e := apierror.From(err)
	return &ErrorBody{Code: e.Code, Message: apierror.Clip(e.Message, apierror.MaxMessage)}
}

// render wraps fields in {"Response":...}. They hold only strings and
// numbers, which always encode.
func render(fields any) []byte {
	out, _ := encode(struct {
		Response any `json:"Response"`
	}{fields})
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
		return nil, fmt.Errorf("encoding the answer: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// maxRecordLines bounds the WARN lines of one invocation's failed records,
// so that logging cannot outlast the deadline.
const maxRecordLines = 100

// logInvocation writes a WARN line per record acknowledged unregistered (at
// most maxRecordLines, then their count), one counting the contacts not
// attempted, and the invocation's summary line.
func (h *Handler) logInvocation(ctx context.Context, inv *invocation) {
	records, v := inv.verdicts()
	log := h.log.With("request_id", inv.requestID, "trigger", string(inv.source))
	lines, failed, notAttempted, attempts := 0, 0, 0, 0
	for _, it := range inv.items {
		attempts += it.out.Attempts
		if it.out.Err == nil {
			continue
		}
		failed++
		if apierror.KindOf(it.out.Err) == apierror.NotAttempted {
			notAttempted++
		}
		if it.record >= 0 && records[it.record] == permanent {
			if lines++; lines <= maxRecordLines {
				e := apierror.From(it.out.Err)
				log.Warn("record not registered: it can never be as sent", "record", inv.records[it.record], "name", it.name, "code", e.Code, "message", e.Message)
			}
		}
	}
	if lines > maxRecordLines {
		log.Warn("more records not registered", "count", lines-maxRecordLines)
	}
	if notAttempted > 0 {
		log.Warn("contacts not attempted: too little of the invocation's time was left; a retry registers them", "count", notAttempted)
	}
	e := apierror.From(inv.err)
	level, outcome, upstream := slog.LevelInfo, "Success", inv.single.RequestID
	switch {
	case e != nil:
		outcome, upstream = e.Code, e.RequestID
	case inv.batch && failed > 0 && failed == len(inv.items):
		outcome = "Failed"
	case inv.batch && failed > 0:
		outcome = "PartialSuccess"
	}
	switch {
	case v >= transient || (e != nil && inv.source.http() && httpStatus(e) >= 500):
		level = slog.LevelError
	case e != nil || failed > 0:
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{slog.String("outcome", outcome), slog.String("upstream_request_id", upstream),
		slog.Float64("duration_ms", float64(h.deps.Now().Sub(inv.start).Microseconds())/1000),
		slog.Int("attempts", attempts), slog.Float64("pace_rps", h.adds.Rate())}
	if e != nil {
		attrs = append(attrs, slog.String("message", apierror.Clip(e.Message, apierror.MaxMessage)))
	}
	if inv.batch {
		attrs = append(attrs, slog.Int("contacts", len(inv.items)), slog.Int("failed", failed))
	} else if len(inv.items) == 1 {
		attrs = append(attrs, slog.String("email", inv.items[0].contact.ContactInfo)) // masked by the logger
	}
	if inv.source.records() {
		attrs = append(attrs, slog.Bool("redeliver", v >= transient))
	}
	log.LogAttrs(ctx, level, "invocation", attrs...)
}
