package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

// fixture is a request recorded by ../signature/testdata/node/capture.js.
type fixture struct {
	Description, SecretID, SecretKey, Token, Method, Target, Body string
	Now                                                           int64
	Headers                                                       [][2]string
}

func loadFixtures(t *testing.T) map[string]fixture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "signature", "testdata", "node", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]fixture{}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var f fixture
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[strings.TrimSuffix(filepath.Base(p), ".json")] = f
	}
	return out
}

func TestNewTemporaryKey(t *testing.T) {
	a, b := NewTemporaryKey("acct"), NewTemporaryKey("")
	if !strings.HasPrefix(a.SecretID, "AKIDLOCAL") || a.SecretID == b.SecretID || a.SecretKey == b.SecretKey ||
		a.Token == "" || a.Token == b.Token || a.Account != "acct" || b.Account != "" {
		t.Fatalf("keys %+v %+v", a, b)
	}
}

func TestStartServesAndStopCutsLatencyShort(t *testing.T) {
	key := NewTemporaryKey("")
	run, err := Start(context.Background(), "127.0.0.1:0", Config{Keys: []Key{key}, Faults: Faults{Latency: 5 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(run.URL, "http://127.0.0.1:") {
		t.Fatalf("URL %q", run.URL)
	}
	c := sdkClient(t, run.URL, common.NewTokenCredential(key.SecretID, key.SecretKey, key.Token))
	done := make(chan error, 1)
	go func() {
		_, err := sdkAdd(t, c, "Started", "s@example.com")
		done <- err
	}()
	for len(run.Server.Contacts()) == 0 { // applied, now sleeping in the latency
		time.Sleep(time.Millisecond)
	}
	if err := run.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the call in flight: %v", err)
	}
	if err := run.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := http.Get(run.URL + "/_emulator/stats"); err == nil {
		t.Fatal("still serving after Stop")
	}
}

func TestStartRefusesBadInput(t *testing.T) {
	if _, err := Start(context.Background(), "127.0.0.1:notaport", Config{Keys: []Key{permKey}}); err == nil {
		t.Fatal("bad address accepted")
	}
	if _, err := Start(context.Background(), "127.0.0.1:0", Config{}); err == nil {
		t.Fatal("no keys accepted")
	}
}

// TestSharedStateFile runs two emulators on one state file, as two
// processes would: every contact survives with its own Id.
func TestSharedStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	servers := []*Server{
		newTestServer(t, newFakeClock(), func(c *Config) { c.StatePath, c.RPS = path, -1 }),
		newTestServer(t, newFakeClock(), func(c *Config) { c.StatePath, c.RPS = path, -1 }),
	}
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { add(t, servers[i%2], t0, fmt.Sprintf("user %d", i), fmt.Sprintf("u%d@example.com", i)) })
	}
	wg.Wait()
	for _, s := range append(servers, newTestServer(t, newFakeClock(), func(c *Config) { c.StatePath = path })) {
		got := s.Contacts()
		if len(got) != n {
			t.Fatalf("%d contacts, want %d", len(got), n)
		}
		for i, c := range got {
			if c.Id != int64(i+1) {
				t.Fatalf("ids %v", got)
			}
		}
	}
	// A name taken through one emulator is taken for the other.
	add(t, servers[0], t0, "Only Once", "o@example.com")
	if got := do(t, servers[1], apiReq{body: addBody("Only Once", "o2@example.com")}.build(t)); got.code() != apierror.FailedOperation {
		t.Fatalf("duplicate through the other emulator: %s", got.Raw)
	}
	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := do(t, servers[0], apiReq{body: addBody("Broken", "b@example.com")}.build(t)); got.code() != apierror.InternalError {
		t.Fatalf("corrupt state: %s", got.Raw)
	}
	if _, err := New(Config{Keys: []Key{permKey}, StatePath: path}); err == nil || errors.Is(err, os.ErrNotExist) {
		t.Fatalf("New on a corrupt state file: %v", err)
	}
}
