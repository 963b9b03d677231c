package signature

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

var (
	permKey = Key{SecretID: "AKIDPERMANENT000000000000000000000000", SecretKey: "perm-secret-key"}
	tempKey = Key{SecretID: "AKIDTEMPORARY000000000000000000000000", SecretKey: "temp-secret-key", Token: "session-token-1"}
)

// TestDocumentationExample checks the canonical request and string to sign
// against the worked example of the official "Signature v3" page (CVM
// DescribeInstances at 1551113065). Its SecretKey is masked, so only the
// key-independent hashes can be compared.
func TestDocumentationExample(t *testing.T) {
	payload := `{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}`
	r := httptest.NewRequest(http.MethodPost, "https://cvm.tencentcloudapi.com/", strings.NewReader(payload))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	r.Header.Set("X-TC-Action", "DescribeInstances")
	ph := payloadHash(r, []byte(payload))
	if ph != "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064" {
		t.Fatalf("payload hash = %s", ph)
	}
	canon := canonicalRequest(r, []string{"content-type", "host", "x-tc-action"}, ph, "cvm.tencentcloudapi.com", true)
	want := "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\nx-tc-action:describeinstances\n\ncontent-type;host;x-tc-action\n" + ph
	if canon != want {
		t.Fatalf("canonical request:\n%s\nwant:\n%s", canon, want)
	}
	if got := sha256Hex([]byte(canon)); got != "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84" {
		t.Errorf("hashed canonical request = %s", got)
	}
}

// verifyServer answers like the API: 200 with a success or error envelope.
type verifyServer struct {
	*httptest.Server
	offset atomic.Int64 // server clock offset in nanoseconds
}

func newVerifyServer(t *testing.T) *verifyServer {
	t.Helper()
	vs := &verifyServer{}
	v := &Verifier{
		Keys:    newKeyStore(permKey, tempKey),
		Service: "dbbrain",
		Now:     func() time.Time { return time.Now().Add(time.Duration(vs.offset.Load())) },
	}
	vs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp := map[string]any{"RequestId": "test-request"}
		if _, err := v.Verify(r, body); err != nil {
			var e *apierror.Error
			if !errors.As(err, &e) {
				t.Errorf("Verify returned %T, want *apierror.Error", err)
				return
			}
			resp["Error"] = map[string]string{"Code": e.Code, "Message": e.Message}
		} else {
			resp["Id"] = 1
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"Response": resp})
	}))
	t.Cleanup(vs.Close)
	return vs
}

// rtFunc is a test RoundTripper.
type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// tamper returns a transport that lets fn change each request after the SDK
// signed it.
func tamper(t *testing.T, fn func(r *http.Request, body []byte) []byte) http.RoundTripper {
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	return rtFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		var body []byte
		if r.Body != nil {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				return nil, err
			}
			body = b
		}
		if fn != nil {
			body = fn(r, body)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		return base.RoundTrip(r)
	})
}

// sdkSend sends one call with the Go SDK's real common client.
func sdkSend(t *testing.T, srvURL string, cred common.CredentialIface, rt http.RoundTripper, action string, params map[string]any) error {
	t.Helper()
	prof := profile.NewClientProfile()
	prof.HttpProfile.Endpoint = strings.TrimPrefix(srvURL, "http://")
	prof.HttpProfile.Scheme = "HTTP"
	client := common.NewCommonClient(cred, "ap-guangzhou", prof)
	if rt == nil {
		rt = tamper(t, nil)
	}
	client.WithHttpTransport(rt)
	req := tchttp.NewCommonRequest("dbbrain", "2019-10-16", action)
	if err := req.SetActionParameters(params); err != nil {
		t.Fatal(err)
	}
	return client.Send(req, tchttp.NewCommonResponse())
}

func addParams() map[string]any {
	return map[string]any{"Name": "John Smith", "ContactInfo": "test@qq.com", "Product": "mysql"}
}

func sdkCode(err error) string {
	if err == nil {
		return ""
	}
	var e *tcerr.TencentCloudSDKError
	if errors.As(err, &e) {
		return e.GetCode()
	}
	return "not an SDK error: " + err.Error()
}

func TestGoSDKRequestsVerify(t *testing.T) {
	srv := newVerifyServer(t)
	perm := common.NewCredential(permKey.SecretID, permKey.SecretKey)
	temp := common.NewTokenCredential(tempKey.SecretID, tempKey.SecretKey, tempKey.Token)
	for name, tc := range map[string]struct {
		cred   common.CredentialIface
		action string
		params map[string]any
	}{
		"add permanent":      {perm, "AddUserContact", addParams()},
		"add temporary":      {temp, "AddUserContact", addParams()},
		"add chinese name":   {perm, "AddUserContact", map[string]any{"Name": "张三", "ContactInfo": "zs@example.com", "Product": "mysql"}},
		"describe":           {perm, "DescribeAllUserContact", map[string]any{"Product": "mysql", "Names": []string{"zhang"}}},
		"describe temporary": {temp, "DescribeAllUserContact", map[string]any{"Product": "mysql"}},
	} {
		t.Run(name, func(t *testing.T) {
			if err := sdkSend(t, srv.URL, tc.cred, nil, tc.action, tc.params); err != nil {
				t.Fatalf("Send: %v", err)
			}
		})
	}
}

func TestGoSDKTamperedRequestsFail(t *testing.T) {
	srv := newVerifyServer(t)
	perm := common.NewCredential(permKey.SecretID, permKey.SecretKey)
	setAuth := func(fn func(string) string) func(*http.Request, []byte) []byte {
		return func(r *http.Request, b []byte) []byte {
			r.Header.Set("Authorization", fn(r.Header.Get("Authorization")))
			return b
		}
	}
	for name, tc := range map[string]struct {
		cred   common.CredentialIface
		tamper func(*http.Request, []byte) []byte
		offset time.Duration
		want   string
	}{
		"missing authorization": {perm, func(r *http.Request, b []byte) []byte { r.Header.Del("Authorization"); return b }, 0, InvalidAuthorization},
		"garbled authorization": {perm, setAuth(func(string) string { return "TC3-HMAC-SHA256 garbage" }), 0, InvalidAuthorization},
		"wrong algorithm":       {perm, setAuth(func(a string) string { return strings.Replace(a, "TC3-HMAC-SHA256", "HmacSHA256", 1) }), 0, InvalidAuthorization},
		"scope not tc3_request": {perm, setAuth(func(a string) string { return strings.Replace(a, "/tc3_request", "/tc2_request", 1) }), 0, InvalidAuthorization},
		"host not signed":       {perm, setAuth(func(a string) string { return strings.Replace(a, "content-type;host", "content-type", 1) }), 0, InvalidAuthorization},
		"missing timestamp":     {perm, func(r *http.Request, b []byte) []byte { r.Header.Del("X-TC-Timestamp"); return b }, 0, InvalidAuthorization},
		"unknown secret id":     {common.NewCredential("AKIDUNKNOWN", "whatever"), nil, 0, SecretIDNotFound},
		"tampered body": {perm, func(_ *http.Request, b []byte) []byte {
			return bytes.Replace(b, []byte("test@qq.com"), []byte("evil@qq.com"), 1)
		}, 0, SignatureFailure},
		"tampered host":         {perm, func(r *http.Request, b []byte) []byte { r.Host = "dbbrain.tencentcloudapi.com"; return b }, 0, SignatureFailure},
		"tampered content-type": {perm, func(r *http.Request, b []byte) []byte { r.Header.Set("Content-Type", "text/plain"); return b }, 0, SignatureFailure},
		"tampered timestamp": {perm, func(r *http.Request, b []byte) []byte {
			r.Header.Set("X-TC-Timestamp", fmt.Sprint(time.Now().Unix()-1))
			return b
		}, 0, SignatureFailure},
		"scope date changed": {perm, setAuth(func(a string) string {
			auth, err := parseAuthorization(a)
			if err != nil {
				t.Fatal(err)
			}
			d, _ := time.Parse(time.DateOnly, auth.date)
			auth.date = d.AddDate(0, 0, -1).Format(time.DateOnly)
			return auth.String()
		}), 0, SignatureFailure},
		"scope service changed": {perm, setAuth(func(a string) string { return strings.Replace(a, "/dbbrain/", "/cvm/", 1) }), 0, SignatureFailure},
		"signature changed": {perm, setAuth(func(a string) string {
			i := strings.LastIndex(a, "=") + 1
			return a[:i] + strings.Repeat("0", 64)
		}), 0, SignatureFailure},
		"timestamp 6 minutes behind":  {perm, nil, 6 * time.Minute, SignatureExpire},
		"timestamp 6 minutes ahead":   {perm, nil, -6 * time.Minute, SignatureExpire},
		"temporary key without token": {common.NewCredential(tempKey.SecretID, tempKey.SecretKey), nil, 0, TokenFailure},
		"temporary key wrong token":   {common.NewTokenCredential(tempKey.SecretID, tempKey.SecretKey, "other-token"), nil, 0, TokenFailure},
	} {
		t.Run(name, func(t *testing.T) {
			srv.offset.Store(int64(tc.offset))
			defer srv.offset.Store(0)
			err := sdkSend(t, srv.URL, tc.cred, tamper(t, tc.tamper), "AddUserContact", addParams())
			if got := sdkCode(err); got != tc.want {
				t.Fatalf("code = %q (%v), want %s", got, err, tc.want)
			}
		})
	}
}

// variant is one way a real client shapes and signs a request.
type variant struct {
	name        string // which client sends it
	method      string
	query       string
	contentType string
	body        string
	opts        signOpts
	// authStyle rewrites the Authorization header as some clients space it.
	authStyle func(string) string
}

func variants(now time.Time) []variant {
	base := signOpts{SignOptions: SignOptions{SecretID: permKey.SecretID, SecretKey: permKey.SecretKey, Service: "dbbrain", Time: now}}
	with := func(f func(*signOpts)) signOpts { o := base; f(&o); return o }
	jsonBody := `{"Name":"John Smith","ContactInfo":"test@qq.com","Product":"mysql"}`
	return []variant{
		// Go SDK: POST JSON, "application/json", content-type;host.
		{name: "go-post-json", method: "POST", contentType: "application/json", body: jsonBody, opts: base},
		// Go SDK with a temporary key (X-TC-Token).
		{name: "go-post-json-token", method: "POST", contentType: "application/json", body: jsonBody,
			opts: with(func(o *signOpts) {
				o.SecretID, o.SecretKey, o.Token = tempKey.SecretID, tempKey.SecretKey, tempKey.Token
			})},
		// Go/Python/Java SDK with UnsignedPayload.
		{name: "go-unsigned-payload", method: "POST", contentType: "application/json", body: jsonBody,
			opts: with(func(o *signOpts) { o.UnsignedPayload = true })},
		// Go SDK v1.x GET (url.Values.Encode: sorted, "+" for spaces).
		{name: "go-get-query", method: "GET", query: "Names.0=John+Smith&Product=mysql", contentType: "application/x-www-form-urlencoded", opts: base},
		// Python SDK: json.dumps with ", " / ": " separators.
		{name: "python-post-json", method: "POST", contentType: "application/json",
			body: `{"Name": "John Smith", "ContactInfo": "test@qq.com", "Product": "mysql"}`, opts: base},
		// Python SDK GET: urllib urlencode in insertion order.
		{name: "python-get-query", method: "GET", query: "Product=mysql&Names.0=%E5%BC%A0%E4%B8%89", contentType: "application/x-www-form-urlencoded", opts: base},
		// Java SDK: okhttp forces the charset, so it is signed.
		{name: "java-post-json-charset", method: "POST", contentType: "application/json; charset=utf-8", body: jsonBody, opts: base},
		// Java SDK GET: URLEncoder, HashMap order.
		{name: "java-get-query", method: "GET", query: "Product=mysql&Names.0=John+Smith", contentType: "application/x-www-form-urlencoded", opts: base},
		// .NET SDK: charset signed and sent, two spaces after the algorithm.
		{name: "dotnet-post-json", method: "POST", contentType: "application/json; charset=utf-8", body: jsonBody,
			opts: base, authStyle: func(a string) string { return strings.Replace(a, TC3+" ", TC3+"  ", 1) }},
		// PHP SDK GET: http_build_query ("+" for spaces, Names[0] style never used: arrayMerge flattens to Names.0).
		{name: "php-get-query", method: "GET", query: "Product=mysql&Names.0=John+Smith", contentType: "application/x-www-form-urlencoded", opts: base},
		// Node.js SDK: signs URL.hostname (no port) while sending URL.host.
		{name: "node-post-json-hostname", method: "POST", contentType: "application/json", body: jsonBody,
			opts: with(func(o *signOpts) { o.HostWithoutPort = true })},
		// Node.js SDK GET: querystring.stringify (%20 for spaces), empty payload.
		{name: "node-get-query", method: "GET", query: "Product=mysql&Names.0=John%20Smith", contentType: "application/x-www-form-urlencoded",
			opts: with(func(o *signOpts) { o.HostWithoutPort = true })},
		// Documentation example: x-tc-action signed, values lower-cased.
		{name: "doc-signed-action", method: "POST", contentType: "application/json; charset=utf-8", body: jsonBody,
			opts: with(func(o *signOpts) {
				o.SignedHeaders = []string{"content-type", "host", "x-tc-action"}
				o.LowercaseValues = true
			})},
		// Third-party signers (e.g. Teco): more x-tc-* headers, literal values.
		{name: "extra-headers-literal", method: "POST", contentType: "application/json", body: jsonBody,
			opts: with(func(o *signOpts) {
				o.SignedHeaders = []string{"content-type", "host", "x-tc-action", "x-tc-region", "x-tc-timestamp", "x-tc-version"}
			})},
		// Signature v3 over a form body (API 3.0 accepts form POSTs).
		{name: "post-form", method: "POST", contentType: "application/x-www-form-urlencoded",
			body: "Name=John+Smith&ContactInfo=test%40qq.com&Product=mysql", opts: base},
		// Hand-written signer without spaces after commas.
		{name: "compact-authorization", method: "POST", contentType: "application/json", body: jsonBody,
			opts: base, authStyle: func(a string) string { return strings.ReplaceAll(a, ", ", ",") }},
	}
}

// build makes a client request of variant v to baseURL, signed.
func (v variant) build(t testing.TB, baseURL string) *http.Request {
	t.Helper()
	u := baseURL + "/"
	if v.query != "" {
		u += "?" + v.query
	}
	r, err := http.NewRequest(v.method, u, strings.NewReader(v.body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", v.contentType)
	r.Header.Set("X-TC-Action", "AddUserContact")
	r.Header.Set("X-TC-Version", "2019-10-16")
	r.Header.Set("X-TC-Region", "ap-guangzhou")
	if err := signAs(r, []byte(v.body), v.opts); err != nil {
		t.Fatal(err)
	}
	if v.authStyle != nil {
		r.Header.Set("Authorization", v.authStyle(r.Header.Get("Authorization")))
	}
	return r
}

func TestOtherSDKVariantsVerify(t *testing.T) {
	srv := newVerifyServer(t)
	client := srv.Client()
	for _, v := range variants(time.Now()) {
		t.Run(v.name, func(t *testing.T) {
			resp, err := client.Do(v.build(t, srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var env struct {
				Response struct {
					Error *struct{ Code, Message string }
				}
			}
			if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
				t.Fatal(err)
			}
			if env.Response.Error != nil {
				t.Fatalf("verify failed: %+v", env.Response.Error)
			}
		})
	}
}

func TestVariantsDetectTampering(t *testing.T) {
	now := time.Unix(1764162000, 0)
	v := &Verifier{Keys: newKeyStore(permKey, tempKey), Service: "dbbrain", Now: func() time.Time { return now }}
	for _, vr := range variants(now) {
		t.Run(vr.name, func(t *testing.T) {
			r := serverSide(t, vr.build(t, "http://dbbrain.localhost:9000"), vr.body)
			if _, err := v.Verify(r, []byte(vr.body)); err != nil {
				t.Fatalf("untampered: %v", err)
			}
			// Host changes always break the signature.
			r.Host = "dbbrain.example.com:9000"
			wantCode(t, v, r, []byte(vr.body), SignatureFailure)
			r.Host = "dbbrain.localhost:9000"
			// Body changes break it unless the payload is unsigned.
			if vr.body != "" && !vr.opts.UnsignedPayload {
				wantCode(t, v, r, []byte(vr.body+" "), SignatureFailure)
			}
			if vr.query != "" {
				r.URL.RawQuery += "&Names.1=x"
				wantCode(t, v, r, []byte(vr.body), SignatureFailure)
			}
		})
	}
}

func wantCode(t *testing.T, v *Verifier, r *http.Request, body []byte, want string) {
	t.Helper()
	if _, err := v.Verify(r, body); apierror.CodeOf(err) != want {
		t.Fatalf("Verify = %v, want %s", err, want)
	}
}

// serverSide turns a client request into the request a server handler sees.
func serverSide(t testing.TB, c *http.Request, body string) *http.Request {
	t.Helper()
	target := c.URL.RequestURI()
	r := httptest.NewRequest(c.Method, target, strings.NewReader(body))
	r.Host = c.URL.Host
	for k, vals := range c.Header {
		r.Header[k] = vals
	}
	return r
}

func TestVerifyEdgeCases(t *testing.T) {
	now := time.Unix(1764162000, 0) // 2025-11-26T13:00:00Z
	v := &Verifier{Keys: newKeyStore(permKey, tempKey), Service: "dbbrain", Now: func() time.Time { return now }}
	body := []byte(`{"Product":"mysql"}`)
	sign := func(t *testing.T, at time.Time, mod func(*signOpts)) *http.Request {
		t.Helper()
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		r.Host = "127.0.0.1:9000"
		r.Header.Set("Content-Type", "application/json")
		o := signOpts{SignOptions: SignOptions{SecretID: permKey.SecretID, SecretKey: permKey.SecretKey, Service: "dbbrain", Time: at}}
		if mod != nil {
			mod(&o)
		}
		if err := signAs(r, body, o); err != nil {
			t.Fatal(err)
		}
		return r
	}
	t.Run("exactly five minutes is accepted", func(t *testing.T) {
		for _, d := range []time.Duration{5 * time.Minute, -5 * time.Minute} {
			if _, err := v.Verify(sign(t, now.Add(d), nil), body); err != nil {
				t.Errorf("skew %s: %v", d, err)
			}
		}
	})
	t.Run("five minutes and a second is expired", func(t *testing.T) {
		wantCode(t, v, sign(t, now.Add(5*time.Minute+time.Second), nil), body, SignatureExpire)
	})
	t.Run("expiry is reported before a bad signature", func(t *testing.T) {
		r := sign(t, now.Add(-time.Hour), nil)
		wantCode(t, v, r, []byte("tampered"), SignatureExpire)
	})
	t.Run("unknown secret id is reported before expiry", func(t *testing.T) {
		r := sign(t, now.Add(-time.Hour), func(o *signOpts) { o.SecretID = "AKIDNOPE" })
		wantCode(t, v, r, body, SecretIDNotFound)
	})
	t.Run("scope date must be the timestamp's UTC date", func(t *testing.T) {
		// 00:02 UTC on the 27th is 08:02 in Beijing; a client that used its
		// local date for the scope would still say the 27th, but one using
		// the previous day must fail even though the timestamp is fresh.
		at := time.Date(2025, 11, 27, 0, 2, 0, 0, time.UTC)
		vv := *v
		vv.Now = func() time.Time { return at }
		r := sign(t, at, nil)
		if _, err := vv.Verify(r, body); err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/2025-11-27/", "/2025-11-26/", 1))
		wantCode(t, &vv, r, body, SignatureFailure)
	})
	t.Run("token is checked after the signature", func(t *testing.T) {
		r := sign(t, now, func(o *signOpts) { o.SecretID, o.SecretKey = tempKey.SecretID, tempKey.SecretKey })
		wantCode(t, v, r, []byte("tampered"), SignatureFailure)
		wantCode(t, v, r, body, TokenFailure)
	})
	t.Run("permanent key ignores a token", func(t *testing.T) {
		r := sign(t, now, func(o *signOpts) { o.Token = "anything" })
		res, err := v.Verify(r, body)
		if err != nil || res.Temporary {
			t.Fatalf("Verify = %+v, %v", res, err)
		}
	})
	t.Run("two authorization headers", func(t *testing.T) {
		r := sign(t, now, nil)
		r.Header.Add("Authorization", r.Header.Get("Authorization"))
		wantCode(t, v, r, body, InvalidAuthorization)
	})
	t.Run("non-numeric timestamp", func(t *testing.T) {
		for _, ts := range []string{"", "abc", "-1764162000", "+1764162000", "1764162000.5", "17641620000000000000000"} {
			r := sign(t, now, nil)
			r.Header.Set("X-TC-Timestamp", ts)
			wantCode(t, v, r, body, InvalidAuthorization)
		}
	})
	t.Run("signed header missing from the request", func(t *testing.T) {
		r := sign(t, now, func(o *signOpts) { o.SignedHeaders = []string{"content-type", "host", "x-tc-action"} })
		r.Header.Set("X-TC-Action", "AddUserContact")
		wantCode(t, v, r, body, SignatureFailure)
	})
	t.Run("any service when Service is empty", func(t *testing.T) {
		vv := *v
		vv.Service = ""
		r := sign(t, now, func(o *signOpts) { o.Service = "cvm" })
		res, err := vv.Verify(r, body)
		if err != nil || res.SecretID != permKey.SecretID {
			t.Fatalf("Verify = %+v, %v", res, err)
		}
	})
	t.Run("result fields", func(t *testing.T) {
		r := sign(t, now, func(o *signOpts) {
			o.SecretID, o.SecretKey, o.Token = tempKey.SecretID, tempKey.SecretKey, tempKey.Token
		})
		res, err := v.Verify(r, body)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Temporary || !res.Timestamp.Equal(now) || res.SecretID != tempKey.SecretID || res.Method != TC3 || res.Params != nil {
			t.Fatalf("result = %+v", res)
		}
	})
}

func TestErrorMessagesCarryNoSecrets(t *testing.T) {
	now := time.Unix(1764162000, 0)
	v := &Verifier{Keys: newKeyStore(tempKey), Service: "dbbrain", Now: func() time.Time { return now }}
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("Content-Type", "application/json")
	if err := Sign(r, nil, SignOptions{SecretID: tempKey.SecretID, SecretKey: tempKey.SecretKey, Token: "wrong-token", Service: "dbbrain", Time: now}); err != nil {
		t.Fatal(err)
	}
	_, err := v.Verify(r, nil)
	for _, secret := range []string{tempKey.SecretKey, tempKey.Token, "wrong-token"} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error %q leaks %q", err, secret)
		}
	}
}

func TestSignNeedsIdentity(t *testing.T) {
	r := httptest.NewRequest("POST", "/", nil)
	if err := Sign(r, nil, SignOptions{Service: "dbbrain"}); err == nil {
		t.Fatal("Sign without SecretID succeeded")
	}
}

// signOpts adds to SignOptions the TC3 shapes of signers other than the Go
// SDK.
type signOpts struct {
	SignOptions
	// SignedHeaders defaults to content-type and host.
	SignedHeaders []string
	// LowercaseValues lower-cases signed header values, as the
	// documentation's example does.
	LowercaseValues bool
	// HostWithoutPort signs the host without its port, as Node.js does.
	HostWithoutPort bool
	// UnsignedPayload sends X-TC-Content-SHA256: UNSIGNED-PAYLOAD.
	UnsignedPayload bool
}

// signAs signs r like Sign, in the shape o describes.
func signAs(r *http.Request, body []byte, o signOpts) error {
	if err := Sign(r, body, o.SignOptions); err != nil {
		return err
	}
	if o.UnsignedPayload {
		r.Header.Set("X-TC-Content-SHA256", unsignedPayload)
	}
	a := authorization{secretID: o.SecretID, date: o.Time.UTC().Format(time.DateOnly), service: o.Service, signedHeaders: o.SignedHeaders}
	if len(a.signedHeaders) == 0 {
		a.signedHeaders = []string{"content-type", "host"}
	}
	h := hosts(r)
	host := h[0]
	if o.HostWithoutPort {
		host = h[len(h)-1]
	}
	ts := r.Header.Get("X-TC-Timestamp")
	a.signature = tc3Signature(o.SecretKey, a.date, a.service, ts, canonicalRequest(r, a.signedHeaders, payloadHash(r, body), host, o.LowercaseValues))
	r.Header.Set("Authorization", a.String())
	return nil
}
