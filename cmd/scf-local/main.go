// Command scf-local runs a built SCF Go1 function binary on this machine the
// way Tencent Cloud's Go1 runtime runs it (as `sam local invoke` does for AWS
// Lambda), and prints sample trigger events.
//
//	scf-local invoke --event FILE|- [--bin dist/main] [--env K=V]... [--env-file FILE]
//	                 [--timeout 3s] [--memory 128] [--function-name NAME] [--region REGION] ...
//	scf-local generate-event apigw|function-url|timer|direct [flags]
//
// Exit status: 0 success, 1 scf-local could not do its work (e.g. the binary
// does not start), 2 bad usage or an event SCF would reject, 3 the function
// failed (returned an error, panicked, or its process died), 4 the function
// timed out.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}
