package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/emulator"
)

// emulatorService starts the DBbrain emulator in-process on a free loopback
// port, with a fresh temporary key and session token, and points the
// function at it: the same Environment entries SCF would pass for an
// execution role, plus DBBRAIN_ENDPOINT. Nothing reaches Tencent Cloud.
func emulatorService(statePath string) service {
	return func(ctx context.Context, stderr io.Writer) (map[string]string, func() error, error) {
		key := emulator.Key{
			SecretID:  "AKIDLOCAL" + randomHex(14),
			SecretKey: randomHex(16),
			Token:     randomHex(32),
		}
		emu, err := emulator.New(emulator.Config{
			Keys:      []emulator.Key{key},
			StatePath: statePath,
			Logger:    slog.New(slog.NewJSONHandler(stderr, nil)).With("component", "dbbrain-local"),
		})
		if err != nil {
			return nil, nil, err
		}
		ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			_ = emu.Close()
			return nil, nil, fmt.Errorf("listening for the emulator: %w", err)
		}
		srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		url := "http://" + ln.Addr().String()
		fmt.Fprintf(stderr, "scf-local: DBbrain emulator at %s (temporary key %s)\n", url, key.SecretID)
		stop := func() error {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := srv.Shutdown(sctx)
			if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
				err = serr
			}
			return errors.Join(err, emu.Close())
		}
		return map[string]string{
			"TENCENTCLOUD_SECRETID":     key.SecretID,
			"TENCENTCLOUD_SECRETKEY":    key.SecretKey,
			"TENCENTCLOUD_SESSIONTOKEN": key.Token,
			"DBBRAIN_ENDPOINT":          url,
		}, stop, nil
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
