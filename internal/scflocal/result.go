package scflocal

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"
)

// Result is the outcome of one invocation.
type Result struct {
	// RequestID is the invocation's RequestId.
	RequestID string
	// Payload is the function's answer, byte for byte. Empty when the
	// function failed.
	Payload []byte
	// FunctionError is the error the function returned, a panic
	// (ShouldExit set), or, when TimedOut, a TimeLimitReached error.
	FunctionError *messages.InvokeResponse_Error
	// TimedOut reports that the function did not answer by its deadline;
	// its instance was killed.
	TimedOut bool
	// ColdStart reports that this was the instance's first invocation.
	ColdStart bool
	// InitDuration is the instance's start-up time, set on a cold start.
	InitDuration time.Duration
	// Duration is the time from sending the request to the answer; the
	// time limit when TimedOut.
	Duration time.Duration
	// BilledDuration is Duration as SCF bills it: rounded up to the next
	// millisecond, at least 1 ms; the whole time limit for a timeout.
	BilledDuration time.Duration
	// MemoryLimitMB is the configured memory size.
	MemoryLimitMB int
	// Timeout is the configured time limit.
	Timeout time.Duration
	// MaxMemoryUsedBytes is the instance's peak resident set size (VmHWM)
	// so far, 0 where it cannot be read (outside Linux).
	MaxMemoryUsedBytes int64
}

// billedDuration rounds as SCF bills since it moved from 100 ms steps to
// billing the actual execution time (1 ms granularity).
func billedDuration(r *Result) time.Duration {
	d := r.Duration
	if r.TimedOut {
		d = r.Timeout
	}
	d = ((d + time.Millisecond - 1) / time.Millisecond) * time.Millisecond
	return max(d, time.Millisecond)
}

// ReportLine formats the result like SCF's per-invocation platform log line
// ("Report RequestId:… Duration:…ms Memory:…MB MemUsage:…MB"), with two
// additions local users ask for: BilledDuration, and InitDuration on a cold
// start. Duration keeps two decimals because local runs are often under a
// millisecond.
func (r *Result) ReportLine() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Report RequestId:%s Duration:%sms BilledDuration:%dms Memory:%dMB MemUsage:%sMB",
		r.RequestID, millis(r.Duration), r.BilledDuration.Milliseconds(), r.MemoryLimitMB,
		strconv.FormatFloat(float64(r.MaxMemoryUsedBytes)/(1<<20), 'f', -1, 64))
	if r.ColdStart {
		fmt.Fprintf(&b, " InitDuration:%sms", millis(r.InitDuration))
	}
	return b.String()
}

func millis(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64)
}

// SCF invocation status codes for failed invocations.
const (
	statusUserCodeError    = 430 // "User code exception caught"
	statusTimeLimitReached = 433 // "TimeLimitReached"
)

// ErrorResponse renders a failed invocation the way SCF returns it to the
// caller of Invoke (errorCode, errorMessage, requestId, stackTrace,
// statusCode), with the Go error type added as errorType. It returns nil when
// the invocation succeeded.
func (r *Result) ErrorResponse() []byte {
	fe := r.FunctionError
	if fe == nil {
		return nil
	}
	body := struct {
		ErrorCode    int    `json:"errorCode"`
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType,omitempty"`
		RequestID    string `json:"requestId"`
		StackTrace   string `json:"stackTrace"`
		StatusCode   int    `json:"statusCode"`
	}{
		ErrorCode:    -1,
		ErrorMessage: "user code exception caught",
		ErrorType:    fe.Type,
		RequestID:    r.RequestID,
		StackTrace:   stackTrace(fe),
		StatusCode:   statusUserCodeError,
	}
	if r.TimedOut {
		body.ErrorMessage = fe.Message
		body.ErrorType = ""
		body.StackTrace = ""
		body.StatusCode = statusTimeLimitReached
	}
	out, err := json.Marshal(body)
	if err != nil {
		// Only strings and ints: cannot fail.
		panic(err)
	}
	return out
}

// stackTrace renders "Type: Message" and, for a panic, its frames.
func stackTrace(fe *messages.InvokeResponse_Error) string {
	var b strings.Builder
	if fe.Type != "" {
		b.WriteString(fe.Type)
		b.WriteString(": ")
	}
	b.WriteString(fe.Message)
	for _, f := range fe.StackTrace {
		if f == nil {
			continue
		}
		fmt.Fprintf(&b, "\n\t%s (%s:%d)", f.Label, f.Path, f.Line)
	}
	return b.String()
}
