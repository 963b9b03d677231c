// Command dbbrain-local runs the DBbrain API emulator (internal/emulator) on
// a local address, for local runs of the function and for scripts.
//
//	dbbrain-local [--addr 127.0.0.1:9000] [--secret-id ID --secret-key KEY]... [--token T]
//	              [--env-file FILE] [--rps 20] [--state FILE] [--fault-* P] [--latency D] ...
//
// The first line on stdout is the base URL (--addr 127.0.0.1:0 picks a free
// port); then each request gets a JSON log line on stderr, emails masked,
// secrets never. Key pairs (default AKIDLOCALDBBRAINEMULATOR000000000000 /
// local-secret-key, or $DBBRAIN_LOCAL_SECRET_ID, $DBBRAIN_LOCAL_SECRET_KEY,
// $DBBRAIN_LOCAL_TOKEN; prefer the variables, as arguments show in process
// lists) all belong to one account and share its rate limit. --env-file
// writes the first pair and the URL as a function reads them, for
// "scf-local invoke --env-file FILE". -h lists every flag; faults can also
// be changed while it runs (PUT /_emulator/faults). SIGINT or SIGTERM stops
// it cleanly.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/scf-dbbrain/addusercontact/internal/redact"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		// A URL in the error (an address, a path) keeps no password.
		fmt.Fprintln(os.Stderr, "dbbrain-local:", redact.URLsIn(err.Error()))
		os.Exit(1)
	}
}
