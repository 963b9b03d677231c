package signature

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

const testSig = "e6ffef1504489114de7ba521a40750834951517b79da38c2c838500cd455f051"

func TestParseAuthorizationAcceptsSpacingVariants(t *testing.T) {
	want := authorization{
		secretID:      "AKIDEXAMPLE",
		date:          "2025-11-26",
		service:       "dbbrain",
		signedHeaders: []string{"content-type", "host"},
		signature:     testSig,
	}
	for name, h := range map[string]string{
		// Go, Python, Node.js, Java, PHP and C++ SDKs.
		"sdk": "TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2025-11-26/dbbrain/tc3_request, SignedHeaders=content-type;host, Signature=" + testSig,
		// .NET SDK: AuthenticationHeaderValue adds a space before " Credential=".
		"dotnet": "TC3-HMAC-SHA256  Credential=AKIDEXAMPLE/2025-11-26/dbbrain/tc3_request, SignedHeaders=content-type;host, Signature=" + testSig,
		// Hand-written signers.
		"compact":        "TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2025-11-26/dbbrain/tc3_request,SignedHeaders=content-type;host,Signature=" + testSig,
		"tab":            "TC3-HMAC-SHA256\tCredential=AKIDEXAMPLE/2025-11-26/dbbrain/tc3_request, SignedHeaders=content-type;host, Signature=" + testSig,
		"reordered":      "TC3-HMAC-SHA256 Signature=" + testSig + ", SignedHeaders=content-type;host, Credential=AKIDEXAMPLE/2025-11-26/dbbrain/tc3_request",
		"outer spaces":   "  TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2025-11-26/dbbrain/tc3_request , SignedHeaders=content-type;host , Signature=" + testSig + " ",
		"space in comma": "TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2025-11-26/dbbrain/tc3_request ,  SignedHeaders=content-type;host,\tSignature=" + testSig,
	} {
		t.Run(name, func(t *testing.T) {
			got, err := parseAuthorization(h)
			if err != nil {
				t.Fatalf("ParseAuthorization: %v", err)
			}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(authorization{})); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			if got.String() != "TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2025-11-26/dbbrain/tc3_request, SignedHeaders=content-type;host, Signature="+testSig {
				t.Errorf("String() = %q", got.String())
			}
		})
	}
}

func TestParseAuthorizationRejects(t *testing.T) {
	valid := "TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2025-11-26/dbbrain/tc3_request, SignedHeaders=content-type;host, Signature=" + testSig
	for name, h := range map[string]string{
		"empty":                 "",
		"blank":                 "   ",
		"algorithm only":        "TC3-HMAC-SHA256",
		"v1 algorithm":          strings.Replace(valid, "TC3-HMAC-SHA256", "HmacSHA256", 1),
		"lower-case algorithm":  strings.Replace(valid, "TC3-HMAC-SHA256", "tc3-hmac-sha256", 1),
		"aws algorithm":         strings.Replace(valid, "TC3-HMAC-SHA256", "AWS4-HMAC-SHA256", 1),
		"no terminator":         strings.Replace(valid, "/tc3_request", "/aws4_request", 1),
		"short credential":      strings.Replace(valid, "/dbbrain/tc3_request", "/tc3_request", 1),
		"long credential":       strings.Replace(valid, "/dbbrain/", "/dbbrain/x/", 1),
		"empty secret id":       strings.Replace(valid, "AKIDEXAMPLE", "", 1),
		"bad date":              strings.Replace(valid, "2025-11-26", "20251126", 1),
		"impossible date":       strings.Replace(valid, "2025-11-26", "2025-13-40", 1),
		"no content-type":       strings.Replace(valid, "content-type;host", "host", 1),
		"no host":               strings.Replace(valid, "content-type;host", "content-type", 1),
		"upper-case header":     strings.Replace(valid, "content-type;host", "Content-Type;host", 1),
		"repeated header":       strings.Replace(valid, "content-type;host", "content-type;host;host", 1),
		"empty header":          strings.Replace(valid, "content-type;host", "content-type;;host", 1),
		"short signature":       strings.Replace(valid, testSig, testSig[:63], 1),
		"upper-case signature":  strings.Replace(valid, testSig, strings.ToUpper(testSig), 1),
		"non-hex signature":     strings.Replace(valid, testSig, strings.Repeat("z", 64), 1),
		"missing signature":     strings.Replace(valid, ", Signature="+testSig, "", 1),
		"missing credential":    strings.Replace(valid, "Credential=AKIDEXAMPLE/2025-11-26/dbbrain/tc3_request, ", "", 1),
		"repeated field":        valid + ", Signature=" + testSig,
		"unknown field":         valid + ", Nonce=1",
		"trailing comma":        valid + ",",
		"empty value":           strings.Replace(valid, "Signature="+testSig, "Signature=", 1),
		"lower-case field name": strings.Replace(valid, "Credential=", "credential=", 1),
		"garbage":               "Bearer abc.def.ghi",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseAuthorization(h)
			if apierror.CodeOf(err) != InvalidAuthorization {
				t.Fatalf("parseAuthorization(%q) = %v, want %s", h, err, InvalidAuthorization)
			}
		})
	}
}
