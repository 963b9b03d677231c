package signature

import (
	"cmp"
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
)

// v1AddRequest is shaped like the Go SDK's generated request types: the
// common client flattens only fields with a name tag into v1 parameters.
type v1AddRequest struct {
	*tchttp.BaseRequest
	Name        *string   `name:"Name"`
	ContactInfo *string   `name:"ContactInfo"`
	Product     *string   `name:"Product"`
	Names       []*string `name:"Names"`
}

func TestGoSDKSignatureV1Verifies(t *testing.T) {
	srv := newVerifyServer(t)
	for name, tc := range map[string]struct {
		method, reqMethod string
		cred              common.CredentialIface
		want              string
	}{
		"HmacSHA1 POST":           {HmacSHA1, "POST", common.NewCredential(permKey.SecretID, permKey.SecretKey), ""},
		"HmacSHA256 GET":          {HmacSHA256, "GET", common.NewCredential(permKey.SecretID, permKey.SecretKey), ""},
		"HmacSHA256 POST token":   {HmacSHA256, "POST", common.NewTokenCredential(tempKey.SecretID, tempKey.SecretKey, tempKey.Token), ""},
		"HmacSHA1 GET no token":   {HmacSHA1, "GET", common.NewCredential(tempKey.SecretID, tempKey.SecretKey), TokenFailure},
		"HmacSHA1 GET wrong key":  {HmacSHA1, "GET", common.NewCredential(permKey.SecretID, "wrong"), SignatureFailure},
		"HmacSHA256 unknown id":   {HmacSHA256, "POST", common.NewCredential("AKIDNOBODY", "x"), SecretIDNotFound},
		"HmacSHA256 wrong token":  {HmacSHA256, "GET", common.NewTokenCredential(tempKey.SecretID, tempKey.SecretKey, "stale"), TokenFailure},
		"HmacSHA1 POST no params": {HmacSHA1, "POST", common.NewCredential(permKey.SecretID, permKey.SecretKey), ""},
	} {
		t.Run(name, func(t *testing.T) {
			prof := profile.NewClientProfile()
			prof.HttpProfile.Endpoint = strings.TrimPrefix(srv.URL, "http://")
			prof.HttpProfile.Scheme = "HTTP"
			prof.HttpProfile.ReqMethod = tc.reqMethod
			prof.SignMethod = tc.method
			client := common.NewCommonClient(tc.cred, "ap-guangzhou", prof)
			client.WithHttpTransport(tamper(t, nil))
			req := &v1AddRequest{BaseRequest: &tchttp.BaseRequest{}}
			req.Init().WithApiInfo("dbbrain", "2019-10-16", "AddUserContact")
			if !strings.Contains(name, "no params") {
				john, mail, product, zhang := "John Smith", "test@qq.com", "mysql", "张三"
				req.Name, req.ContactInfo, req.Product, req.Names = &john, &mail, &product, []*string{&john, &zhang}
			}
			if got := sdkCode(client.Send(req, tchttp.NewCommonResponse())); got != tc.want {
				t.Fatalf("code %q, want %q", got, tc.want)
			}
		})
	}
}

// v1Request signs params with SignV1 and returns the request a server sees
// and its body.
func v1Request(t *testing.T, method string, params url.Values, o SignOptions) (*http.Request, []byte) {
	t.Helper()
	if err := SignV1(method, "dbbrain.localhost:9000", params, o); err != nil {
		t.Fatal(err)
	}
	target, body := "/?"+params.Encode(), ""
	if method == http.MethodPost {
		target, body = "/", params.Encode()
	}
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Host = "dbbrain.localhost:9000"
	if method == http.MethodPost {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	return r, []byte(body)
}

func TestSignatureV1Checks(t *testing.T) {
	now := time.Unix(1764162000, 0)
	v := &Verifier{Keys: newKeyStore(permKey, tempKey), Service: "dbbrain", Now: func() time.Time { return now }}
	perm := SignOptions{SecretID: permKey.SecretID, SecretKey: permKey.SecretKey, Time: now}
	params := func() url.Values {
		return url.Values{"Action": {"AddUserContact"}, "Version": {"2019-10-16"}, "Name": {"John Smith"}, "Names.0": {"a&b=c"}}
	}
	check := func(t *testing.T, r *http.Request, body []byte, want, message string) Result {
		t.Helper()
		res, err := v.Verify(r, body)
		if apierror.CodeOf(err) != want || (message != "" && apierror.From(err).Message != message) {
			t.Fatalf("Verify = %v, want %s %q", err, want, message)
		}
		return res
	}
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		for _, alg := range []string{"", HmacSHA1, HmacSHA256} {
			t.Run(method+alg, func(t *testing.T) {
				o := perm
				o.SignatureMethod = alg
				r, b := v1Request(t, method, params(), o)
				res := check(t, r, b, "", "")
				if res.Method != cmp.Or(alg, HmacSHA1) || res.Params.Get("Name") != "John Smith" || res.Params.Has("SecretId") || res.Params.Has("Nonce") {
					t.Fatalf("result %+v", res)
				}
			})
		}
	}
	sigFailure := "The provided credentials could not be validated. Please check your signature is correct."
	tampered := map[string]func(url.Values){
		"value changed":   func(p url.Values) { p.Set("Name", "Jane Smith") },
		"parameter added": func(p url.Values) { p.Set("Names.1", "x") },
		"nonce changed":   func(p url.Values) { p.Set("Nonce", "7") },
		"wrong algorithm": func(p url.Values) { p.Set("SignatureMethod", HmacSHA256) },
	}
	for name, edit := range tampered {
		t.Run(name, func(t *testing.T) {
			p := params()
			if err := SignV1("GET", "dbbrain.localhost:9000", p, perm); err != nil {
				t.Fatal(err)
			}
			edit(p)
			r := httptest.NewRequest("GET", "/?"+p.Encode(), nil)
			r.Host = "dbbrain.localhost:9000"
			want := SignatureFailure
			if name == "wrong algorithm" {
				want = InvalidAuthorization // a SHA-1 digest is too short for SHA-256
			}
			check(t, r, nil, want, map[bool]string{true: sigFailure}[want == SignatureFailure])
		})
	}
	t.Run("other host", func(t *testing.T) {
		r, _ := v1Request(t, "GET", params(), perm)
		r.Host = "dbbrain.example.com"
		check(t, r, nil, SignatureFailure, sigFailure)
	})
	t.Run("other method", func(t *testing.T) {
		r, _ := v1Request(t, "GET", params(), perm)
		r.Method = "POST" // the parameters are not a form body then: no signature at all
		check(t, r, nil, InvalidAuthorization, "")
	})
	t.Run("unknown secret id", func(t *testing.T) {
		o := perm
		o.SecretID = "AKIDNOBODY"
		r, b := v1Request(t, "POST", params(), o)
		check(t, r, b, SecretIDNotFound, "The SecretId is not found, please ensure that your SecretId is correct.")
	})
	t.Run("expired", func(t *testing.T) {
		o := perm
		o.Time = now.Add(-5*time.Minute - time.Second)
		r, b := v1Request(t, "GET", params(), o)
		check(t, r, b, SignatureExpire, "")
	})
	t.Run("temporary key", func(t *testing.T) {
		o := SignOptions{SecretID: tempKey.SecretID, SecretKey: tempKey.SecretKey, Time: now}
		r, b := v1Request(t, "GET", params(), o)
		check(t, r, b, TokenFailure, "")
		o.Token = tempKey.Token
		r, b = v1Request(t, "POST", params(), o)
		if res := check(t, r, b, "", ""); !res.Temporary {
			t.Fatal("not temporary")
		}
	})
	for name, raw := range map[string]string{
		"neither":         "Action=AddUserContact",
		"bad method":      "SecretId=" + permKey.SecretID + "&Timestamp=1764162000&Nonce=1&SignatureMethod=MD5&Signature=AAAA",
		"repeated":        "SecretId=" + permKey.SecretID + "&SecretId=x&Timestamp=1764162000&Nonce=1&Signature=AAAA",
		"no nonce":        "SecretId=" + permKey.SecretID + "&Timestamp=1764162000&Signature=AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"bad timestamp":   "SecretId=" + permKey.SecretID + "&Timestamp=soon&Nonce=1&Signature=AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"not base64":      "SecretId=" + permKey.SecretID + "&Timestamp=1764162000&Nonce=1&Signature=***",
		"malformed query": "Signature=x&Name=%zz",
		"empty signature": "Signature=",
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/?"+raw, nil)
			res := check(t, r, nil, InvalidAuthorization, "")
			if name == "neither" {
				_, err := v.Verify(r, nil)
				if msg := err.Error(); !strings.Contains(msg, "Authorization header") || !strings.Contains(msg, "Signature parameter") {
					t.Errorf("message %q does not say what is missing", msg)
				}
			}
			if name == "repeated" && res.SecretID == "" {
				t.Errorf("a failed result should still name the SecretId: %+v", res)
			}
		})
	}
}
