package emulator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/signature"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var (
	permKey = Key{SecretID: "AKIDEMULATORTEST00000000000000000000", SecretKey: "emulator-test-key"}
	tempKey = Key{SecretID: "AKIDEMULATORTEMP00000000000000000000", SecretKey: "emulator-temp-key", Token: "emulator-session-token"}
	// t0 is the fake clock's start: 2025-11-26T13:00:00Z.
	t0 = time.Unix(1764162000, 0)
)

// fakeClock is an injectable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// newTestServer makes a Server with both test keys on clock (nil: real
// time); mod adjusts the config.
func newTestServer(t *testing.T, clock *fakeClock, mod func(*Config)) *Server {
	t.Helper()
	cfg := Config{Keys: []Key{permKey, tempKey}}
	if clock != nil {
		cfg.Now = clock.Now
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// apiReq describes one API call made by hand, signed with signature.Sign.
type apiReq struct {
	method      string            // default POST
	target      string            // default "/"
	contentType string            // default application/json
	body        string            // default "{}"
	action      string            // default AddUserContact
	version     string            // default 2019-10-16
	headers     map[string]string // overrides; "" deletes
	key         Key               // default permKey
	at          time.Time         // signing time; default t0
	unsigned    bool              // no Authorization at all
}

func (a apiReq) build(t testing.TB) *http.Request {
	t.Helper()
	if a.method == "" {
		a.method = http.MethodPost
	}
	if a.target == "" {
		a.target = "/"
	}
	if a.contentType == "" {
		a.contentType = "application/json"
	}
	if a.body == "" && a.method == http.MethodPost && a.contentType == "application/json" {
		a.body = "{}"
	}
	if a.action == "" {
		a.action = dbbrain.ActionAddUserContact
	}
	if a.version == "" {
		a.version = dbbrain.Version
	}
	key := a.key
	if key.SecretID == "" {
		key = permKey
	}
	if a.at.IsZero() {
		a.at = t0
	}
	r := httptest.NewRequest(a.method, a.target, strings.NewReader(a.body))
	r.Host = "127.0.0.1:9000"
	r.Header.Set("Content-Type", a.contentType)
	r.Header.Set("X-TC-Action", a.action)
	r.Header.Set("X-TC-Version", a.version)
	r.Header.Set("X-TC-Region", "ap-guangzhou")
	for k, v := range a.headers {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	if !a.unsigned {
		err := signature.Sign(r, []byte(a.body), signature.SignOptions{
			SecretID: key.SecretID, SecretKey: key.SecretKey, Token: key.Token,
			Service: dbbrain.Service, Time: a.at,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// apiResp is a decoded envelope.
type apiResp struct {
	Status   int
	Response struct {
		Error      *struct{ Code, Message string }
		RequestId  string
		Id         int64
		TotalCount int64
		Contacts   []Contact
	}
	Raw string
}

func (r apiResp) code() string {
	if r.Response.Error == nil {
		return ""
	}
	return r.Response.Error.Code
}

// do serves one request in process.
func do(t testing.TB, s *Server, r *http.Request) apiResp {
	t.Helper()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, r)
	out := apiResp{Status: rec.Code, Raw: rec.Body.String()}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q (status %d, body %q)", ct, rec.Code, out.Raw)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("response %q: %v", out.Raw, err)
	}
	if out.Response.RequestId == "" {
		t.Fatalf("no RequestId in %s", out.Raw)
	}
	return out
}

func addBody(name, mail string) string {
	raw, _ := json.Marshal(map[string]string{"Name": name, "ContactInfo": mail, "Product": "mysql"})
	return string(raw)
}

// add creates a contact at time at and fails the test on any error.
func add(t testing.TB, s *Server, at time.Time, name, mail string) int64 {
	t.Helper()
	resp := do(t, s, apiReq{body: addBody(name, mail), at: at}.build(t))
	if resp.Response.Error != nil {
		t.Fatalf("add %q: %+v", name, resp.Response.Error)
	}
	return resp.Response.Id
}
