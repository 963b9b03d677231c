package handler

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/event"
	"github.com/scf-dbbrain/addusercontact/internal/redact"
)

// verdict is what an outcome asks of the platform (the README's table).
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

// verdicts is the one place verdicts combine: a record's is the greatest of
// its contacts', the invocation's the greatest of all, decided by code.
func (inv *invocation) verdicts() (records []verdict, all verdict, code string) {
	records = make([]verdict, len(inv.records))
	all, code = verdictOf(inv.err), apierror.CodeOf(inv.err)
	for _, it := range inv.items {
		v := verdictOf(it.out.Err)
		if it.record >= 0 {
			records[it.record] = max(records[it.record], v)
		}
		if v > all {
			all, code = v, apierror.CodeOf(it.out.Err)
		}
	}
	return records, all, code
}

// ErrorBody is the Error object of a failure envelope or a batch result.
type ErrorBody struct {
	Code    string `json:"Code"`    // The Tencent Cloud error code.
	Message string `json:"Message"` // The human-readable text.
}

// Result is one contact's outcome in a batch.
type Result struct {
	Record string     `json:"Record,omitempty"` // The message's coordinates, for record triggers.
	Name   string     `json:"Name"`             // The contact's name as given.
	ID     *int64     `json:"Id,omitempty"`     // The contact's id, on success.
	Error  *ErrorBody `json:"Error,omitempty"`  // The failure, otherwise.
}

// RetryableError is the function error of an invocation a later, idempotent
// delivery can complete: SCF's retries and a workflow's Retry see its name.
type RetryableError struct{ functionError }

// SetupError is the function error of an invocation that failed on the
// function's own setup, which a workflow's Catch can tell from a retryable one.
type SetupError struct{ functionError }

// functionError carries the deciding code and a short, masked envelope.
type functionError struct {
	Code string // The code of the failure that decided the verdict.
	text string
}

// Error returns the text.
func (e functionError) Error() string { return e.text }

// Bounds on what leaves: an answer over SCF's 6 MB fails the invocation (and
// is delivered again and again), and SCF logs a function error's text whole.
const (
	maxAnswer    = 5 << 20
	maxErrorText = 60 << 10
)

// answer renders the invocation in its trigger's form: the integration
// response, the envelope, or a function error that asks for a redelivery.
func (h *Handler) answer(inv *invocation) ([]byte, error) {
	if inv.source.http() { // never retried by the platform: the caller decides by the status
		body, status := inv.envelope(false)
		h := map[string]string{"Content-Type": "application/json; charset=utf-8"}
		if errors.Is(inv.err, errMethodNotAllowed) {
			h["Allow"] = allowedMethods
		}
		return encode(event.IntegrationResponse{StatusCode: status, Headers: h, Body: string(body)}), nil
	}
	_, v, code := inv.verdicts()
	switch text, _ := inv.envelope(v >= transient); {
	case v < transient:
		return text, nil
	case v == setup:
		return nil, &SetupError{functionError{code, string(text)}}
	default:
		return nil, &RetryableError{functionError{code, string(text)}}
	}
}

// envelope renders {"Response":...} and its HTTP status. For a function
// error's text (fnErr) a batch lists only its failures, masked field by field
// so that the text stays JSON. Results are cut to what fits, measured as sent.
func (inv *invocation) envelope(fnErr bool) ([]byte, int) {
	mask, budget := func(s string) string { return s }, maxAnswer
	if fnErr {
		mask, budget = redact.EmailsIn, maxErrorText
	}
	if e := apierror.From(inv.err); e != nil {
		return response(struct {
			Error     ErrorBody `json:"Error"`
			RequestID string    `json:"RequestId"`
		}{ErrorBody{e.Code, apierror.Clip(mask(e.Message), apierror.MaxMessage)}, cmp.Or(e.RequestID, inv.requestID)}), httpStatus(e)
	}
	if !inv.batch {
		o := inv.items[0].out
		return response(struct {
			ID        int64  `json:"Id"`
			RequestID string `json:"RequestId"`
		}{o.ID, o.RequestID}), http.StatusOK
	}
	results := []Result{}
	failed, size, omitted := 0, 0, 0
	for _, it := range inv.items {
		r := Result{Name: it.name}
		if it.record >= 0 {
			r.Record = inv.records[it.record]
		}
		switch e := apierror.From(it.out.Err); {
		case e != nil:
			failed++
			r.Name, r.Record = mask(r.Name), mask(r.Record)
			r.Error = &ErrorBody{e.Code, mask(apierror.Clip(e.Message, apierror.MaxMessage))}
		case fnErr:
			continue
		default:
			r.ID = &it.out.ID
		}
		if size <= budget { // past it, the rest is counted, not encoded
			enc := encode(r)
			if inv.source.http() && !fnErr { // quoted once more inside the integration response
				enc = encode(string(enc))
			}
			size += len(enc) + 1
		}
		if size > budget {
			omitted++
		} else {
			results = append(results, r)
		}
	}
	status := http.StatusOK
	if failed > 0 {
		status = http.StatusMultiStatus
	}
	return response(struct {
		Results        []Result `json:"Results"`
		OmittedCount   int      `json:"OmittedCount,omitempty"`
		SucceededCount int      `json:"SucceededCount"`
		FailedCount    int      `json:"FailedCount"`
		RequestID      string   `json:"RequestId"`
	}{results, omitted, len(inv.items) - failed, failed, inv.requestID}), status
}

// httpStatus maps an error to its HTTP status: the kind decides the class,
// the code's family the detail.
func httpStatus(e *apierror.Error) int {
	switch k, fam := e.Kind, apierror.Family(e.Code); {
	case k == apierror.Conflict:
		return http.StatusConflict
	case k == apierror.NotAttempted, k == apierror.Transient && e.Code == apierror.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case k == apierror.Throttled:
		return http.StatusTooManyRequests
	case k == apierror.Transient && fam == apierror.InternalError:
		return http.StatusInternalServerError
	case k == apierror.Transient, k == apierror.Setup && fam == "ClientError":
		return http.StatusBadGateway
	case k == apierror.Setup:
		bySetup := map[string]int{apierror.AuthFailure: http.StatusUnauthorized, "UnauthorizedOperation": http.StatusForbidden}
		return cmp.Or(bySetup[fam], http.StatusInternalServerError)
	case errors.Is(e, errMethodNotAllowed):
		return http.StatusMethodNotAllowed
	default:
		byFamily := map[string]int{apierror.RequestSizeLimitExceeded: http.StatusRequestEntityTooLarge,
			"ResourceNotFound": http.StatusNotFound, apierror.FailedOperation: http.StatusConflict}
		return cmp.Or(byFamily[fam], http.StatusBadRequest)
	}
}

// response wraps v in the API 3.0 envelope, {"Response":...}.
func response(v any) []byte { return encode(struct{ Response any }{v}) }

// encode writes JSON without escaping <, > and &, which would triple the size
// of hostile input echoed back; answers hold strings and numbers, which encode.
func encode(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// maxRecordLines bounds an invocation's record WARN lines, so that logging
// cannot outlast the deadline.
const maxRecordLines = 100

// logInvocation writes a WARN line per record acknowledged unregistered
// (its first failure, and how many of its contacts failed), one counting
// the contacts not attempted, and the invocation's line.
func (h *Handler) logInvocation(ctx context.Context, inv *invocation) {
	records, v, _ := inv.verdicts()
	log := h.log.With("request_id", inv.requestID, "trigger", string(inv.source))
	failed, notAttempted, attempts := 0, 0, 0
	failures := make([]int, len(inv.records)) // by record
	var lost []int                            // the first failure of each record lost
	for i, it := range inv.items {
		attempts += it.out.Attempts
		if it.out.Err == nil {
			continue
		}
		failed++
		if apierror.KindOf(it.out.Err) == apierror.NotAttempted {
			notAttempted++
		}
		if r := it.record; r >= 0 && records[r] == permanent {
			if failures[r]++; failures[r] == 1 {
				lost = append(lost, i)
			}
		}
	}
	for _, i := range lost[:min(len(lost), maxRecordLines)] {
		it, e := inv.items[i], apierror.From(inv.items[i].out.Err)
		log.Warn("record not registered: it can never be as sent", "record", inv.records[it.record], "name", it.name,
			"code", e.Code, "message", e.Message, "failed_contacts", failures[it.record])
	}
	if len(lost) > maxRecordLines {
		log.Warn("more records not registered", "count", len(lost)-maxRecordLines)
	}
	if notAttempted > 0 {
		log.Warn("contacts not attempted: too little of the invocation's time was left; a retry registers them", "count", notAttempted)
	}
	e := apierror.From(inv.err)
	outcome, upstream, level := "Success", "", slog.LevelInfo
	switch {
	case e != nil:
		outcome, upstream = e.Code, e.RequestID
	case !inv.batch:
		upstream = inv.items[0].out.RequestID
	case failed > 0 && failed == len(inv.items):
		outcome = "Failed"
	case failed > 0:
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
		email := ""
		if len(inv.contacts) == 1 {
			email = inv.contacts[0].ContactInfo
		}
		attrs = append(attrs, slog.String("email", email)) // masked by the logger
	}
	if inv.source.records() {
		attrs = append(attrs, slog.Bool("redeliver", v >= transient))
	}
	log.LogAttrs(ctx, level, "invocation", attrs...)
}
