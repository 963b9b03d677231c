package tc3

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nodeFixture is one request recorded from the official Node.js SDK
// (tencentcloud-sdk-nodejs-common) by testdata/node/capture.js, with the
// SDK's clock pinned to Now. The key pair exists only for these fixtures.
type nodeFixture struct {
	Description string      `json:"description"`
	SDK         string      `json:"sdk"`
	SecretID    string      `json:"secretId"`
	SecretKey   string      `json:"secretKey"`
	Token       string      `json:"token"`
	Now         int64       `json:"now"`
	Method      string      `json:"method"`
	Target      string      `json:"target"`
	Headers     [][2]string `json:"headers"`
	BodyBase64  string      `json:"bodyBase64"`
}

func loadNodeFixtures(t testing.TB) map[string]nodeFixture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "node", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no Node.js fixtures: %v", err)
	}
	out := map[string]nodeFixture{}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var f nodeFixture
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[strings.TrimSuffix(filepath.Base(p), ".json")] = f
	}
	return out
}

// request rebuilds the request as a server handler receives it.
func (f nodeFixture) request(t testing.TB) (*http.Request, []byte) {
	t.Helper()
	body, err := base64.StdEncoding.DecodeString(f.BodyBase64)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(f.Method, f.Target, strings.NewReader(string(body)))
	for _, h := range f.Headers {
		if strings.EqualFold(h[0], "Host") {
			r.Host = h[1]
			continue
		}
		r.Header.Add(h[0], h[1])
	}
	return r, body
}

func (f nodeFixture) verifier() *Verifier {
	now := time.Unix(f.Now, 0)
	return &Verifier{
		Keys:    NewStaticKeys(Key{SecretID: f.SecretID, SecretKey: f.SecretKey, Token: f.Token}),
		Service: "dbbrain",
		Now:     func() time.Time { return now },
	}
}

func TestNodeSDKRecordedRequests(t *testing.T) {
	want := map[string]Code{
		"post-json-add-john-smith":     "",
		"post-json-add-zhangsan-token": "",
		"get-query-describe":           "",
		"post-json-describe":           "",
		// Endpoint 127.0.0.1:PORT makes the SDK sign service "127".
		"post-json-ip-endpoint": CodeSignatureFailure,
	}
	fixtures := loadNodeFixtures(t)
	if len(fixtures) != len(want) {
		t.Fatalf("%d fixtures, want %d", len(fixtures), len(want))
	}
	for name, f := range fixtures {
		t.Run(name, func(t *testing.T) {
			code, ok := want[name]
			if !ok {
				t.Fatalf("unexpected fixture %s", name)
			}
			r, body := f.request(t)
			_, err := f.verifier().Verify(r, body)
			if code == "" {
				if err != nil {
					t.Fatalf("%s (%s): %v", f.Description, f.SDK, err)
				}
				// The same request is rejected once tampered with.
				wantCode(t, f.verifier(), r, append(body, ' '), CodeSignatureFailure)
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != code {
				t.Fatalf("Verify = %v, want %s", err, code)
			}
		})
	}
}

func TestNodeSDKTemporaryKeyNeedsItsToken(t *testing.T) {
	f := loadNodeFixtures(t)["post-json-add-zhangsan-token"]
	r, body := f.request(t)
	r.Header.Set("X-TC-Token", "not-the-token")
	wantCode(t, f.verifier(), r, body, CodeTokenFailure)
}
