// Command scf-local runs a built SCF Go1 function binary on this machine the
// way Tencent Cloud's Go1 runtime runs it, as `sam local` does for AWS
// Lambda: it invokes the function with an event, serves it over HTTP as its
// Function URL, runs it as a CKafka trigger on a Kafka topic, and prints
// sample trigger events.
//
//	scf-local invoke [--event FILE|-] [--redeliver N] [function flags]
//	scf-local serve [--addr 127.0.0.1:9001] [--allow-host NAME]... [--apigw] [function flags]
//	scf-local consume --brokers HOST:PORT --topic T | --embedded-kafka [--produce FILE] [--until-idle D] [function flags]
//	scf-local generate-event apigw|function-url|timer|direct|ckafka|cmq|eventbridge [flags]
//
// The function flags: --bin, --env, --env-file, --emulator, --emulator-state,
// --timeout, --init-timeout, --memory, --function-name, --namespace,
// --function-version, --region, --appid, --uin.
//
// Exit status: 0 success, 1 scf-local could not do its work (e.g. the binary
// does not start), 2 bad usage or an event SCF would reject, 3 the function
// failed (returned an error, panicked, or its process died), 4 the function
// timed out.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/scf-dbbrain/addusercontact/internal/redact"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// Exit statuses, as the package comment documents them.
const (
	exitOK, exitFailure, exitUsage, exitFunctionError, exitTimeout = 0, 1, 2, 3, 4
)

// exitError carries an exit status out of run; a nil err has already been
// reported on stderr.
type exitError struct {
	code int
	err  error
}

// Error describes the failure.
func (e *exitError) Error() string { return fmt.Sprintf("exit status %d: %v", e.code, e.err) }

// Unwrap returns the cause.
func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// exitCode reports err on stderr, unless it already was, and maps it to the
// process's exit status. A URL quoted in the error (an endpoint, an address)
// has its password masked.
func exitCode(err error, stderr io.Writer) int {
	var ee *exitError
	switch {
	case err == nil:
		return exitOK
	case !errors.As(err, &ee):
		fmt.Fprintf(stderr, "scf-local: %s\n", redact.URLsIn(err.Error()))
		return exitFailure
	case ee.err != nil:
		fmt.Fprintf(stderr, "scf-local: %s\n", redact.URLsIn(ee.err.Error()))
	}
	return ee.code
}

const usage = `Usage: scf-local invoke|serve|consume|generate-event [flags]; "scf-local COMMAND -h" for the flags.
` + exitStatuses

const exitStatuses = `Exit status: 0 success; 1 scf-local failed; 2 bad usage or invalid event;
3 function error (returned error, panic, or process died); 4 function timed out.
`

// run is the whole program; main only wires the process to it. stderr must
// be safe for concurrent writes, as os.Stderr is: the function's logs, the
// emulator's and the server's arrive from several goroutines.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return &exitError{code: exitUsage}
	}
	switch cmd, rest := args[1], args[2:]; cmd {
	case "invoke":
		return runInvoke(ctx, rest, getenv, stdin, stdout, stderr)
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr)
	case "generate-event":
		return runGenerateEvent(rest, stdout, stderr)
	case "consume":
		return runConsume(ctx, rest, getenv, stdin, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError("unknown command %q", args[1])
}

// newFlags makes a command's flag set, whose -h prints text and the flags.
func newFlags(name, text string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, text+"\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and refuses positional arguments. -h is not an
// error; the flag package has already reported the other flag errors.
func parseFlags(fs *flag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return true, nil
	} else if err != nil {
		return false, &exitError{code: exitUsage}
	}
	if fs.NArg() > 0 {
		return false, usageError("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return false, nil
}
