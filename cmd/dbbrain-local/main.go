// Command dbbrain-local runs the DBbrain API 3.0 emulator (package
// internal/emulator) on a local address, as the upstream for local runs of
// the AddUserContact function and for scripts.
//
// The first line on stdout is the base URL, e.g. "http://127.0.0.1:9000", so
// a script can read it (useful with --addr 127.0.0.1:0, which picks a free
// port); every request then gets one JSON log line on stderr. SIGINT or
// SIGTERM shuts it down cleanly, flushing the --state file.
//
// Usage:
//
//	dbbrain-local [flags]
//
//	--addr ADDR                  listen address (default 127.0.0.1:9000)
//	--secret-id ID               accepted SecretId (default AKIDLOCALDBBRAINEMULATOR000000000000,
//	                             or $DBBRAIN_LOCAL_SECRET_ID)
//	--secret-key KEY             its SecretKey (default local-secret-key, or $DBBRAIN_LOCAL_SECRET_KEY;
//	                             prefer the variable: arguments show up in process lists)
//	--token TOKEN                make the pair temporary: requests need X-TC-Token TOKEN
//	                             (default none, or $DBBRAIN_LOCAL_TOKEN)
//	--rps N                      accepted calls per SecretId and action per second (default 20; <0 unlimited)
//	--seed N                     seed of the fault draws (default 1)
//	--fault-internal-error P     probability of an InternalError answer (default 0)
//	--fault-unavailable P        probability of a bare HTTP 503 (default 0)
//	--fault-drop P               probability of applying the call, then closing the connection (default 0)
//	--latency D                  delay before each answer, e.g. 200ms (default 0)
//	--state FILE                 keep contacts in FILE across restarts (default: in memory)
//	--log-level LEVEL            debug, info, warn or error (default info)
//
// Faults can also be changed while it runs: PUT /_emulator/faults.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dbbrain-local:", err)
		os.Exit(1)
	}
}
