// Command main is the SCF function (runtime Go1, handler "main"): it serves
// scf-go-lib's runtime protocol and registers DBbrain alert contacts.
//
// main only wires: configuration and credentials come from the environment
// on every invocation, and everything else lives under internal/.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/tencentyun/scf-go-lib/cloudfunction"

	"github.com/scf-dbbrain/addusercontact/internal/config"
	"github.com/scf-dbbrain/addusercontact/internal/credentials"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/handler"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run starts the runtime server and returns when ctx ends. scf-go-lib's
// StartHandler never returns (it exits the process itself if it cannot
// listen), so it runs aside while run waits for the shutdown signal.
func run(ctx context.Context, _ []string, getenv func(string) string, _ io.Reader, _, stderr io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	transport := dbbrain.NewTransport(max(cfg.Concurrency, 8))
	h, err := handler.New(handler.Deps{
		Getenv:    getenv,
		Log:       stderr,
		Transport: transport,
		Fallback:  credentials.DefaultFallback(getenv),
	})
	if err != nil {
		return err
	}
	defer h.Close()
	slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel})).Info("starting", "config", cfg.String())
	go cloudfunction.StartHandler(h)
	<-ctx.Done()
	return nil
}
