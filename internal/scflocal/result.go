package scflocal

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"

	"github.com/scf-dbbrain/addusercontact/internal/redact"
)

// Result is the outcome of one invocation.
type Result struct {
	RequestID string // The invocation's RequestId.
	Payload   []byte // The function's answer, byte for byte; empty when it failed.
	// FunctionError is the error the function returned, a panic
	// (ShouldExit set), or, when TimedOut, a TimeLimitReached error.
	FunctionError      *messages.InvokeResponse_Error
	TimedOut           bool          // No answer by the deadline: the instance was killed.
	ColdStart          bool          // The instance's first invocation.
	InitDuration       time.Duration // The instance's start-up time, on a cold start.
	Duration           time.Duration // From request to answer; the time limit when TimedOut.
	BilledDuration     time.Duration // Duration as SCF bills it.
	MemoryLimitMB      int           // The configured memory size.
	Timeout            time.Duration // The configured time limit.
	MaxMemoryUsedBytes int64         // Peak RSS (VmHWM) so far; 0 outside Linux.
}

// billedDuration rounds up to the millisecond, at least 1 ms, as SCF bills
// since it dropped 100 ms steps; a timeout bills the whole limit.
func billedDuration(r *Result) time.Duration {
	d := r.Duration
	if r.TimedOut {
		d = r.Timeout
	}
	return max((d + time.Millisecond - 1).Truncate(time.Millisecond), time.Millisecond)
}

// ReportLine formats SCF's per-invocation platform line ("Report
// RequestId:… Duration:…ms Memory:…MB MemUsage:…MB") with what local users
// ask for besides: BilledDuration, and InitDuration on a cold start.
// Duration keeps two decimals: local runs often take under a millisecond.
func (r *Result) ReportLine() string {
	line := fmt.Sprintf("Report RequestId:%s Duration:%sms BilledDuration:%dms Memory:%dMB MemUsage:%sMB",
		r.RequestID, millis(r.Duration), r.BilledDuration.Milliseconds(), r.MemoryLimitMB,
		strconv.FormatFloat(float64(r.MaxMemoryUsedBytes)/(1<<20), 'f', -1, 64))
	if r.ColdStart {
		line += " InitDuration:" + millis(r.InitDuration) + "ms"
	}
	return line
}

func millis(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64)
}

// ErrorResponse renders a failed invocation as SCF answers the caller of
// Invoke (errorCode, errorMessage, requestId, stackTrace, statusCode 430 for
// a user code error, 433 for a timeout), with the Go error type added as
// errorType and any URL's password masked. It is nil when the invocation
// succeeded.
func (r *Result) ErrorResponse() []byte {
	fe := r.FunctionError
	if fe == nil {
		return nil
	}
	body := map[string]any{"errorCode": -1, "errorMessage": redact.URLsIn(fe.Message), "requestId": r.RequestID, "stackTrace": "", "statusCode": 433}
	if !r.TimedOut {
		var trace strings.Builder
		if fe.Type != "" {
			trace.WriteString(fe.Type + ": ")
		}
		trace.WriteString(redact.URLsIn(fe.Message))
		for _, f := range fe.StackTrace {
			if f != nil {
				fmt.Fprintf(&trace, "\n\t%s (%s:%d)", f.Label, f.Path, f.Line)
			}
		}
		body["errorMessage"], body["errorType"], body["stackTrace"], body["statusCode"] = "user code exception caught", fe.Type, trace.String(), 430
	}
	out, _ := json.Marshal(body) // strings and numbers only: cannot fail
	return out
}
