package signature

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"maps"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

// v1Params reads the parameters of a would-be v1 request: a GET's query, a
// POST's form body.
func v1Params(r *http.Request, body []byte) (url.Values, error) {
	raw := r.URL.RawQuery
	if r.Method != http.MethodGet {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
			return nil, nil
		}
		raw = string(body)
	}
	return url.ParseQuery(raw)
}

func (v *Verifier) verifyV1(r *http.Request, p url.Values) (Result, error) {
	res := Result{Method: cmp.Or(p.Get("SignatureMethod"), HmacSHA1), SecretID: p.Get("SecretId")}
	size := map[string]int{HmacSHA1: sha1.Size, HmacSHA256: sha256.Size}[res.Method]
	if size == 0 {
		return res, invalid("The SignatureMethod %s is neither %s nor %s.", apierror.Quote(res.Method), HmacSHA1, HmacSHA256)
	}
	for _, name := range slices.Sorted(maps.Keys(p)) {
		if len(p[name]) > 1 {
			return res, invalid("The parameter %s is repeated.", apierror.Quote(name))
		}
	}
	if _, err := strconv.ParseUint(p.Get("Nonce"), 10, 64); res.SecretID == "" || err != nil {
		return res, invalid("Signature v1 needs the parameters SecretId, Timestamp and Nonce (an integer).")
	}
	sig, err := base64.StdEncoding.DecodeString(p.Get("Signature"))
	if err != nil || len(sig) != size {
		return res, invalid("The Signature is not a base64 %s digest.", res.Method)
	}
	key, at, err := v.lookup(res.SecretID, p.Get("Timestamp"))
	res.Timestamp = at
	if err != nil {
		return res, err
	}
	if !slices.ContainsFunc(hosts(r), func(host string) bool {
		return hmac.Equal(sig, v1MAC(res.Method, key.SecretKey, v1StringToSign(r.Method, host, requestPath(r), p)))
	}) {
		return res, mismatch("the %s signature does not match the request", res.Method)
	}
	if err := checkToken(key, p.Get("Token")); err != nil {
		return res, err
	}
	res.Temporary = key.Token != ""
	res.Params = maps.Clone(p)
	for _, own := range []string{"SecretId", "Timestamp", "Nonce", "SignatureMethod", "Signature", "Token"} {
		delete(res.Params, own)
	}
	return res, nil
}

// v1StringToSign is METHOD + host + path + "?" + the parameters but
// Signature, sorted by name, as unescaped k=v joined by "&".
func v1StringToSign(method, host, path string, p url.Values) string {
	pairs := make([]string, 0, len(p))
	for _, k := range slices.Sorted(maps.Keys(p)) {
		if k != "Signature" {
			pairs = append(pairs, k+"="+p.Get(k))
		}
	}
	return strings.ToUpper(method) + host + path + "?" + strings.Join(pairs, "&")
}

// v1MAC is the HMAC-SHA256 of sts for HmacSHA256, else its HMAC-SHA1.
func v1MAC(method, secretKey, sts string) []byte {
	newHash := sha1.New
	if method == HmacSHA256 {
		newHash = sha256.New
	}
	m := hmac.New(newHash, []byte(secretKey))
	m.Write([]byte(sts))
	return m.Sum(nil)
}

// SignV1 signs v1 parameters in place for a request of method to host
// (host[:port] as the client addresses it, path "/"): it sets SecretId,
// SignatureMethod, Timestamp, Token when o has one, Nonce when params has
// none, and Signature. Send them as a GET query or a POST form body.
func SignV1(method, host string, params url.Values, o SignOptions) error {
	m := cmp.Or(o.SignatureMethod, HmacSHA1)
	if o.SecretID == "" || (m != HmacSHA1 && m != HmacSHA256) {
		return errors.New("signature: SignV1 needs SecretID and SignatureMethod HmacSHA1 or HmacSHA256")
	}
	params.Set("SecretId", o.SecretID)
	params.Set("SignatureMethod", m)
	params.Set("Timestamp", strconv.FormatInt(o.Time.Unix(), 10))
	if o.Token != "" {
		params.Set("Token", o.Token)
	}
	if !params.Has("Nonce") {
		params.Set("Nonce", strconv.FormatUint(uint64(rand.Uint32()), 10))
	}
	params.Set("Signature", base64.StdEncoding.EncodeToString(v1MAC(m, o.SecretKey, v1StringToSign(method, host, "/", params))))
	return nil
}
