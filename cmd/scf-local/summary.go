package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/scf-dbbrain/addusercontact/internal/redact"
	"github.com/scf-dbbrain/addusercontact/internal/scflocal"
)

// Bounds of a failure's summary: a batch's function error is its whole
// envelope, 180 KB for 1000 contacts, which nobody reads on a terminal.
const (
	summaryFailures = 3   // failed items listed
	summaryText     = 200 // bytes of any one message
	summaryFrames   = 5   // stack frames of a panic
)

// envelope is the function's documented answer, as far as a summary reads
// it: one error, or a batch's counts and results.
type envelope struct {
	Response struct {
		Error   *apiError
		Results []struct {
			Record string
			Name   string
			Error  *apiError
		}
		SucceededCount, FailedCount, OmittedCount int
	}
}

type apiError struct{ Code, Message string }

func (e *apiError) String() string { return e.Code + ": " + e.Message }

// headline is a failed invocation in one bounded line: the error's Go type,
// as SCF reports it, and what the function said, in short.
func headline(res *scflocal.Result) string {
	fe := res.FunctionError
	if res.TimedOut || fe.ShouldExit {
		return clean(fe.Type + ": " + fe.Message)
	}
	short := clean(fe.Message)
	var env envelope
	if json.Unmarshal([]byte(fe.Message), &env) == nil {
		r := env.Response
		switch {
		case r.Error != nil:
			short = clean(r.Error.String())
		case r.Results != nil:
			short = fmt.Sprintf("%d succeeded, %d failed", r.SucceededCount, r.FailedCount)
			if r.OmittedCount > 0 {
				short += fmt.Sprintf(" (%d not listed)", r.OmittedCount)
			}
		}
	}
	return fe.Type + ": " + short
}

// summarize describes a failed invocation in a few bounded lines: the
// headline, then a batch's first failures or a panic's first frames.
func summarize(res *scflocal.Result) string {
	var b strings.Builder
	fe := res.FunctionError
	switch {
	case res.TimedOut:
		fmt.Fprintf(&b, "scf-local: timed out (SCF answers statusCode 433): %s\n", fe.Message)
	case fe.ShouldExit:
		fmt.Fprintf(&b, "scf-local: the function panicked (SCF answers statusCode 430): %s\n", headline(res))
	default:
		fmt.Fprintf(&b, "scf-local: function error (SCF answers statusCode 430): %s\n", headline(res))
	}
	if fe.ShouldExit {
		for i, f := range fe.StackTrace {
			if i == summaryFrames {
				fmt.Fprintf(&b, "\t… %d more frames\n", len(fe.StackTrace)-i)
				break
			}
			if f != nil {
				fmt.Fprintf(&b, "\t%s (%s:%d)\n", f.Label, f.Path, f.Line)
			}
		}
		return b.String()
	}
	var env envelope
	if res.TimedOut || json.Unmarshal([]byte(fe.Message), &env) != nil {
		return b.String()
	}
	listed := 0
	for _, item := range env.Response.Results {
		if item.Error == nil {
			continue
		}
		if listed++; listed > summaryFailures {
			fmt.Fprintf(&b, "  … and %d more failures\n", env.Response.FailedCount-summaryFailures)
			break
		}
		where := fmt.Sprintf("%q", scflocal.Clip(item.Name, summaryText))
		if item.Record != "" {
			where = item.Record + " " + where
		}
		fmt.Fprintf(&b, "  %s: %s\n", where, clean(item.Error.String()))
	}
	return b.String()
}

// clean makes a message one bounded line with any URL's password masked.
func clean(s string) string {
	return scflocal.Clip(redact.URLsIn(s), summaryText)
}
