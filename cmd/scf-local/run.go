package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/scf-dbbrain/addusercontact/internal/syncio"
)

// Exit statuses, documented in the package comment and the usage text.
const (
	exitOK            = 0
	exitFailure       = 1 // scf-local itself could not do its work
	exitUsage         = 2 // bad flags, or an event SCF would reject
	exitFunctionError = 3 // the function returned an error, panicked or died
	exitTimeout       = 4 // the function overran its time limit
)

// exitError carries an exit status out of run. A nil err means the failure
// has already been reported on stderr.
type exitError struct {
	code int
	err  error
}

// Error describes the failure.
func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

// Unwrap returns the cause.
func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// exitCode reports err on stderr (unless already reported) and maps it to
// the process's exit status.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "scf-local: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "scf-local: %v\n", err)
	return exitFailure
}

const usage = `scf-local runs a built SCF Go1 function locally, the way the SCF Go1 runtime does.

Usage:
  scf-local invoke [flags]                 invoke the function once with an event
  scf-local generate-event TYPE [flags]    print a sample event (apigw, function-url, timer, direct)

Run "scf-local invoke -h" or "scf-local generate-event -h" for the flags.

Exit status: 0 success; 1 scf-local failed; 2 bad usage or invalid event;
3 function error (returned error, panic, or process died); 4 function timed out.
`

// run is the whole program; main only wires the process to it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	// One lock for everything written to stderr: the function's logs arrive
	// from another goroutine.
	stderr = syncio.NewWriter(stderr)
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return &exitError{code: exitUsage}
	}
	switch cmd, rest := args[1], args[2:]; cmd {
	case "invoke":
		return runInvoke(ctx, rest, getenv, stdin, stdout, stderr)
	case "generate-event":
		return runGenerateEvent(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageError("unknown command %q", cmd)
	}
}
