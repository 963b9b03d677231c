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
	"github.com/scf-dbbrain/addusercontact/internal/rpcserve"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run serves invocations until ctx ends. The local tools hand the process a
// connection to serve on (internal/rpcserve), and it then listens nowhere.
// In the cloud there is none: scf-go-lib's StartHandler, which never returns
// (it exits the process itself if it cannot listen), runs aside while run
// waits for the shutdown signal.
func run(ctx context.Context, _ []string, getenv func(string) string, _, stderr io.Writer) error {
	conn, err := rpcserve.Inherited(getenv)
	if err != nil {
		return err
	}
	h, err := handler.New(handler.Deps{Getenv: getenv, Log: stderr, Fallback: config.DefaultFallback(getenv)})
	if err != nil {
		if conn != nil {
			_ = conn.Close()
		}
		return err
	}
	defer h.Close()
	if conn != nil {
		return rpcserve.Serve(ctx, conn, h)
	}
	go cloudfunction.StartHandler(h)
	<-ctx.Done()
	return nil
}
