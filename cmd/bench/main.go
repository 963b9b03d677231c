// Command bench measures the built function (dist/main) the way SCF runs it,
// through internal/scflocal, against the in-process DBbrain emulator at its
// real rate limit, and writes a markdown report (bench/REPORT.md): batch
// throughput against the limit, per-item latency, memory, sizes, cold start,
// warm overhead, and idempotency under injected faults.
//
//	go run ./cmd/bench --bin dist/main --zip dist/function.zip --out bench/REPORT.md
//
// Everything it starts (emulators, function processes) listens on 127.0.0.1
// only and is stopped before it returns, also on failure or interrupt.
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
	err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
