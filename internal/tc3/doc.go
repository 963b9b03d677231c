// Package tc3 verifies and produces Tencent Cloud API 3.0 request signatures
// (TC3-HMAC-SHA256).
//
// It is hand-written because no Go library verifies TC3: the official Go SDK
// (tencentcloud-sdk-go/tencentcloud/common) only signs, inside
// Client.sendWithSignatureV3, and exports neither the canonical-request
// builder nor any verifier. A local emulator has to check what the real
// service checks, so the verification side is written here.
//
// # What is verified
//
// The canonical request is rebuilt from the request as received, never from
// what a particular SDK is assumed to send:
//
//	Method \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n hex(sha256(payload))
//
// where:
//
//   - CanonicalURI is the escaped request path ("/" when empty). API 3.0 only
//     serves "/", so this is "/" for every caller.
//   - CanonicalQuery is the raw query string exactly as sent. Every SDK signs
//     the very string it appends after "?", whatever its escaping (Node:
//     %20, Python/Java/.NET/PHP: +), so re-encoding it would break them.
//   - CanonicalHeaders are built from the SignedHeaders list of the
//     Authorization header, in that order: "name:value\n" with the value
//     trimmed; host comes from the request's Host. The official
//     documentation lower-cases values too (its example signs
//     "x-tc-action:describeinstances"); the SDKs sign values as they are. Both
//     are accepted (lower-cased first, then literal).
//   - The payload is the body, or the literal string "UNSIGNED-PAYLOAD" when
//     the request carries "X-TC-Content-SHA256: UNSIGNED-PAYLOAD".
//
// StringToSign is "TC3-HMAC-SHA256\n<X-TC-Timestamp>\n<date>/<service>/tc3_request\n"
// + hex(sha256(CanonicalRequest)), and the key is derived as
// HMAC(HMAC(HMAC("TC3"+SecretKey, date), service), "tc3_request").
//
// # Order of checks
//
// [Verifier.Verify] checks, in this order, and stops at the first failure:
//
//  1. Authorization present and well-formed, algorithm TC3-HMAC-SHA256,
//     scope ending in tc3_request, SignedHeaders naming content-type and host,
//     X-TC-Timestamp an integer: AuthFailure.InvalidAuthorization.
//  2. SecretId known: AuthFailure.SecretIdNotFound.
//  3. X-TC-Timestamp within MaxSkew (5 minutes) of the server clock:
//     AuthFailure.SignatureExpire. Checked before the signature so that a
//     stale or replayed request is reported as expired, not as a mismatch.
//  4. Scope date equal to the UTC date of X-TC-Timestamp, scope service equal
//     to the expected service, and the signature itself:
//     AuthFailure.SignatureFailure.
//  5. For a temporary key, X-TC-Token present and equal:
//     AuthFailure.TokenFailure. It comes last because the token is not part of
//     the signature: a request must first prove it was signed with the key.
//     A permanent key ignores X-TC-Token (unconfirmed how the real service
//     treats a token sent with a permanent key).
//
// # What the official SDKs send (and so what must verify)
//
// Read from each SDK's source (AbstractClient or its equivalent):
//
//   - Go, tencentcloud-sdk-go common v1.3.211, client.go
//     sendWithSignatureV3: POST with Content-Type "application/json", GET with
//     "application/x-www-form-urlencoded" and the parameters as url.Values
//     Encode() (sorted, "+" for spaces) both in the URL and the canonical query;
//     SignedHeaders "content-type;host"; Host is the endpoint including any
//     port; canonical URI always "/"; scope service is the request's service
//     name, not the host. With UnsignedPayload it sends X-TC-Content-SHA256.
//   - Python, tencentcloud-sdk-python tencentcloud/common/abstract_client.py
//     _build_req_with_tc3_signature: POST "application/json" with
//     json.dumps (", " and ": " separators), GET "application/x-www-form-urlencoded"
//     with urllib urlencode ("+" for spaces); "content-type;host"; Host is the
//     endpoint with port; URI is "/". tccli's current generic caller
//     (tccli/action_caller.py) uses this CommonClient with TC3, POST JSON.
//     Older tccli service modules (tccli/services/*/..._client.py) used
//     signMethod "HmacSHA256", i.e. signature v1 with a form body and no
//     Authorization header, which this package does not verify.
//   - Node.js, tencentcloud-sdk-nodejs src/common/sign.ts and
//     http/http_connection.ts: POST "application/json" (unless the caller set
//     one), GET "application/x-www-form-urlencoded" with querystring.stringify
//     (%20 for spaces) and an empty payload hash; canonical URI is the URL
//     pathname; the signed host is URL.hostname, without the port, while the
//     Host header sent is URL.host, with it. So a Host with a port is also
//     tried without the port. The scope service is the endpoint's first label
//     (endpoint.split(".")[0]).
//   - Java, tencentcloud-sdk-java(-intl-en) AbstractClient.java
//     doRequestWithTC3/getAuthorization: POST "application/json; charset=utf-8"
//     (okhttp appends the charset, so the SDK signs it too), GET
//     "application/x-www-form-urlencoded" with URLEncoder ("+"), HashMap
//     order; "content-type;host"; scope service endpoint.split("\\.")[0].
//   - PHP, tencentcloud-sdk-php src/TencentCloud/Common/AbstractClient.php
//     doRequestWithTC3: POST "application/json", GET with http_build_query;
//     "content-type;host"; service explode(".", endpoint)[0].
//   - .NET, tencentcloud-sdk-dotnet TencentCloud/Common/AbstractClient.cs
//     BuildHeaders: signs content-type with "; charset=utf-8" appended, and
//     StringContent sends that same value; the Authorization header is
//     rebuilt through AuthenticationHeaderValue(scheme, " Credential=..."),
//     which leaves two spaces after the algorithm; service from the endpoint.
//   - C++, tencentcloud-sdk-cpp core/src/AbstractClient.cpp: POST
//     "application/json" only; service from the endpoint's first label.
//   - The documentation's own example (signature v3 page, CVM
//     DescribeInstances, timestamp 1551113065) signs
//     "content-type;host;x-tc-action" with "application/json; charset=utf-8"
//     and the action value lower-cased; third-party signers such as Teco
//     (Swift) also sign extra x-tc-* headers.
//
// Consequence for local emulators: every SDK except Go and Python derives the
// scope service from the endpoint host, so pointing it at "127.0.0.1:PORT"
// signs service "127" and fails with SignatureFailure, as it would against the
// real service. Such clients must use an endpoint whose first label is
// "dbbrain" (for example "dbbrain.localhost:PORT" with a resolver that maps
// it to 127.0.0.1). testdata/node holds requests recorded from the real
// Node.js SDK, including that failing case.
package tc3
