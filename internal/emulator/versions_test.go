package emulator

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/redact"
	"github.com/scf-dbbrain/addusercontact/internal/signature"
)

func TestVersion20210527Rules(t *testing.T) {
	s := newTestServer(t, newFakeClock(), nil)
	noRegion := map[string]string{"X-TC-Region": ""}
	add21 := func(name, mail string) apiResp {
		t.Helper()
		return do(t, s, apiReq{version: Version20210527, body: addBody(name, mail), headers: noRegion}.build(t))
	}
	for _, tc := range []struct {
		name, mail, want string
	}{
		{"李四（DBA）", "lisi@example.com", ""},
		{"x", "x@example.com", ""}, // one character is enough in 2021-05-27
		{strings.Repeat("张", 20), "z20@example.com", ""},
		{"Ops#1 (n)+=-*&^%$@!_", "ops@example.com", ""},
		{strings.Repeat("张", 21), "z21@example.com", apierror.InvalidParameterValue},
		{"a.b", "ab@example.com", apierror.InvalidParameterValue},
		{"_ops", "ops2@example.com", apierror.InvalidParameterValue},
		{"Dash Mail", "-dash@example.com", apierror.InvalidParameterValue},
		{"Other Case", "LISI@example.com", apierror.FailedOperation}, // the email is taken
		{"李四（DBA）", "lisi2@example.com", ""},                         // names need not be unique here
	} {
		if got := add21(tc.name, tc.mail); got.code() != tc.want {
			t.Errorf("add %q <%s>: %s, want %q", tc.name, tc.mail, got.Raw, tc.want)
		} else if tc.want == apierror.FailedOperation && !strings.Contains(got.Response.Error.Message, "email") {
			t.Errorf("duplicate email message %q", got.Response.Error.Message)
		}
	}
	// One store: 2019-10-16 sees the contacts and keeps its own rules.
	if got := do(t, s, apiReq{body: addBody("x", "x2@example.com")}.build(t)); got.code() != apierror.InvalidParameterValue {
		t.Errorf("2019-10-16 one-character name: %s", got.Raw)
	}
	if got := do(t, s, apiReq{body: addBody("李四（DBA）", "l3@example.com")}.build(t)); got.code() != apierror.FailedOperation {
		t.Errorf("2019-10-16 duplicate name: %s", got.Raw)
	}
	if got := do(t, s, apiReq{body: `{"Product":"mysql"}`, action: dbbrain.ActionDescribeAllUserContact, headers: noRegion}.build(t)); got.code() != apierror.MissingParameter {
		t.Errorf("2019-10-16 without a region: %s", got.Raw)
	}
	got := do(t, s, apiReq{version: Version20210527, body: `{"Product":"mysql","Names":["李"]}`, action: dbbrain.ActionDescribeAllUserContact, headers: noRegion}.build(t))
	if got.code() != "" || got.Response.TotalCount != 2 {
		t.Errorf("2021-05-27 describe: %s", got.Raw)
	}
}

// v1Req builds a signature v1 request of the given common and action
// parameters, signed with key at t0.
func v1Req(t *testing.T, method string, key Key, p url.Values) *http.Request {
	t.Helper()
	o := signature.SignOptions{SecretID: key.SecretID, SecretKey: key.SecretKey, Token: key.Token, Time: t0, SignatureMethod: signature.HmacSHA256}
	if err := signature.SignV1(method, "127.0.0.1:9000", p, o); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(method, "/?"+p.Encode(), nil)
	if method == http.MethodPost {
		r = httptest.NewRequest(method, "/", strings.NewReader(p.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.Host = "127.0.0.1:9000"
	return r
}

func TestSignatureV1Requests(t *testing.T) {
	s := newTestServer(t, newFakeClock(), nil)
	call := func(action, version string, more url.Values) url.Values {
		p := url.Values{"Action": {action}, "Version": {version}, "Region": {"ap-guangzhou"}, "Language": {""}, "RequestClient": {"test"}}
		for k, v := range more {
			p[k] = v
		}
		return p
	}
	john := url.Values{"Name": {"John Smith"}, "ContactInfo": {"test@qq.com"}, "Product": {"mysql"}}
	if got := do(t, s, v1Req(t, "POST", permKey, call(dbbrain.ActionAddUserContact, dbbrain.Version, john))); got.Response.Id != 1 {
		t.Fatalf("v1 POST form: %s", got.Raw)
	}
	zhang := call(dbbrain.ActionAddUserContact, Version20210527, url.Values{"Name": {"张三"}, "ContactInfo": {"zs@qq.com"}, "Product": {"mysql"}})
	zhang.Del("Region")
	if got := do(t, s, v1Req(t, "GET", tempKey, zhang)); got.Response.Id != 2 {
		t.Fatalf("v1 GET, temporary key, 2021-05-27: %s", got.Raw)
	}
	names := url.Values{"Product": {"mysql"}, "Names.0": {"John"}, "Names.1": {"张"}}
	if got := do(t, s, v1Req(t, "GET", permKey, call(dbbrain.ActionDescribeAllUserContact, dbbrain.Version, names))); got.Response.TotalCount != 2 {
		t.Fatalf("v1 describe: %s", got.Raw)
	}
	for name, tc := range map[string]struct {
		r    *http.Request
		want string
	}{
		"unknown parameter": {v1Req(t, "GET", permKey, call(dbbrain.ActionAddUserContact, dbbrain.Version, url.Values{"Email": {"x"}, "Name": {"a b"}, "ContactInfo": {"a@b.co"}, "Product": {"mysql"}})), apierror.UnknownParameter},
		"no action":         {v1Req(t, "GET", permKey, url.Values{"Version": {dbbrain.Version}, "Region": {"ap-guangzhou"}}), apierror.MissingParameter},
		"no token":          {v1Req(t, "POST", Key{SecretID: tempKey.SecretID, SecretKey: tempKey.SecretKey}, call(dbbrain.ActionAddUserContact, dbbrain.Version, john)), signature.TokenFailure},
		"no signature":      {httptest.NewRequest("GET", "/?Action=AddUserContact&Version=2019-10-16", nil), signature.InvalidAuthorization},
	} {
		if got := do(t, s, tc.r); got.code() != tc.want {
			t.Errorf("%s: %s, want %s", name, got.Raw, tc.want)
		} else if name == "no signature" && !strings.Contains(got.Response.Error.Message, "Signature parameter") {
			t.Errorf("%s: message %q does not say what is missing", name, got.Response.Error.Message)
		}
	}
}

// v1AddRequest is shaped like the Go SDK's generated request types, whose
// name tags become v1 parameters.
type v1AddRequest struct {
	*tchttp.BaseRequest
	Name        *string `name:"Name"`
	ContactInfo *string `name:"ContactInfo"`
	Product     *string `name:"Product"`
}

func TestGoSDKSignatureV1EndToEnd(t *testing.T) {
	srv := httptest.NewServer(newTestServer(t, nil, nil))
	defer srv.Close()
	for i, method := range []string{"GET", "POST"} {
		c := sdkClient(t, srv.URL, common.NewTokenCredential(tempKey.SecretID, tempKey.SecretKey, tempKey.Token), func(p *profile.ClientProfile) {
			p.SignMethod, p.HttpProfile.ReqMethod = signature.HmacSHA1, method
		})
		name, mail, product := "v1 "+method, method+"@example.com", "mysql"
		req := &v1AddRequest{BaseRequest: &tchttp.BaseRequest{}, Name: &name, ContactInfo: &mail, Product: &product}
		req.Init().WithApiInfo(dbbrain.Service, dbbrain.Version, dbbrain.ActionAddUserContact)
		resp := &sdkAddResponse{BaseResponse: &tchttp.BaseResponse{}}
		if err := c.Send(req, resp); err != nil || resp.Response.Id != int64(i+1) {
			t.Fatalf("%s: id %d, %v", method, resp.Response.Id, err)
		}
	}
}

// TestNodeSDKFixtures replays the requests recorded from the official
// Node.js SDKs (TC3 and v1, typed clients of both versions) against a fresh
// emulator each.
func TestNodeSDKFixtures(t *testing.T) {
	fixtures := loadFixtures(t)
	if len(fixtures) < 12 {
		t.Fatalf("%d fixtures", len(fixtures))
	}
	for name, f := range fixtures {
		t.Run(name, func(t *testing.T) {
			now := time.Unix(f.Now, 0)
			var logs bytes.Buffer
			s, err := New(Config{Keys: []Key{{SecretID: f.SecretID, SecretKey: f.SecretKey, Token: f.Token}}, Now: func() time.Time { return now },
				Logger: redact.NewLogger(&logs, slog.LevelDebug)})
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(f.Method, f.Target, strings.NewReader(f.Body))
			for _, h := range f.Headers {
				if strings.EqualFold(h[0], "Host") {
					r.Host = h[1]
				} else {
					r.Header.Add(h[0], h[1])
				}
			}
			got := do(t, s, r)
			want, wantContacts := "", 0
			if strings.Contains(name, "add") {
				wantContacts = 1
			}
			if name == "post-json-ip-endpoint" {
				want, wantContacts = signature.SignatureFailure, 0
			}
			if got.code() != want || len(s.Contacts()) != wantContacts {
				t.Fatalf("%s: %s (want %q), contacts %v", f.Description, got.Raw, want, s.Contacts())
			}
			// The answer keeps the service's words; the debug log says why.
			if want != "" && (got.Response.Error.Message != "The provided credentials could not be validated. Please check your signature is correct." ||
				!strings.Contains(logs.String(), `endpoint starting with \"dbbrain.\"`)) {
				t.Errorf("message %q, log:\n%s", got.Response.Error.Message, logs.String())
			}
			if strings.Contains(logs.String(), f.SecretKey) || (f.Token != "" && strings.Contains(logs.String(), f.Token)) {
				t.Errorf("log leaks a secret:\n%s", logs.String())
			}
		})
	}
}
