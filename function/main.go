// Command main is the SCF function (runtime Go1, handler "main"): it serves
// scf-go-lib's runtime protocol and registers DBbrain alert contacts.
//
// main only wires: configuration and credentials come from the environment,
// and everything else lives under internal/.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/tencentyun/scf-go-lib/cloudfunction"

	"github.com/scf-dbbrain/addusercontact/internal/config"
	"github.com/scf-dbbrain/addusercontact/internal/handler"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run serves invocations until ctx ends. scf-go-lib's StartHandler never
// returns (it exits the process itself if it cannot listen), so it runs
// aside while run waits for the shutdown signal.
func run(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	h, err := handler.New(handler.Deps{Getenv: getenv, Log: stderr, Fallback: config.DefaultFallback(getenv)})
	if err != nil {
		return err
	}
	defer h.Close()
	go cloudfunction.StartHandler(h)
	<-ctx.Done()
	return nil
}
