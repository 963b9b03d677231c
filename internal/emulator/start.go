package emulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// shutdownGrace bounds how long Stop lets calls in flight finish.
const shutdownGrace = 5 * time.Second

// Running is an emulator serving on a local address, as Start brought it up
// for scf-local, dbbrain-local and the bench.
type Running struct {
	URL    string  // The base URL, http://host:port.
	Server *Server // The emulator, for its faults, contacts and stats.

	stop func() error
}

// Start makes a Server from cfg and serves it on addr (e.g. "127.0.0.1:0",
// which picks a free port) until Stop.
func Start(ctx context.Context, addr string, cfg Config) (*Running, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err) // net says "listen tcp ADDR: …"; s holds nothing to release
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	return &Running{URL: "http://" + ln.Addr().String(), Server: s, stop: sync.OnceValue(func() error {
		closeErr := s.Close() // first, so that calls sleeping in a latency answer at once
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		err := srv.Shutdown(ctx)
		if err != nil {
			err = errors.Join(err, srv.Close())
		}
		if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return errors.Join(closeErr, err)
	})}, nil
}

// Stop shuts the server down: it cuts injected latency short, then waits
// a few seconds for calls in flight. It is idempotent.
func (r *Running) Stop() error { return r.stop() }
