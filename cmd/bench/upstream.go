package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"

	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/emulator"
)

// region is the region the function serves and the emulator answers in.
const region = "ap-guangzhou"

// upstream is one DBbrain emulator on a free loopback port with two
// temporary keys: one for the function (as its execution role) and one for
// the bench's own calls (the direct-call baseline and the checks), so that
// the bench never uses up the function's rate window.
type upstream struct {
	emu      *emulator.Server
	srv      *http.Server
	served   chan error
	host     string
	fnKey    emulator.Key
	benchKey emulator.Key
	offered  *arrivals
	// transport carries the bench's own calls; closed with the upstream.
	transport *http.Transport
}

// startUpstream starts an emulator with cfg (Keys are set here) on
// 127.0.0.1.
func startUpstream(ctx context.Context, cfg emulator.Config) (*upstream, error) {
	u := &upstream{fnKey: newKey("AKIDBENCHFN"), benchKey: newKey("AKIDBENCHCLI")}
	cfg.Keys = []emulator.Key{u.fnKey, u.benchKey}
	emu, err := emulator.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("starting the emulator: %w", err)
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		_ = emu.Close()
		return nil, fmt.Errorf("listening for the emulator: %w", err)
	}
	u.emu = emu
	u.host = ln.Addr().String()
	u.offered = &arrivals{secretID: u.fnKey.SecretID}
	u.srv = &http.Server{Handler: u.offered.wrap(emu), ReadHeaderTimeout: 10 * time.Second}
	u.served = make(chan error, 1)
	go func() { u.served <- u.srv.Serve(ln) }()
	u.transport = dbbrain.NewTransport(4)
	return u, nil
}

// Close stops the server (waiting a few seconds for calls in flight) and
// the emulator.
func (u *upstream) Close() error {
	u.transport.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := u.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, u.srv.Close())
	}
	if serr := <-u.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return errors.Join(err, u.emu.Close())
}

// functionEnv is the invocation Environment pointing the function at this
// emulator with its role's temporary key, as SCF passes an execution role's.
func (u *upstream) functionEnv() map[string]string {
	return map[string]string{
		"TENCENTCLOUD_SECRETID":     u.fnKey.SecretID,
		"TENCENTCLOUD_SECRETKEY":    u.fnKey.SecretKey,
		"TENCENTCLOUD_SESSIONTOKEN": u.fnKey.Token,
		"DBBRAIN_ENDPOINT":          "http://" + u.host,
	}
}

// client returns the function's own DBbrain client, for the bench's calls
// under the bench's key.
func (u *upstream) client() (*dbbrain.Client, common.CredentialIface) {
	c := dbbrain.NewClient(region, dbbrain.Endpoint{Scheme: "HTTP", Host: u.host}, u.transport)
	return c, common.NewTokenCredential(u.benchKey.SecretID, u.benchKey.SecretKey, u.benchKey.Token)
}

func newKey(prefix string) emulator.Key {
	return emulator.Key{SecretID: prefix + randomHex(12), SecretKey: randomHex(16), Token: randomHex(32)}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// arrivals records when each API request signed with one SecretId reached
// the server, by action, before the emulator's rate limiter sees it. The
// emulator's Stats keep only the calls it admitted; these are all the calls
// the function offered, so their densest second shows whether the client's
// own pacing stays under the limit, not just that the server enforced it.
type arrivals struct {
	secretID string
	mu       sync.Mutex
	byAction map[string][]time.Time
}

func (a *arrivals) wrap(next http.Handler) http.Handler {
	credential := "Credential=" + a.secretID + "/"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" && strings.Contains(r.Header.Get("Authorization"), credential) {
			now := time.Now()
			action := r.Header.Get("X-TC-Action")
			a.mu.Lock()
			if a.byAction == nil {
				a.byAction = map[string][]time.Time{}
			}
			a.byAction[action] = append(a.byAction[action], now)
			a.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

// since returns the arrivals of action at or after t.
func (a *arrivals) since(action string, t time.Time) []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []time.Time
	for _, at := range a.byAction[action] {
		if !at.Before(t) {
			out = append(out, at)
		}
	}
	return out
}
