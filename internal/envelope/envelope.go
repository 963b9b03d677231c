// Package envelope renders the documented Tencent Cloud API 3.0 response
// envelopes: {"Response":{...,"RequestId":..}} for success and
// {"Response":{"Error":{"Code":..,"Message":..},"RequestId":..}} for failure,
// plus the batch form that reports one result per contact.
package envelope

import (
	"bytes"
	"encoding/json"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

// ErrorBody is the Error object of a failure envelope or a batch result.
type ErrorBody struct {
	Code    string `json:"Code"`    // The Tencent Cloud error code.
	Message string `json:"Message"` // The human-readable text.
}

type successBody struct {
	ID        int64  `json:"Id"`
	RequestID string `json:"RequestId"`
}

type errorBody struct {
	Error     ErrorBody `json:"Error"`
	RequestID string    `json:"RequestId"`
}

// Result is one contact's outcome in a batch: Id on success, Error on failure.
type Result struct {
	Name  string     `json:"Name"`            // The contact's name as given.
	ID    *int64     `json:"Id,omitempty"`    // The contact's id, on success.
	Error *ErrorBody `json:"Error,omitempty"` // The failure, otherwise.
}

type batchBody struct {
	Results        []Result `json:"Results"`
	SucceededCount int      `json:"SucceededCount"`
	FailedCount    int      `json:"FailedCount"`
	RequestID      string   `json:"RequestId"`
}

type wrapper[T any] struct {
	Response T `json:"Response"`
}

// Success renders {"Response":{"Id":id,"RequestId":requestID}}.
func Success(id int64, requestID string) []byte {
	return render(successBody{ID: id, RequestID: requestID})
}

// Error renders the failure envelope for err. The RequestId is DBbrain's when
// DBbrain answered, else fallbackRequestID (the invocation's own).
func Error(err error, fallbackRequestID string) []byte {
	e := apierror.As(err)
	rid := e.RequestID
	if rid == "" {
		rid = fallbackRequestID
	}
	return render(errorBody{Error: ErrorBody{Code: e.Code, Message: apierror.Clip(e.Message)}, RequestID: rid})
}

// Batch renders the batch envelope with the counts derived from results.
func Batch(results []Result, requestID string) []byte {
	b := batchBody{Results: results, RequestID: requestID}
	if b.Results == nil {
		b.Results = []Result{}
	}
	for _, r := range results {
		if r.Error != nil {
			b.FailedCount++
		} else {
			b.SucceededCount++
		}
	}
	return render(b)
}

// render marshals v. The values above hold only strings and integers, which
// always marshal; the fallback exists so that no path can panic or return an
// empty body.
func render[T any](v T) []byte {
	out, err := JSON(wrapper[T]{Response: v})
	if err != nil {
		return []byte(`{"Response":{"Error":{"Code":"InternalError","Message":"the response could not be encoded"},"RequestId":""}}`)
	}
	return out
}

// JSON encodes v without escaping <, > and & as \u003c and the like. The
// answers are JSON, never HTML, and the escapes would triple the size of
// hostile input echoed back, nested once more inside an HTTP integration
// response.
func JSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
