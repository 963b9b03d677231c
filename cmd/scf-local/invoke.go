package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/scf-dbbrain/addusercontact/internal/event"
	"github.com/scf-dbbrain/addusercontact/internal/scflocal"
)

const invokeUsage = `Usage: scf-local invoke [flags]: sends the function an event. Its answer goes to
stdout as returned; its logs and the platform lines (START, ERROR, END, Report) to stderr.
`

func runInvoke(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	var f functionFlags
	fs := newFlags("invoke", invokeUsage+functionUsage+exitStatuses, stderr)
	f.register(fs, getenv)
	eventPath := fs.String("event", "", "event `file`, or - for stdin (default: the empty event {})")
	redeliver := fs.Int("redeliver", 0, "after a function error or timeout, send the event again, up to `N` times, as a CKafka trigger (or an asynchronous trigger's retries) would")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	if *redeliver < 0 {
		return usageError("--redeliver must not be negative")
	}
	payload, err := readEvent(*eventPath, stdin)
	if err != nil {
		return err
	}
	rt, stop, err := f.start(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer stop()
	var result []byte
	var report string
	for attempt := 1; ; attempt++ {
		var outcome string
		result, report, outcome, err = settle(rt.Invoke(ctx, payload))
		if *redeliver > 0 {
			fmt.Fprintf(stderr, "scf-local: attempt %d of at most %d: %s\n", attempt, *redeliver+1, outcome)
		}
		// A trigger redelivers after a function error, never after
		// scf-local's own failure.
		if attempt > *redeliver || !redeliverable(outcome) {
			break
		}
		fmt.Fprintln(stderr, "scf-local: redelivering the event")
	}
	// Stopping first waits for the function's last log lines, so that the
	// outcome, printed once, comes after them.
	stop()
	if report != "" {
		fmt.Fprint(stderr, report)
	}
	if err != nil {
		return err
	}
	if len(result) > event.MaxEvent {
		fmt.Fprintf(stderr, "scf-local: warning: the response is %d bytes; SCF fails responses over 6 MB\n", len(result))
	}
	if len(result) == 0 || result[len(result)-1] != '\n' {
		result = append(result, '\n')
	}
	if _, err := stdout.Write(result); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// Outcomes of an invocation, as the --redeliver lines name them.
const (
	outcomeSuccess       = "success"
	outcomeFunctionError = "function error"
	outcomeTimedOut      = "timed out"
	outcomeOwnFailure    = "scf-local failed"
)

func redeliverable(outcome string) bool {
	return strings.HasPrefix(outcome, outcomeFunctionError) || strings.HasPrefix(outcome, outcomeTimedOut)
}

// settle maps one invocation to its result, what to report of it on stderr
// once all attempts are done (a bounded summary, or how the process died),
// its outcome (a line, with the failure in short) and run's error.
func settle(res *scflocal.Result, err error) (result []byte, report, outcome string, _ error) {
	var pe *scflocal.ProcessExitError
	switch {
	case errors.As(err, &pe):
		return nil, "scf-local: " + err.Error() + "\n", outcomeFunctionError + " (the process exited)", &exitError{code: exitFunctionError}
	case err != nil:
		return nil, "", outcomeOwnFailure, err
	case res.TimedOut:
		return nil, summarize(res), outcomeTimedOut, &exitError{code: exitTimeout}
	case res.FunctionError != nil:
		return nil, summarize(res), outcomeFunctionError + " (" + headline(res) + ")", &exitError{code: exitFunctionError}
	}
	return res.Payload, "", outcomeSuccess, nil
}

// readEvent loads the event and refuses what SCF would: an event that is
// not JSON (InvalidParameterValue) or over 6 MB (RequestTooLarge).
func readEvent(name string, stdin io.Reader) (payload []byte, err error) {
	switch name {
	case "":
		return []byte("{}"), nil
	case "-":
		payload, err = io.ReadAll(io.LimitReader(stdin, event.MaxEvent+1))
	default:
		payload, err = os.ReadFile(name)
	}
	switch {
	case err != nil && name != "-":
		// A file that cannot be read is a bad argument, as a bad flag is.
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("--event: %w", err)}
	case err != nil:
		return nil, fmt.Errorf("read event: %w", err)
	case len(payload) > event.MaxEvent:
		return nil, usageError("event is over 6 MB; SCF rejects it (RequestTooLarge)")
	case !json.Valid(payload):
		return nil, usageError("event is not valid JSON; SCF rejects it (InvalidParameterValue)")
	}
	return payload, nil
}
