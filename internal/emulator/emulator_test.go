package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/redact"
)

// sdkClient is the Go SDK's real common client pointed at srv.
func sdkClient(t *testing.T, baseURL string, cred common.CredentialIface, mod ...func(*profile.ClientProfile)) *common.Client {
	t.Helper()
	prof := profile.NewClientProfile()
	for _, m := range mod {
		m(prof)
	}
	prof.HttpProfile.Endpoint = strings.TrimPrefix(baseURL, "http://")
	prof.HttpProfile.Scheme = "HTTP"
	c := common.NewCommonClient(cred, "ap-guangzhou", prof)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c.WithHttpTransport(tr)
	return c
}

type sdkAddResponse struct {
	*tchttp.BaseResponse
	Response struct {
		Id        int64
		RequestId string
	}
}

type sdkDescribeResponse struct {
	*tchttp.BaseResponse
	Response struct {
		TotalCount int64
		Contacts   []Contact
		RequestId  string
	}
}

func sdkAdd(t *testing.T, c *common.Client, name, mail string) (int64, error) {
	t.Helper()
	req := tchttp.NewCommonRequest(dbbrain.Service, dbbrain.Version, dbbrain.ActionAddUserContact)
	if err := req.SetActionParameters(map[string]any{"Name": name, "ContactInfo": mail, "Product": "mysql"}); err != nil {
		t.Fatal(err)
	}
	resp := &sdkAddResponse{BaseResponse: &tchttp.BaseResponse{}}
	err := c.Send(req, resp)
	return resp.Response.Id, err
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestGoSDKEndToEnd(t *testing.T) {
	emu := newTestServer(t, nil, nil)
	srv := httptest.NewServer(emu)
	defer srv.Close()
	perm := sdkClient(t, srv.URL, common.NewCredential(permKey.SecretID, permKey.SecretKey))
	temp := sdkClient(t, srv.URL, common.NewTokenCredential(tempKey.SecretID, tempKey.SecretKey, tempKey.Token))

	for i, tc := range []struct {
		c          *common.Client
		name, mail string
	}{
		{perm, "John Smith", "test@qq.com"},
		{temp, "张三", "zhangsan@example.com"},
		{perm, "zhangsan2", "zs2@example.com"},
	} {
		id, err := sdkAdd(t, tc.c, tc.name, tc.mail)
		if err != nil || id != int64(i+1) {
			t.Fatalf("add %q: id %d, %v", tc.name, id, err)
		}
	}

	_, err := sdkAdd(t, perm, "John Smith", "other@qq.com")
	var sdkErr *tcerr.TencentCloudSDKError
	if !errors.As(err, &sdkErr) || sdkErr.GetCode() != "FailedOperation" || !strings.Contains(sdkErr.GetMessage(), "already exists") {
		t.Fatalf("duplicate: %v", err)
	}
	if !uuidV4.MatchString(sdkErr.GetRequestId()) {
		t.Errorf("RequestId %q is not a UUID v4", sdkErr.GetRequestId())
	}

	req := tchttp.NewCommonRequest(dbbrain.Service, dbbrain.Version, dbbrain.ActionDescribeAllUserContact)
	if err := req.SetActionParameters(map[string]any{"Product": "mysql", "Names": []string{"张"}}); err != nil {
		t.Fatal(err)
	}
	resp := &sdkDescribeResponse{BaseResponse: &tchttp.BaseResponse{}}
	if err := perm.Send(req, resp); err != nil {
		t.Fatal(err)
	}
	want := []Contact{{Id: 2, Name: "张三", Mail: "zhangsan@example.com"}}
	if diff := cmp.Diff(want, resp.Response.Contacts); diff != "" || resp.Response.TotalCount != 1 {
		t.Errorf("describe: TotalCount %d, diff %s", resp.Response.TotalCount, diff)
	}

	// A wrong token through the real SDK.
	bad := sdkClient(t, srv.URL, common.NewTokenCredential(tempKey.SecretID, tempKey.SecretKey, "stale"))
	_, err = sdkAdd(t, bad, "Nobody", "n@example.com")
	if !errors.As(err, &sdkErr) || sdkErr.GetCode() != "AuthFailure.TokenFailure" {
		t.Fatalf("wrong token: %v", err)
	}
}

func TestAuthenticationCodes(t *testing.T) {
	s := newTestServer(t, newFakeClock(), nil)
	body := addBody("John Smith", "test@qq.com")
	for name, tc := range map[string]struct {
		req  apiReq
		want string
	}{
		"missing authorization": {apiReq{body: body, unsigned: true}, "AuthFailure.InvalidAuthorization"},
		"garbled authorization": {apiReq{body: body, unsigned: true, headers: map[string]string{"Authorization": "TC3-HMAC-SHA256 nonsense"}}, "AuthFailure.InvalidAuthorization"},
		"unknown secret id":     {apiReq{body: body, key: Key{SecretID: "AKIDWHO", SecretKey: "x"}}, "AuthFailure.SecretIdNotFound"},
		"six minutes late":      {apiReq{body: body, at: t0.Add(-6 * time.Minute)}, "AuthFailure.SignatureExpire"},
		"no token":              {apiReq{body: body, key: Key{SecretID: tempKey.SecretID, SecretKey: tempKey.SecretKey}}, "AuthFailure.TokenFailure"},
		// Authentication comes before every other check.
		"bad auth and bad action": {apiReq{body: body, unsigned: true, action: "DeleteEverything"}, "AuthFailure.InvalidAuthorization"},
	} {
		t.Run(name, func(t *testing.T) {
			if got := do(t, s, tc.req.build(t)); got.code() != tc.want || got.Status != http.StatusOK {
				t.Fatalf("got %d %s, want 200 %s", got.Status, got.Raw, tc.want)
			}
		})
	}
	t.Run("tampered body", func(t *testing.T) {
		r := apiReq{body: body}.build(t)
		r.Body = io.NopCloser(strings.NewReader(strings.Replace(body, "test@", "evil@", 1)))
		if got := do(t, s, r); got.code() != "AuthFailure.SignatureFailure" {
			t.Fatalf("got %s", got.Raw)
		}
	})
	if n := len(s.Contacts()); n != 0 {
		t.Fatalf("%d contacts created by failed requests", n)
	}
}

func TestCommonParameterCodes(t *testing.T) {
	s := newTestServer(t, newFakeClock(), nil)
	body := `{"Product":"mysql"}`
	for name, tc := range map[string]struct {
		req  apiReq
		want string
	}{
		"missing action":  {apiReq{body: body, headers: map[string]string{"X-TC-Action": ""}}, "MissingParameter"},
		"unknown action":  {apiReq{body: body, action: "DeleteUserContact"}, "InvalidAction"},
		"action case":     {apiReq{body: body, action: "adduserContact"}, "InvalidAction"},
		"missing version": {apiReq{body: body, action: dbbrain.ActionDescribeAllUserContact, headers: map[string]string{"X-TC-Version": ""}}, "MissingParameter"},
		"other version":   {apiReq{body: body, action: dbbrain.ActionDescribeAllUserContact, headers: map[string]string{"X-TC-Version": "2020-01-01"}}, "NoSuchVersion"},
		"missing region":  {apiReq{body: body, action: dbbrain.ActionDescribeAllUserContact, headers: map[string]string{"X-TC-Region": ""}}, "MissingParameter"},
		"unknown region":  {apiReq{body: body, action: dbbrain.ActionDescribeAllUserContact, headers: map[string]string{"X-TC-Region": "mars-1"}}, "UnsupportedRegion"},
		"shanghai fsi":    {apiReq{body: body, action: dbbrain.ActionDescribeAllUserContact, headers: map[string]string{"X-TC-Region": "ap-shanghai-fsi"}}, ""},
		"shenzhen fsi":    {apiReq{body: body, action: dbbrain.ActionDescribeAllUserContact, headers: map[string]string{"X-TC-Region": "ap-shenzhen-fsi"}}, ""},
		"singapore":       {apiReq{body: body, action: dbbrain.ActionDescribeAllUserContact, headers: map[string]string{"X-TC-Region": "ap-singapore"}}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			if got := do(t, s, tc.req.build(t)); got.code() != tc.want {
				t.Fatalf("got %s, want %q", got.Raw, tc.want)
			}
		})
	}
}

func TestParameterCodes(t *testing.T) {
	long := strings.Repeat("a", 60)
	mail := func(n int) string { return strings.Repeat("m", n-len("@example.com")) + "@example.com" }
	for name, tc := range map[string]struct {
		action      string
		contentType string
		body        string
		want        string
		mention     string // the message must name this
	}{
		"official example John Smith": {body: addBody("John Smith", "test@qq.com")},
		"official example 张三":         {body: addBody("张三", "test@qq.com")},
		"60 characters":               {body: addBody(long, "test@qq.com")},
		"60 chinese characters":       {body: addBody(strings.Repeat("张", 60), "test@qq.com")},
		"other scripts":               {body: addBody("Ελένη José अनिल", "test@qq.com")},
		"symbols":                     {body: addBody("ops-team.on_call (db)!", "test@qq.com")},
		"fullwidth parentheses":       {body: addBody("运维（夜班）", "test@qq.com")},
		"254-char email":              {body: addBody("Mail Max", mail(254))},
		"charset in content type":     {contentType: "application/json; charset=utf-8", body: addBody("Charset", "test@qq.com")},

		"malformed json":         {body: `{"Name":`, want: "InvalidParameter"},
		"json array":             {body: `[1,2]`, want: "InvalidParameter"},
		"json null":              {body: `null`, want: "InvalidParameter"},
		"trailing data":          {body: addBody("John Smith", "test@qq.com") + `{}`, want: "InvalidParameter"},
		"unsupported type":       {contentType: "text/plain", body: addBody("John Smith", "test@qq.com"), want: "InvalidParameter"},
		"missing name":           {body: `{"ContactInfo":"test@qq.com","Product":"mysql"}`, want: "MissingParameter", mention: "`Name`"},
		"null name":              {body: `{"Name":null,"ContactInfo":"test@qq.com","Product":"mysql"}`, want: "MissingParameter", mention: "`Name`"},
		"missing product":        {body: `{"Name":"John Smith","ContactInfo":"test@qq.com"}`, want: "MissingParameter", mention: "`Product`"},
		"missing before unknown": {body: `{"Email":"x"}`, want: "MissingParameter", mention: "`Name`"},
		"unknown parameter":      {body: `{"Name":"John Smith","ContactInfo":"test@qq.com","Product":"mysql","Email":"x"}`, want: "UnknownParameter", mention: `"Email"`},
		"lower-case key":         {body: `{"Name":"John Smith","ContactInfo":"test@qq.com","Product":"mysql","name":"x"}`, want: "UnknownParameter", mention: `"name"`},
		"unknown before type":    {body: `{"Name":1,"ContactInfo":"test@qq.com","Product":"mysql","Zzz":1}`, want: "UnknownParameter", mention: `"Zzz"`},
		"name is a number":       {body: `{"Name":1,"ContactInfo":"test@qq.com","Product":"mysql"}`, want: "InvalidParameter", mention: "`Name`"},
		"mail is an array":       {body: `{"Name":"John Smith","ContactInfo":["a@b.com"],"Product":"mysql"}`, want: "InvalidParameter", mention: "`ContactInfo`"},
		"type before value":      {body: `{"Name":"_x","ContactInfo":true,"Product":"mysql"}`, want: "InvalidParameter", mention: "`ContactInfo`"},
		"name too short":         {body: addBody("J", "test@qq.com"), want: "InvalidParameterValue", mention: "`Name`"},
		"name too long":          {body: addBody(long+"b", "test@qq.com"), want: "InvalidParameterValue", mention: "`Name`"},
		"name starts with _":     {body: addBody("_ops", "test@qq.com"), want: "InvalidParameterValue", mention: "`Name`"},
		"name blank":             {body: addBody("   ", "test@qq.com"), want: "InvalidParameterValue", mention: "`Name`"},
		"name with emoji":        {body: addBody("ops 🚀", "test@qq.com"), want: "InvalidParameterValue", mention: "`Name`"},
		"name with newline":      {body: addBody("ops\nteam", "test@qq.com"), want: "InvalidParameterValue", mention: "`Name`"},
		"name with slash":        {body: addBody("ops/team", "test@qq.com"), want: "InvalidParameterValue", mention: "`Name`"},
		"mail not an email":      {body: addBody("John Smith", "not-an-email"), want: "InvalidParameterValue", mention: "`ContactInfo`"},
		"mail with name part":    {body: addBody("John Smith", "John <test@qq.com>"), want: "InvalidParameterValue", mention: "`ContactInfo`"},
		"mail starts with _":     {body: addBody("John Smith", "_test@qq.com"), want: "InvalidParameterValue", mention: "`ContactInfo`"},
		"mail too long":          {body: addBody("John Smith", mail(255)), want: "InvalidParameterValue", mention: "`ContactInfo`"},
		"product MySQL":          {body: `{"Name":"John Smith","ContactInfo":"test@qq.com","Product":"MySQL"}`, want: "InvalidParameterValue", mention: "`Product`"},
		"product redis":          {body: `{"Name":"John Smith","ContactInfo":"test@qq.com","Product":"redis"}`, want: "InvalidParameterValue", mention: "`Product`"},

		"describe ok":                 {action: dbbrain.ActionDescribeAllUserContact, body: `{"Product":"mysql","Names":["a","b"]}`},
		"describe without names":      {action: dbbrain.ActionDescribeAllUserContact, body: `{"Product":"mysql"}`},
		"describe null names":         {action: dbbrain.ActionDescribeAllUserContact, body: `{"Product":"mysql","Names":null}`},
		"describe empty body":         {action: dbbrain.ActionDescribeAllUserContact, body: ` `, want: "MissingParameter", mention: "`Product`"},
		"describe names is a string":  {action: dbbrain.ActionDescribeAllUserContact, body: `{"Product":"mysql","Names":"a"}`, want: "InvalidParameter", mention: "`Names`"},
		"describe names hold numbers": {action: dbbrain.ActionDescribeAllUserContact, body: `{"Product":"mysql","Names":["a",1]}`, want: "InvalidParameter", mention: "`Names`"},
		"describe unknown":            {action: dbbrain.ActionDescribeAllUserContact, body: `{"Product":"mysql","Limit":10}`, want: "UnknownParameter", mention: `"Limit"`},
		"describe product":            {action: dbbrain.ActionDescribeAllUserContact, body: `{"Product":"postgres"}`, want: "InvalidParameterValue", mention: "`Product`"},
	} {
		t.Run(name, func(t *testing.T) {
			s := newTestServer(t, newFakeClock(), nil)
			got := do(t, s, apiReq{action: tc.action, contentType: tc.contentType, body: tc.body}.build(t))
			if got.code() != tc.want {
				t.Fatalf("got %s, want %q", got.Raw, tc.want)
			}
			if tc.mention != "" && !strings.Contains(got.Response.Error.Message, tc.mention) {
				t.Errorf("message %q does not name %s", got.Response.Error.Message, tc.mention)
			}
			if tc.want != "" && len(s.Contacts()) != 0 {
				t.Errorf("a failed call created a contact")
			}
		})
	}
}

func TestIdsCountFromOneAndNamesAreUnique(t *testing.T) {
	s := newTestServer(t, newFakeClock(), nil)
	for i, name := range []string{"John Smith", "张三", "zhangsan"} {
		if id := add(t, s, t0, name, fmt.Sprintf("u%d@example.com", i)); id != int64(i+1) {
			t.Fatalf("%q got id %d, want %d", name, id, i+1)
		}
	}
	dup := do(t, s, apiReq{body: addBody("张三", "other@example.com")}.build(t))
	if dup.code() != "FailedOperation" || !strings.Contains(dup.Response.Error.Message, "already exists") {
		t.Fatalf("duplicate: %s", dup.Raw)
	}
	// Exact match only: other case or extra space is another name.
	if id := add(t, s, t0, "john smith", "j@example.com"); id != 4 {
		t.Fatalf("id %d, want 4 (a rejected duplicate uses no id)", id)
	}
	if id := add(t, s, t0, "John Smith ", "j2@example.com"); id != 5 {
		t.Fatalf("id %d, want 5", id)
	}
	want := []Contact{
		{1, "John Smith", "u0@example.com"}, {2, "张三", "u1@example.com"}, {3, "zhangsan", "u2@example.com"},
		{4, "john smith", "j@example.com"}, {5, "John Smith ", "j2@example.com"},
	}
	if diff := cmp.Diff(want, s.Contacts()); diff != "" {
		t.Fatalf("contacts (-want +got):\n%s", diff)
	}
}

func TestDescribeMatchesFuzzily(t *testing.T) {
	s := newTestServer(t, newFakeClock(), nil)
	for _, n := range []string{"zhangsan", "zhangsan2", "lisi", "Zhang Wei"} {
		add(t, s, t0, n, strings.ReplaceAll(strings.ToLower(n), " ", "")+"@example.com")
	}
	names := func(cs []Contact) []string {
		out := []string{}
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return out
	}
	for name, tc := range map[string]struct {
		body string
		want []string
	}{
		"exact name also finds longer": {`{"Product":"mysql","Names":["zhangsan"]}`, []string{"zhangsan", "zhangsan2"}},
		"substring, any case":          {`{"Product":"mysql","Names":["ZHANG"]}`, []string{"zhangsan", "zhangsan2", "Zhang Wei"}},
		"any of several":               {`{"Product":"mysql","Names":["lisi","wei"]}`, []string{"lisi", "Zhang Wei"}},
		"no names: everything":         {`{"Product":"mysql"}`, []string{"zhangsan", "zhangsan2", "lisi", "Zhang Wei"}},
		"empty list: everything":       {`{"Product":"mysql","Names":[]}`, []string{"zhangsan", "zhangsan2", "lisi", "Zhang Wei"}},
		"no match":                     {`{"Product":"mysql","Names":["nobody"]}`, []string{}},
	} {
		t.Run(name, func(t *testing.T) {
			got := do(t, s, apiReq{action: dbbrain.ActionDescribeAllUserContact, body: tc.body}.build(t))
			if got.code() != "" {
				t.Fatal(got.Raw)
			}
			if diff := cmp.Diff(tc.want, names(got.Response.Contacts)); diff != "" || got.Response.TotalCount != int64(len(tc.want)) {
				t.Fatalf("TotalCount %d, (-want +got):\n%s", got.Response.TotalCount, diff)
			}
			if !strings.Contains(got.Raw, `"Contacts":[`) {
				t.Errorf("Contacts must be an array, not null: %s", got.Raw)
			}
		})
	}
}

func TestQueryAndFormParameters(t *testing.T) {
	s := newTestServer(t, newFakeClock(), nil)
	form := "application/x-www-form-urlencoded"
	if got := do(t, s, apiReq{contentType: form, body: "Name=John+Smith&ContactInfo=test%40qq.com&Product=mysql"}.build(t)); got.Response.Id != 1 {
		t.Fatalf("form POST: %s", got.Raw)
	}
	if got := do(t, s, apiReq{method: "GET", contentType: form, target: "/?Name=%E5%BC%A0%E4%B8%89&ContactInfo=zs%40qq.com&Product=mysql"}.build(t)); got.Response.Id != 2 {
		t.Fatalf("GET add: %s", got.Raw)
	}
	got := do(t, s, apiReq{method: "GET", contentType: form, action: dbbrain.ActionDescribeAllUserContact,
		target: "/?Product=mysql&Names.0=John%20Smith&Names.1=%E5%BC%A0"}.build(t))
	if got.Response.TotalCount != 2 {
		t.Fatalf("GET describe: %s", got.Raw)
	}
	for name, tc := range map[string]struct {
		target, want string
	}{
		"names not an array": {"/?Product=mysql&Names=x", "InvalidParameter"},
		"repeated key":       {"/?Product=mysql&Product=mysql", "InvalidParameter"},
		"value and array":    {"/?Product=mysql&Names=x&Names.0=y", "InvalidParameter"},
		"bad index":          {"/?Product=mysql&Names.x=y", "UnknownParameter"},
		"missing product":    {"/?Names.0=y", "MissingParameter"},
		"bad escape":         {"/?Product=%zz", "InvalidParameter"},
	} {
		t.Run(name, func(t *testing.T) {
			got := do(t, s, apiReq{method: "GET", contentType: form, action: dbbrain.ActionDescribeAllUserContact, target: tc.target}.build(t))
			if got.code() != tc.want {
				t.Fatalf("got %s, want %s", got.Raw, tc.want)
			}
		})
	}
}

func TestRateLimitIsASlidingWindow(t *testing.T) {
	clock := newFakeClock()
	other := Key{SecretID: "AKIDOTHERACCOUNT", SecretKey: "other-key", Account: "other"}
	s := newTestServer(t, clock, func(c *Config) { c.RPS = 3; c.Keys = append(c.Keys, other) })
	n := 0
	call := func(at time.Duration, key Key, action string) string {
		t.Helper()
		clock.Set(t0.Add(at))
		n++
		body := addBody(fmt.Sprintf("user %d", n), fmt.Sprintf("u%d@example.com", n))
		if action == dbbrain.ActionDescribeAllUserContact {
			body = `{"Product":"mysql"}`
		}
		return do(t, s, apiReq{body: body, key: key, action: action, at: t0.Add(at)}.build(t)).code()
	}
	ms := time.Millisecond
	steps := []struct {
		at   time.Duration
		want string
	}{
		{0, ""}, {100 * ms, ""}, {200 * ms, ""},
		{300 * ms, "RequestLimitExceeded"},
		{999 * ms, "RequestLimitExceeded"},
		{1000 * ms, ""}, // the call at 0 has just left the window (t-1s, t]
		{1050 * ms, "RequestLimitExceeded"},
		{1100 * ms, ""},
		{1150 * ms, "RequestLimitExceeded"},
		// A token bucket would allow a burst after a quiet spell; the
		// window still holds 1000, 1100 and 1200 at 1999.
		{1200 * ms, ""},
		{1999 * ms, "RequestLimitExceeded"},
		{5 * time.Second, ""}, {5 * time.Second, ""}, {5 * time.Second, ""},
		{5 * time.Second, "RequestLimitExceeded"},
	}
	// The two keys of the default account share its window, as the
	// temporary keys of several SCF instances share the account's limit.
	for i, st := range steps {
		key := []Key{permKey, tempKey}[i%2]
		if got := call(st.at, key, dbbrain.ActionAddUserContact); got != st.want {
			t.Fatalf("at %s (%s): got %q, want %q", st.at, key.SecretID, got, st.want)
		}
	}
	// Other accounts and other actions have their own windows.
	if got := call(5*time.Second, other, dbbrain.ActionAddUserContact); got != "" {
		t.Fatalf("other account: %q", got)
	}
	if got := call(5*time.Second, permKey, dbbrain.ActionDescribeAllUserContact); got != "" {
		t.Fatalf("other action: %q", got)
	}

	accepted := 0
	for _, st := range steps {
		if st.want == "" {
			accepted++
		}
	}
	if got := len(s.Contacts()); got != accepted+1 {
		t.Fatalf("%d contacts, want %d: throttled calls must change nothing", got, accepted+1)
	}
	stats := s.Stats()
	add := stats.Actions[dbbrain.ActionAddUserContact]
	if add.Codes["RequestLimitExceeded"] != int64(len(steps)-accepted) || stats.Codes["RequestLimitExceeded"] != int64(len(steps)-accepted) {
		t.Errorf("throttled counts: %+v / %+v", add.Codes, stats.Codes)
	}
	if len(add.Accepted) != accepted+1 || !add.Accepted[0].Equal(t0) || !add.Accepted[3].Equal(t0.Add(time.Second)) {
		t.Errorf("accepted arrivals: %v", add.Accepted)
	}
	if len(add.Refused) != len(steps)-accepted || !add.Refused[0].Equal(t0.Add(300*ms)) || !add.Refused[1].Equal(t0.Add(999*ms)) {
		t.Errorf("refused arrivals: %v", add.Refused)
	}
	// No one-second window ever held more than 3 calls of the default
	// account (the last accepted arrival is the other account's).
	perm := add.Accepted[:accepted]
	for i := range perm {
		j := i
		for j < len(perm) && perm[j].Sub(perm[i]) < time.Second {
			j++
		}
		if j-i > 3 {
			t.Fatalf("%d accepted calls within one second from %s", j-i, perm[i])
		}
	}
}

func TestUnlimitedRate(t *testing.T) {
	s := newTestServer(t, newFakeClock(), func(c *Config) { c.RPS = -1 })
	for i := range 50 {
		add(t, s, t0, fmt.Sprintf("user %d", i), fmt.Sprintf("u%d@example.com", i))
	}
}

// outcomeKind classifies what a client saw.
func outcomeKind(t *testing.T, resp *http.Response, err error) string {
	t.Helper()
	if err != nil {
		return "dropped"
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusServiceUnavailable {
		if json.Valid(raw) {
			t.Fatalf("503 body should not be JSON: %s", raw)
		}
		return "503"
	}
	var env apiResp
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatalf("bad body %s", raw)
	}
	if env.code() != "" {
		return env.code()
	}
	return "ok"
}

// runFaulty sends n AddUserContact calls over loopback and reports what each
// got.
func runFaulty(t *testing.T, seed int64, n int) ([]string, *Server) {
	t.Helper()
	emu := newTestServer(t, nil, func(c *Config) {
		c.Seed = seed
		c.RPS = -1
		c.Faults = Faults{InternalError: 0.25, Unavailable: 0.2, Drop: 0.2}
	})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	client := srv.Client()
	var kinds []string
	for i := range n {
		r := apiReq{body: addBody(fmt.Sprintf("user %d", i), fmt.Sprintf("u%d@example.com", i)), at: time.Now()}.build(t)
		cr, err := http.NewRequest(r.Method, srv.URL+"/", bytes.NewReader([]byte(addBody(fmt.Sprintf("user %d", i), fmt.Sprintf("u%d@example.com", i)))))
		if err != nil {
			t.Fatal(err)
		}
		cr.Header = r.Header
		cr.Host = r.Host
		resp, err := client.Do(cr)
		kinds = append(kinds, outcomeKind(t, resp, err))
	}
	return kinds, emu
}

func TestFaultsAreReproducibleAndHonest(t *testing.T) {
	const n = 60
	a, emu := runFaulty(t, 42, n)
	b, _ := runFaulty(t, 42, n)
	c, _ := runFaulty(t, 7, n)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("same seed, different faults:\n%s", diff)
	}
	if cmp.Equal(a, c) {
		t.Fatalf("seeds 42 and 7 gave the same %d outcomes", n)
	}
	count := map[string]int{}
	for _, k := range a {
		count[k]++
	}
	for _, k := range []string{"ok", "InternalError", "503", "dropped"} {
		if count[k] == 0 {
			t.Fatalf("no %s among %v", k, count)
		}
	}
	// InternalError and 503 create nothing; a drop creates the contact whose
	// answer is lost.
	created := map[string]bool{}
	for _, ct := range emu.Contacts() {
		created[ct.Name] = true
	}
	for i, k := range a {
		name := fmt.Sprintf("user %d", i)
		if want := k == "ok" || k == "dropped"; created[name] != want {
			t.Errorf("call %d (%s): created=%v", i, k, created[name])
		}
	}
	st := emu.Stats()
	if st.Codes[StatDropped] != int64(count["dropped"]) || st.Codes[StatUnavailable] != int64(count["503"]) ||
		st.Codes["InternalError"] != int64(count["InternalError"]) || st.Codes[StatOK] != int64(count["ok"]) {
		t.Errorf("stats %v vs seen %v", st.Codes, count)
	}
}

func TestLatencyAppliesTheActionEvenIfTheClientGivesUp(t *testing.T) {
	emu := newTestServer(t, nil, func(c *Config) { c.Faults = Faults{Latency: 5 * time.Minute} })
	finished := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		emu.ServeHTTP(w, r)
		finished <- struct{}{}
	}))
	defer srv.Close()

	body := addBody("Patient Client", "p@example.com")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := apiReq{body: body, at: time.Now()}.build(t)
	cr, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/", strings.NewReader(body))
	cr.Header, cr.Host = r.Header, r.Host
	answered := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(cr)
		if err == nil {
			resp.Body.Close()
		}
		answered <- err
	}()
	for len(emu.Contacts()) == 0 { // applied; the answer is being delayed
		time.Sleep(time.Millisecond)
	}
	cancel() // the client gives up
	if err := <-answered; err == nil {
		t.Fatal("the client got an answer despite the latency")
	}
	<-finished // the handler stops waiting once the client is gone
	if c := emu.Contacts(); len(c) != 1 || c[0].Name != "Patient Client" {
		t.Fatalf("contacts %v: the action must be applied before the delay", c)
	}
}

func TestCloseCutsLatencyShort(t *testing.T) {
	emu, err := New(Config{Keys: []Key{permKey}, Faults: Faults{Latency: 5 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	defer srv.Close()
	body := addBody("Waiting", "w@example.com")
	r := apiReq{body: body, at: time.Now()}.build(t)
	cr, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(body))
	cr.Header, cr.Host = r.Header, r.Host
	done := make(chan string)
	go func() {
		resp, err := srv.Client().Do(cr)
		done <- outcomeKind(t, resp, err)
	}()
	for len(emu.Contacts()) == 0 { // applied, now sleeping
		time.Sleep(time.Millisecond)
	}
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}
	if got := <-done; got != "ok" {
		t.Fatalf("got %s", got)
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "contacts.json")
	s1, err := New(Config{Keys: []Key{permKey}, StatePath: path, Now: newFakeClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	add(t, s1, t0, "John Smith", "test@qq.com")
	add(t, s1, t0, "张三", "zs@qq.com")
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 || entries[0].Name() != "contacts.json" || entries[1].Name() != "contacts.json.lock" {
		t.Fatalf("state dir holds %v, want only the state and lock files", entries)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm()&0o077 != 0 {
		t.Errorf("state file mode %v: it holds personal data", info.Mode())
	}

	s2 := newTestServer(t, newFakeClock(), func(c *Config) { c.StatePath = path })
	if diff := cmp.Diff([]Contact{{1, "John Smith", "test@qq.com"}, {2, "张三", "zs@qq.com"}}, s2.Contacts()); diff != "" {
		t.Fatalf("after restart (-want +got):\n%s", diff)
	}
	if got := do(t, s2, apiReq{body: addBody("张三", "again@qq.com")}.build(t)); got.code() != "FailedOperation" {
		t.Fatalf("duplicate after restart: %s", got.Raw)
	}
	if id := add(t, s2, t0, "Li Si", "ls@qq.com"); id != 3 {
		t.Fatalf("id after restart %d, want 3", id)
	}
}

func TestBadStateFileIsRefused(t *testing.T) {
	for name, content := range map[string]string{
		"not json":     "{",
		"duplicate id": `{"NextId":3,"Contacts":[{"Id":1,"Name":"a","Mail":"a@b.co"},{"Id":1,"Name":"b","Mail":"c@b.co"}]}`,
		"zero id":      `{"NextId":3,"Contacts":[{"Id":0,"Name":"a","Mail":"a@b.co"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := New(Config{Keys: []Key{permKey}, StatePath: path}); err == nil {
				t.Fatal("New accepted a bad state file")
			}
		})
	}
}

func TestNextIdNeverGoesBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte(`{"NextId":1,"Contacts":[{"Id":7,"Name":"a b","Mail":"a@b.co"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, newFakeClock(), func(c *Config) { c.StatePath = path })
	if id := add(t, s, t0, "New One", "n@b.co"); id != 8 {
		t.Fatalf("id %d, want 8", id)
	}
}

func TestAdminEndpoints(t *testing.T) {
	s := newTestServer(t, newFakeClock(), nil)
	add(t, s, t0, "John Smith", "test@qq.com")
	admin := func(method, path, body string) (int, string) {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" && rec.Code != 404 && rec.Code != 405 {
			t.Fatalf("%s %s: Content-Type %q", method, path, ct)
		}
		return rec.Code, rec.Body.String()
	}
	if code, body := admin("GET", "/_emulator/faults", ""); code != 200 || !strings.Contains(body, `"Latency":"0s"`) {
		t.Fatalf("GET faults: %d %s", code, body)
	}
	code, body := admin("PUT", "/_emulator/faults", `{"InternalError":0.1,"Unavailable":0.2,"Drop":0.3,"Latency":"250ms"}`)
	if code != 200 {
		t.Fatalf("PUT faults: %d %s", code, body)
	}
	if want := (Faults{InternalError: 0.1, Unavailable: 0.2, Drop: 0.3, Latency: 250 * time.Millisecond}); s.Faults() != want {
		t.Fatalf("faults %+v", s.Faults())
	}
	for _, bad := range []string{
		`{"InternalError":0.6,"Unavailable":0.5}`,
		`{"Drop":-0.1}`,
		`{"Drop":2}`,
		`{"Latency":"soon"}`,
		`{"Latency":"-1s"}`,
		`{"Latency":"1h"}`,
		`not json`,
		`{"Drop":0.1,"Dorp":0.2}`,
	} {
		if code, body := admin("PUT", "/_emulator/faults", bad); code != 400 {
			t.Errorf("PUT %s: %d %s", bad, code, body)
		}
	}
	if s.Faults().Latency != 250*time.Millisecond {
		t.Fatal("a refused PUT changed the faults")
	}
	var contacts struct {
		TotalCount int64
		Contacts   []Contact
	}
	code, body = admin("GET", "/_emulator/contacts", "")
	if err := json.Unmarshal([]byte(body), &contacts); err != nil || code != 200 || contacts.TotalCount != 1 || contacts.Contacts[0].Name != "John Smith" {
		t.Fatalf("GET contacts: %d %s", code, body)
	}
	var stats Stats
	code, body = admin("GET", "/_emulator/stats", "")
	if err := json.Unmarshal([]byte(body), &stats); err != nil || code != 200 || stats.Codes[StatOK] != 1 || len(stats.Actions[dbbrain.ActionAddUserContact].Accepted) != 1 {
		t.Fatalf("GET stats: %d %s", code, body)
	}
	if code, _ := admin("POST", "/_emulator/contacts", ""); code != 405 {
		t.Errorf("POST contacts: %d", code)
	}
	if code, _ := admin("DELETE", "/_emulator/faults", ""); code != 405 {
		t.Errorf("DELETE faults: %d", code)
	}
	if code, _ := admin("GET", "/_emulator/nothing", ""); code != 404 {
		t.Errorf("unknown admin path: %d", code)
	}
	if s.Stats().Requests != 1 {
		t.Errorf("admin requests were counted as API requests")
	}
}

func TestNotAPIRequests(t *testing.T) {
	s := newTestServer(t, newFakeClock(), nil)
	for _, tc := range []struct {
		method, target string
		want           int
	}{
		{"GET", "/other", http.StatusNotFound},
		{"DELETE", "/", http.StatusMethodNotAllowed},
		{"PUT", "/", http.StatusMethodNotAllowed},
	} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, apiReq{method: tc.method, target: tc.target, body: "{}"}.build(t))
		if rec.Code != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.target, rec.Code, tc.want)
		}
		if allow := rec.Header().Get("Allow"); tc.want == http.StatusMethodNotAllowed && !strings.Contains(allow, "POST") {
			t.Errorf("%s %s: Allow %q", tc.method, tc.target, allow)
		}
	}
	if s.Stats().Requests != 0 {
		t.Errorf("non-API requests counted: %+v", s.Stats())
	}
}

func TestRequestIDs(t *testing.T) {
	s := newTestServer(t, newFakeClock(), nil)
	seen := map[string]bool{}
	for i := range 5 {
		for _, r := range []apiReq{
			{body: addBody(fmt.Sprintf("user %d", i), "u@example.com")},
			{body: "{", unsigned: true},
			{body: "{"},
		} {
			id := do(t, s, r.build(t)).Response.RequestId
			if !uuidV4.MatchString(id) || seen[id] {
				t.Fatalf("RequestId %q is not a fresh UUID v4", id)
			}
			seen[id] = true
		}
	}
	n := 0
	s2 := newTestServer(t, newFakeClock(), func(c *Config) {
		c.NewRequestID = func() string { n++; return fmt.Sprintf("req-%d", n) }
	})
	if id := do(t, s2, apiReq{body: "{"}.build(t)).Response.RequestId; id != "req-1" {
		t.Fatalf("injected RequestId: %q", id)
	}
}

// zeros is an endless body that costs no memory.
type zeros struct{ left int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.left <= 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), z.left))
	clear(p[:n])
	z.left -= int64(n)
	return n, nil
}

func TestBodySizeLimits(t *testing.T) {
	s := newTestServer(t, newFakeClock(), nil)
	big := `{"Name":"` + strings.Repeat("x", MaxBodyBytes) + `"}`
	if got := do(t, s, apiReq{body: big}.build(t)); got.code() != "RequestSizeLimitExceeded" {
		t.Fatalf("11 MB body: %.200s", got.Raw)
	}
	// A body at the limit is read and judged on its parameters.
	atLimit := `{"Name":"` + strings.Repeat("x", MaxBodyBytes-len(`{"Name":""}`)) + `"}`
	if got := do(t, s, apiReq{body: atLimit}.build(t)); got.code() != "MissingParameter" {
		t.Fatalf("10 MB body: %.200s", got.Raw)
	}
	// Past the read cap nothing is hashed any more: refused before auth.
	r := apiReq{unsigned: true}.build(t)
	r.Body = io.NopCloser(&zeros{left: 64 << 20})
	if got := do(t, s, r); got.code() != "RequestSizeLimitExceeded" {
		t.Fatalf("huge body: %.200s", got.Raw)
	}
}

func TestLogLines(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := redact.NewLogger(lockedWriter{&mu, &buf}, slog.LevelInfo)
	s := newTestServer(t, newFakeClock(), func(c *Config) { c.Logger = logger })
	do(t, s, apiReq{body: addBody("John Smith", "test@qq.com"), key: tempKey}.build(t))
	do(t, s, apiReq{body: addBody("John Smith", "test@qq.com"), key: Key{SecretID: tempKey.SecretID, SecretKey: tempKey.SecretKey, Token: "wrong-token"}}.build(t))
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want 2:\n%s", len(lines), out)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"action", "code", "status", "latency", "secret_id", "request_id", "contact"} {
		if _, ok := first[k]; !ok {
			t.Errorf("log line lacks %q: %s", k, lines[0])
		}
	}
	if first["contact"] != "t***@qq.com" || first["secret_id"] != tempKey.SecretID || first["code"] != StatOK {
		t.Errorf("log line %s", lines[0])
	}
	for _, secret := range []string{"test@qq.com", tempKey.SecretKey, tempKey.Token, "wrong-token", "Signature="} {
		if strings.Contains(out, secret) {
			t.Errorf("log leaks %q:\n%s", secret, out)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestConcurrentUse(t *testing.T) {
	s := newTestServer(t, newFakeClock(), func(c *Config) { c.RPS = -1 })
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			r := apiReq{body: addBody(fmt.Sprintf("user %d", i), "u@example.com")}.build(t)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, r)
			_ = s.Stats()
			_ = s.SetFaults(Faults{})
		})
	}
	wg.Wait()
	ids := map[int64]bool{}
	for _, c := range s.Contacts() {
		ids[c.Id] = true
	}
	for i := int64(1); i <= 40; i++ {
		if !ids[i] {
			t.Fatalf("id %d missing from %v", i, ids)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no keys":        {},
		"empty key":      {Keys: []Key{{SecretID: "AKID"}}},
		"duplicate key":  {Keys: []Key{permKey, permKey}},
		"bad faults":     {Keys: []Key{permKey}, Faults: Faults{Drop: 1.5}},
		"faults over 1":  {Keys: []Key{permKey}, Faults: Faults{InternalError: 0.5, Unavailable: 0.5, Drop: 0.5}},
		"state is a dir": {Keys: []Key{permKey}, StatePath: os.TempDir()},
		"state dir gone": {Keys: []Key{permKey}, StatePath: filepath.Join(os.TempDir(), "no-such-dir-for-emulator", "s.json")},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := New(cfg); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
	s := newTestServer(t, nil, nil)
	if err := s.SetFaults(Faults{Unavailable: -1}); err == nil {
		t.Fatal("SetFaults accepted a negative probability")
	}
}

func TestFailedStateWriteCreatesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, newFakeClock(), func(c *Config) { c.StatePath = filepath.Join(dir, "contacts.json") })
	add(t, s, t0, "Before", "b@example.com")
	if err := os.RemoveAll(dir); err != nil { // the next write cannot happen
		t.Fatal(err)
	}
	if got := do(t, s, apiReq{body: addBody("After", "a@example.com")}.build(t)); got.code() != "InternalError" {
		t.Fatalf("got %s", got.Raw)
	}
	if c := s.Contacts(); len(c) != 1 {
		t.Fatalf("contacts %v: a contact that could not be saved must not exist", c)
	}
}
