package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/emulator"
	"github.com/scf-dbbrain/addusercontact/internal/redact"
)

// Defaults of the accepted key pair. They are not secrets: the emulator only
// ever listens locally and accepts no real key unless told to.
const (
	DefaultSecretID  = "AKIDLOCALDBBRAINEMULATOR000000000000"
	DefaultSecretKey = "local-secret-key"
)

// run is the whole command; main only wires it to the process.
func run(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dbbrain-local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var ids, secrets []string
	fs.Func("secret-id", "an accepted SecretId; repeatable ($DBBRAIN_LOCAL_SECRET_ID)", func(s string) error { ids = append(ids, s); return nil })
	fs.Func("secret-key", "the SecretKey of the matching --secret-id ($DBBRAIN_LOCAL_SECRET_KEY)", func(s string) error { secrets = append(secrets, s); return nil })
	addr := fs.String("addr", "127.0.0.1:9000", "listen address; 127.0.0.1:0 picks a free port")
	token := fs.String("token", getenv("DBBRAIN_LOCAL_TOKEN"), "make the keys temporary, requiring this token ($DBBRAIN_LOCAL_TOKEN)")
	envFile := fs.String("env-file", "", "write the function's environment for this emulator to this file")
	rps := fs.Int("rps", dbbrain.RateLimit, "calls per action in any one-second window, for all keys together; <0 unlimited")
	seed := fs.Int64("seed", 1, "seed of the fault draws")
	var f emulator.Faults
	fs.Float64Var(&f.InternalError, "fault-internal-error", 0, "probability of an InternalError answer")
	fs.Float64Var(&f.Unavailable, "fault-unavailable", 0, "probability of a bare HTTP 503")
	fs.Float64Var(&f.Drop, "fault-drop", 0, "probability of applying the call, then closing the connection unanswered")
	fs.DurationVar(&f.Latency, "latency", 0, "delay before each answer (the call is applied first)")
	statePath := fs.String("state", "", "state file kept across restarts (default: in memory)")
	var level slog.Level
	fs.TextVar(&level, "log-level", slog.LevelInfo, "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if ids == nil {
		ids = []string{cmp.Or(getenv("DBBRAIN_LOCAL_SECRET_ID"), DefaultSecretID)}
	}
	if secrets == nil {
		secrets = []string{cmp.Or(getenv("DBBRAIN_LOCAL_SECRET_KEY"), DefaultSecretKey)}
	}
	if len(ids) != len(secrets) {
		return fmt.Errorf("%d --secret-id but %d --secret-key: give them in pairs", len(ids), len(secrets))
	}
	if *rps == 0 {
		return errors.New("--rps 0 would refuse every call; use a negative value for no limit")
	}
	logger := redact.NewLogger(stderr, level)
	keys := make([]emulator.Key, len(ids))
	for i := range ids {
		keys[i] = emulator.Key{SecretID: ids[i], SecretKey: secrets[i], Token: *token}
	}

	emu, err := emulator.Start(ctx, *addr, emulator.Config{Keys: keys, RPS: *rps, Seed: *seed, Faults: f, StatePath: *statePath, Logger: logger})
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf(`%w: pick another with --addr (make emulator ARGS="--addr 127.0.0.1:9100"), or --addr 127.0.0.1:0 for a free one`, err)
	} else if err != nil {
		return err
	}
	if *envFile != "" {
		// What a function reads, as SCF passes an execution role's
		// credentials; a secret, hence mode 0600.
		env := fmt.Sprintf("TENCENTCLOUD_SECRETID=%s\nTENCENTCLOUD_SECRETKEY=%s\n", ids[0], secrets[0])
		if *token != "" {
			env += "TENCENTCLOUD_SESSIONTOKEN=" + *token + "\n"
		}
		if err := os.WriteFile(*envFile, []byte(env+"DBBRAIN_ENDPOINT="+emu.URL+"\n"), 0o600); err != nil {
			return errors.Join(fmt.Errorf("--env-file: %w", err), emu.Stop())
		}
	}
	// SDKs that take the signature's service from the endpoint's first
	// label (Node.js, Java, PHP, .NET, C++) sign "127" against the URL; a
	// name under localhost, connected to 127.0.0.1, signs "dbbrain".
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(emu.URL, "http://"))
	logger.Info("emulator listening", "url", emu.URL, "sdk_endpoint", "dbbrain.localhost:"+port, "secret_ids", ids,
		"temporary_keys", *token != "", "rps", *rps, "state", *statePath)
	if !strings.HasPrefix(emu.URL, "http://127.") && !strings.HasPrefix(emu.URL, "http://[::1]") {
		logger.Warn("listening on a non-loopback address: anyone who can reach it can use the emulator")
	}
	// Last: a script that reads the URL then has the lines above.
	if _, err := fmt.Fprintln(stdout, emu.URL); err != nil {
		return errors.Join(fmt.Errorf("write base URL: %w", err), emu.Stop())
	}
	<-ctx.Done()
	err = emu.Stop()
	logger.Info("emulator stopped")
	return err
}
