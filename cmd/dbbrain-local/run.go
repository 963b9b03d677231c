package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/emulator"
)

// Defaults of the accepted key pair. They are not secrets: the emulator only
// ever listens locally and accepts no real key unless told to.
const (
	DefaultSecretID  = "AKIDLOCALDBBRAINEMULATOR000000000000"
	DefaultSecretKey = "local-secret-key"
)

// shutdownGrace bounds how long in-flight requests may finish at shutdown.
const shutdownGrace = 5 * time.Second

// run is the whole command; main only wires it to the process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	envOr := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("dbbrain-local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9000", "listen address; 127.0.0.1:0 picks a free port")
	secretID := fs.String("secret-id", envOr("DBBRAIN_LOCAL_SECRET_ID", DefaultSecretID), "accepted SecretId ($DBBRAIN_LOCAL_SECRET_ID)")
	secretKey := fs.String("secret-key", envOr("DBBRAIN_LOCAL_SECRET_KEY", DefaultSecretKey), "its SecretKey ($DBBRAIN_LOCAL_SECRET_KEY)")
	token := fs.String("token", getenv("DBBRAIN_LOCAL_TOKEN"), "make the key temporary, requiring this X-TC-Token ($DBBRAIN_LOCAL_TOKEN)")
	rps := fs.Int("rps", emulator.DefaultRPS, "accepted calls per SecretId and action in any one-second window; <0 unlimited")
	seed := fs.Int64("seed", 1, "seed of the fault draws")
	faultIE := fs.Float64("fault-internal-error", 0, "probability of an InternalError answer")
	faultUnavail := fs.Float64("fault-unavailable", 0, "probability of a bare HTTP 503")
	faultDrop := fs.Float64("fault-drop", 0, "probability of applying the call, then closing the connection unanswered")
	latency := fs.Duration("latency", 0, "delay before each answer (the call is applied first)")
	statePath := fs.String("state", "", "state file kept across restarts (default: in memory)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *rps == 0 {
		return errors.New("--rps 0 would refuse every call; use a negative value for no limit")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	handler := slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	logger := slog.New(handler)

	emu, err := emulator.New(emulator.Config{
		Keys:      []emulator.Key{{SecretID: *secretID, SecretKey: *secretKey, Token: *token}},
		RPS:       *rps,
		Seed:      *seed,
		Faults:    emulator.Faults{InternalError: *faultIE, Unavailable: *faultUnavail, Drop: *faultDrop, Latency: *latency},
		StatePath: *statePath,
		Logger:    logger,
	})
	if err != nil {
		return err
	}

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *addr)
	if err != nil {
		return errors.Join(fmt.Errorf("listen: %w", err), emu.Close())
	}
	base := "http://" + ln.Addr().String()
	if _, err := fmt.Fprintln(stdout, base); err != nil {
		return errors.Join(fmt.Errorf("write base URL: %w", err), ln.Close(), emu.Close())
	}
	attrs := []any{
		slog.String("url", base), slog.String("secret_id", *secretID), slog.Bool("temporary_key", *token != ""),
		slog.Int("rps", *rps), slog.String("state", *statePath),
	}
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		logger.Warn("listening on a non-loopback address: anyone who can reach it can use the emulator", attrs...)
	} else {
		logger.Info("dbbrain emulator listening", attrs...)
	}

	srv := &http.Server{
		Handler:           emu,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(handler, slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case <-ctx.Done():
	case err := <-served:
		return errors.Join(fmt.Errorf("serve: %w", err), emu.Close())
	}
	// Close first so that requests sleeping in an injected latency answer at
	// once and Shutdown does not wait for them.
	closeErr := emu.Close()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	shutdownErr := srv.Shutdown(shutdownCtx)
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		shutdownErr = errors.Join(shutdownErr, err)
	}
	logger.Info("dbbrain emulator stopped")
	if closeErr != nil {
		closeErr = fmt.Errorf("flush state: %w", closeErr)
	}
	return errors.Join(closeErr, shutdownErr)
}
