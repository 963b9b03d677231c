package dbbrain_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"go.uber.org/goleak"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/emulator"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var roleKey = emulator.Key{SecretID: "AKIDclientTEST00000000000000000000", SecretKey: "clientSECRET000000000000000000", Token: "clientTOKEN0000000000000000000000000"}

func cred(k emulator.Key) common.CredentialIface {
	return common.NewTokenCredential(k.SecretID, k.SecretKey, k.Token)
}

// serve starts h on loopback and returns a client for it.
func serve(t *testing.T, h http.Handler) *dbbrain.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	ep, err := dbbrain.ResolveEndpoint("ap-guangzhou", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	tr := dbbrain.NewTransport(8)
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	return dbbrain.NewClient("ap-guangzhou", ep, tr)
}

func newEmulator(t *testing.T, f emulator.Faults) (*emulator.Server, *dbbrain.Client) {
	t.Helper()
	emu, err := emulator.New(emulator.Config{Keys: []emulator.Key{roleKey}, RPS: -1, Seed: 3, Faults: f})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	return emu, serve(t, emu)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

// The SDK's real TC3 signing, with the role's session token, verified by
// the emulator.
func TestSignedCallsVerify(t *testing.T) {
	t.Parallel()
	emu, c := newEmulator(t, emulator.Faults{})
	res, err := c.AddUserContact(ctx(t), cred(roleKey), "张三", "zhangsan@example.com", dbbrain.Product)
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != 1 || res.RequestID == "" {
		t.Errorf("got %+v", res)
	}
	if _, err := c.AddUserContact(ctx(t), cred(roleKey), "zhangsan2", "z2@example.com", dbbrain.Product); err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribeAllUserContact(ctx(t), cred(roleKey), []string{"zhangsan"})
	if err != nil {
		t.Fatal(err)
	}
	if d.TotalCount != 1 || len(d.Contacts) != 1 || d.Contacts[0].Name != "zhangsan2" || d.Contacts[0].Mail != "z2@example.com" {
		t.Errorf("describe: %+v", d)
	}
	if n := emu.Stats().Codes["OK"]; n != 3 {
		t.Errorf("%d calls verified", n)
	}
}

func TestUpstreamErrorsKeepCodeMessageAndRequestID(t *testing.T) {
	t.Parallel()
	_, c := newEmulator(t, emulator.Faults{})
	for name, tc := range map[string]struct {
		cred common.CredentialIface
		code string
		kind apierror.Kind
	}{
		"no token":      {common.NewCredential(roleKey.SecretID, roleKey.SecretKey), "AuthFailure.TokenFailure", apierror.Setup},
		"wrong key":     {common.NewTokenCredential(roleKey.SecretID, "wrong", roleKey.Token), "AuthFailure.SignatureFailure", apierror.Setup},
		"unknown id":    {common.NewTokenCredential("AKIDunknown", "k", "t"), "AuthFailure.SecretIdNotFound", apierror.Setup},
		"wrong product": {cred(roleKey), "InvalidParameterValue", apierror.Invalid},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			product := "mysql"
			if name == "wrong product" {
				product = "redis"
			}
			_, err := c.AddUserContact(ctx(t), tc.cred, "John Smith", "test@qq.com", product)
			e := apierror.From(err)
			if e.Code != tc.code || e.Kind != tc.kind || e.RequestID == "" || e.Message == "" {
				t.Errorf("got %#v, want kind %d %s", e, tc.kind, tc.code)
			}
			if errors.Is(err, dbbrain.ErrMaybeApplied) {
				t.Error("an answered error marked as maybe applied")
			}
		})
	}
}

func TestFaultTranslation(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		faults       emulator.Faults
		code         string
		maybeApplied bool
	}{
		"internal error": {emulator.Faults{InternalError: 1}, "InternalError", false},
		"bare 503":       {emulator.Faults{Unavailable: 1}, apierror.ServiceUnavailable, true},
		"dropped":        {emulator.Faults{Drop: 1}, apierror.NetworkError, true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, c := newEmulator(t, tc.faults)
			_, err := c.AddUserContact(ctx(t), cred(roleKey), "John Smith", "test@qq.com", dbbrain.Product)
			if got := apierror.CodeOf(err); got != tc.code {
				t.Fatalf("code %s, want %s (%v)", got, tc.code, err)
			}
			if got := errors.Is(err, dbbrain.ErrMaybeApplied); got != tc.maybeApplied {
				t.Errorf("maybe applied = %v", got)
			}
			if k := apierror.KindOf(err); k != apierror.Transient || !k.Retryable() {
				t.Errorf("%s: kind %d, want Transient", tc.code, k)
			}
		})
	}
}

func TestDeadline(t *testing.T) {
	t.Parallel()
	_, c := newEmulator(t, emulator.Faults{Latency: 3 * time.Second})
	cctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.AddUserContact(cctx, cred(roleKey), "John Smith", "test@qq.com", dbbrain.Product)
	if apierror.CodeOf(err) != apierror.DeadlineExceeded || apierror.KindOf(err) != apierror.Transient || !errors.Is(err, dbbrain.ErrMaybeApplied) {
		t.Fatalf("got %v (kind %d)", err, apierror.KindOf(err))
	}

	// A call cancelled with its invocation says so, with the same code.
	cancelled, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	_, err = c.AddUserContact(cancelled, cred(roleKey), "John Smith", "test@qq.com", dbbrain.Product)
	if e := apierror.From(err); e.Code != apierror.DeadlineExceeded || e.Kind != apierror.Transient || !strings.Contains(e.Message, "cancelled") {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestConnectionRefusedWasNotSent(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ep, _ := dbbrain.ResolveEndpoint("ap-guangzhou", "http://"+addr)
	tr := dbbrain.NewTransport(2)
	defer tr.CloseIdleConnections()
	_, err = dbbrain.NewClient("ap-guangzhou", ep, tr).AddUserContact(ctx(t), cred(roleKey), "John Smith", "test@qq.com", dbbrain.Product)
	if apierror.CodeOf(err) != apierror.NetworkError || apierror.KindOf(err) != apierror.Transient || errors.Is(err, dbbrain.ErrMaybeApplied) {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("message does not name the endpoint: %v", err)
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// An endpoint's password is never quoted: ResolveEndpoint refuses a URL
// with one, masking it, and a network failure's message masks any URL it
// quotes, the endpoint's included.
func TestEndpointPasswordNeverShown(t *testing.T) {
	t.Parallel()
	addr := closedAddr(t)
	for _, override := range []string{
		"http://user:secret@" + addr,
		"http://user:secret@" + addr + "/path",
		"https://user:secret@" + addr + "/?q=1",
		"ftp://user:secret@" + addr,
		"http://user:secret@[::1",
		"http://user:secret@" + addr + "/%zz",
	} {
		_, err := dbbrain.ResolveEndpoint("ap-guangzhou", override)
		if err == nil || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "user:xxxxx@") {
			t.Errorf("ResolveEndpoint(%q) = %v", override, err)
		}
	}

	tr := dbbrain.NewTransport(2)
	defer tr.CloseIdleConnections()
	c := dbbrain.NewClient("ap-guangzhou", dbbrain.Endpoint{Scheme: "HTTP", Host: "user:secret@" + addr}, tr)
	_, err := c.AddUserContact(ctx(t), cred(roleKey), "John Smith", "test@qq.com", dbbrain.Product)
	if apierror.CodeOf(err) != apierror.NetworkError {
		t.Fatalf("got %v", err)
	}
	if msg := fmt.Sprintf("%v %+v", err, apierror.From(err)); strings.Contains(msg, "secret") || !strings.Contains(msg, addr) {
		t.Errorf("network failure: %s", msg)
	}
}

// A password holding any character is masked whole, url.Parse failing on
// it or not, and whatever the value lacks (a scheme, the "//"): the password
// is "PWA", one odd character, "PWB", so that neither half may show.
func TestEndpointOddPasswordNeverShown(t *testing.T) {
	t.Parallel()
	addr := closedAddr(t)
	for _, odd := range []string{" ", `"`, "<", ">", "'", "@", "/", "/x@", ":", "#", "?", "%", "\\", "\t", "://"} {
		for _, override := range []string{
			"http://user:PWA" + odd + "PWB@" + addr,
			"https://user:PWA" + odd + "PWB@" + addr + "/",
			"http://user:PWA" + odd + "PWB@[::1",
			"user:PWA" + odd + "PWB@" + addr,
			"//user:PWA" + odd + "PWB@" + addr,
			"http:/user:PWA" + odd + "PWB@" + addr,
		} {
			_, err := dbbrain.ResolveEndpoint("ap-guangzhou", override)
			if err == nil || strings.Contains(err.Error(), "PWA") || strings.Contains(err.Error(), "PWB") || !strings.Contains(err.Error(), "xxxxx@") {
				t.Errorf("ResolveEndpoint(%q) = %v", override, err)
			}
		}
	}
	// The user part shows when plain, the host always.
	for override, want := range map[string]string{
		"http://user:se cret@" + addr:    `"http://user:xxxxx@` + addr + `" is not a URL`,
		"http://user:se\"cret@" + addr:   `"http://user:xxxxx@` + addr + `" is not a URL`,
		"http://user:se<cret@" + addr:    `"http://user:xxxxx@` + addr + `" is not a URL`,
		"http://user:se/cr@et@" + addr:   `"http://user:xxxxx@` + addr + `" is not a URL`,
		"http://user:se@cret@" + addr:    `"http://user:xxxxx@` + addr + `" must be a scheme and host only`,
		"http://user:1234#cret@" + addr:  `"http://user:xxxxx@` + addr + `" must be a scheme and host only`,
		"http://us er:secret@" + addr:    `"http://xxxxx@` + addr + `" is not a URL`,
		"http://a@b.cn:secret@" + addr:   `"http://xxxxx@` + addr + `" must be a scheme and host only`,
		"ftp://user:se cret@" + addr:     `"ftp://user:xxxxx@` + addr + `" is not a URL`,
		"user:secret@" + addr:            `"user:xxxxx@` + addr + `" must start with http:// or https://`,
		"user:se://cret@" + addr:         `"user:xxxxx@` + addr + `" must start with http:// or https://`,
		"http://user@[::1":               `"http://user@[::1" is not a URL: missing ']' in host`,
		"http://[::1":                    `"http://[::1" is not a URL: missing ']' in host`,
		"http://127.0.0.1:9000#fragment": `"http://127.0.0.1:9000#fragment" must be a scheme and host only`,
	} {
		_, err := dbbrain.ResolveEndpoint("ap-guangzhou", override)
		if err == nil || strings.Contains(err.Error(), "cret") || !strings.Contains(err.Error(), want) {
			t.Errorf("ResolveEndpoint(%q) = %v, want %s", override, err, want)
		}
	}
}

func TestNonEnvelopeAnswers(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		status int
		body   string
		code   string
		kind   apierror.Kind
		maybe  bool   // the error carries ErrMaybeApplied
		ctype  string // the Content-Type, if set
	}{
		"garbage 200":         {200, "<html>hello</html>", apierror.ParseJSONError, apierror.Setup, true, ""},
		"200 without Id":      {200, `{"Response":{"RequestId":"x"}}`, apierror.ParseJSONError, apierror.Setup, true, ""},
		"404 text":            {404, "not found", apierror.HTTPStatusCodeError, apierror.Setup, false, ""},
		"403 proxy":           {403, "<html>forbidden</html>", apierror.HTTPStatusCodeError, apierror.Setup, false, ""},
		"502 html":            {502, "<html>bad gateway</html>", apierror.ServiceUnavailable, apierror.Transient, true, ""},
		"503 empty":           {503, "", apierror.ServiceUnavailable, apierror.Transient, true, ""},
		"429 text":            {429, "slow down", apierror.RequestLimitExceeded, apierror.Throttled, false, ""},
		"500 with envelope":   {500, `{"Response":{"Error":{"Code":"InternalError.DBError","Message":"db"},"RequestId":"r-9"}}`, "InternalError.DBError", apierror.Transient, false, ""},
		"envelope error code": {200, `{"Response":{"Error":{"Code":"RequestLimitExceeded.UinLimitExceeded","Message":"slow"},"RequestId":"r-1"}}`, "RequestLimitExceeded.UinLimitExceeded", apierror.Throttled, false, ""},
		"envelope auth":       {200, `{"Response":{"Error":{"Code":"AuthFailure.SignatureExpire","Message":"expired"},"RequestId":"r-2"}}`, "AuthFailure.SignatureExpire", apierror.Setup, false, ""},
		"envelope refusal":    {200, `{"Response":{"Error":{"Code":"FailedOperation","Message":"exists"},"RequestId":"r-3"}}`, apierror.FailedOperation, apierror.Invalid, false, ""},
		"envelope unknown":    {400, `{"Response":{"Error":{"Code":"BrandNewCode.Sub","Message":"?"},"RequestId":"r-4"}}`, "BrandNewCode.Sub", apierror.Invalid, false, ""},
		// The SDK returns a stream unread and unclosed, as a ClientError with
		// the RequestId header's value: never DBbrain's refusal of the contact.
		"200 stream":           {200, `{"Response":{"Id":1,"RequestId":"r-5"}}`, apierror.HTTPStatusCodeError, apierror.Setup, false, "text/event-stream"},
		"envelope in a stream": {200, `{"Response":{"Error":{"Code":"InternalError","Message":"db"},"RequestId":"r-6"}}`, apierror.InternalError, apierror.Transient, false, "text/event-stream"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.ctype != "" {
					w.Header().Set("Content-Type", tc.ctype)
					w.Header().Set("X-TC-RequestId", "r-header")
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			_, err := c.AddUserContact(ctx(t), cred(roleKey), "John Smith", "test@qq.com", dbbrain.Product)
			if got := apierror.CodeOf(err); got != tc.code {
				t.Errorf("code %s, want %s (%v)", got, tc.code, err)
			}
			if got := apierror.KindOf(err); got != tc.kind {
				t.Errorf("kind %d, want %d (%v)", got, tc.kind, err)
			}
			if got := errors.Is(err, dbbrain.ErrMaybeApplied); got != tc.maybe {
				t.Errorf("maybe applied = %v, want %v", got, tc.maybe)
			}
			if e := apierror.From(err); strings.HasPrefix(tc.body, `{"Response":{"Error"`) && e.RequestID == "" {
				t.Errorf("an answered error lost its RequestId: %#v", e)
			}
		})
	}
}

func TestResolveEndpoint(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ region, override, want string }{
		{"ap-guangzhou", "", "https://dbbrain.tencentcloudapi.com"},
		{"ap-shanghai-fsi", "", "https://dbbrain.ap-shanghai-fsi.tencentcloudapi.com"},
		{"ap-shenzhen-fsi", "", "https://dbbrain.ap-shenzhen-fsi.tencentcloudapi.com"},
		{"ap-guangzhou", "http://127.0.0.1:9000", "http://127.0.0.1:9000"},
		{"ap-guangzhou", "https://dbbrain.intl.tencentcloudapi.com/", "https://dbbrain.intl.tencentcloudapi.com"},
	} {
		ep, err := dbbrain.ResolveEndpoint(tc.region, tc.override)
		if err != nil || ep.URL() != tc.want {
			t.Errorf("dbbrain.ResolveEndpoint(%q, %q) = %s, %v; want %s", tc.region, tc.override, ep.URL(), err, tc.want)
		}
	}
	for _, bad := range []string{"127.0.0.1:9000", "ftp://x", "http://", "http://h/path", "http://u:p@h", "http://h/?q=1"} {
		if _, err := dbbrain.ResolveEndpoint("ap-guangzhou", bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// An answer that breaks off mid-body is a network failure (or the deadline),
// retryable and possibly applied, not an unreadable answer; and its
// connection is released (goleak checks the package).
func TestAnswerBrokenOffMidBody(t *testing.T) {
	t.Parallel()
	cut := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"Response":{"Id":1,`))
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	c := serve(t, cut)
	_, err := c.AddUserContact(ctx(t), cred(roleKey), "John Smith", "test@qq.com", dbbrain.Product)
	if apierror.CodeOf(err) != apierror.NetworkError || apierror.KindOf(err) != apierror.Transient || !errors.Is(err, dbbrain.ErrMaybeApplied) {
		t.Fatalf("broken-off answer: %v", err)
	}

	release := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"Response":{`))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	c = serve(t, slow)
	defer close(release)
	cctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = c.AddUserContact(cctx, cred(roleKey), "John Smith", "test@qq.com", dbbrain.Product)
	if apierror.CodeOf(err) != apierror.DeadlineExceeded || !errors.Is(err, dbbrain.ErrMaybeApplied) {
		t.Fatalf("deadline mid-body: %v", err)
	}
}
