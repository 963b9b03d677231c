// Records the raw requests the official Node.js SDKs send, for the fixtures
// beside this file. Not run by any test (CI has no npm); to regenerate, in a
// scratch directory outside the repository:
//
//   npm init -y && npm install tencentcloud-sdk-nodejs-common@4.1.220 tencentcloud-sdk-nodejs@4.1.313
//   cp <repo>/internal/signature/testdata/node/capture.js . && mkdir -p out && node capture.js
//   cp out/*.json <repo>/internal/signature/testdata/node/
//
// It pins the SDK's clock (global Date) to FIXED_MS, answers from a local
// capture server, and resolves every host name to 127.0.0.1 so that the
// endpoint can keep the real "dbbrain." host name (the SDK derives the TC3
// scope service from it). "common" cases use the generic CommonClient,
// "typed" ones the DBbrain clients of the full SDK; signMethod HmacSHA1 or
// HmacSHA256 is signature v1 (parameters in the query or a form body). The
// key pair below exists only for these fixtures.
"use strict";
const http = require("http");
const fs = require("fs");
const path = require("path");

const FIXED_MS = 1764162000 * 1000; // 2025-11-26T13:00:00Z
const RealDate = Date;
class FixedDate extends RealDate {
  constructor(...a) { if (a.length === 0) { super(FIXED_MS); } else { super(...a); } }
  static now() { return FIXED_MS; }
}
global.Date = FixedDate;

const { CommonClient } = require("tencentcloud-sdk-nodejs-common");
const commonPkg = require("tencentcloud-sdk-nodejs-common/package.json");
const { dbbrain } = require("tencentcloud-sdk-nodejs");
const fullPkg = require("tencentcloud-sdk-nodejs/package.json");

const KEY = { secretId: "AKIDNODEFIXTURE0000000000000000000000", secretKey: "node-fixture-secret-key" };
const TOKEN = "node-fixture-session-token";
const HOST = "dbbrain.tencentcloudapi.com";
const JOHN = { Name: "John Smith", ContactInfo: "test@qq.com", Product: "mysql" };

const cases = [
  { file: "post-json-add-john-smith", note: "POST JSON AddUserContact, permanent key, endpoint dbbrain.tencentcloudapi.com:PORT",
    client: "common", endpoint: HOST, method: "POST", action: "AddUserContact", params: JOHN },
  { file: "post-json-add-zhangsan-token", note: "POST JSON AddUserContact, temporary key with X-TC-Token, non-ASCII name",
    client: "common", endpoint: HOST, method: "POST", token: TOKEN, action: "AddUserContact",
    params: { Name: "张三", ContactInfo: "zhangsan@example.com", Product: "mysql" } },
  { file: "get-query-describe", note: "GET DescribeAllUserContact, parameters in the query string (Names.N)",
    client: "common", endpoint: HOST, method: "GET", action: "DescribeAllUserContact",
    params: { Product: "mysql", Names: ["John Smith", "张"] } },
  { file: "post-json-describe", note: "POST JSON DescribeAllUserContact with a Names array",
    client: "common", endpoint: HOST, method: "POST", action: "DescribeAllUserContact",
    params: { Product: "mysql", Names: ["zhang"] } },
  { file: "post-json-ip-endpoint", note: "endpoint 127.0.0.1:PORT: the SDK derives the scope service from the endpoint's first label (\"127\"), so the real service and the emulator answer SignatureFailure",
    client: "common", endpoint: "127.0.0.1", method: "POST", action: "AddUserContact", params: JOHN },
  { file: "typed-v20191016-post-json-add", note: "typed dbbrain.v20191016 client, TC3, POST JSON AddUserContact",
    client: "v20191016", method: "POST", action: "AddUserContact", params: JOHN },
  { file: "typed-v20210527-post-json-add", note: "typed dbbrain.v20210527 client, TC3, POST JSON AddUserContact",
    client: "v20210527", method: "POST", action: "AddUserContact",
    params: { Name: "李四（DBA）", ContactInfo: "lisi@example.com", Product: "mysql" } },
  { file: "typed-v20210527-post-json-describe-no-region", note: "typed dbbrain.v20210527 client, TC3, POST JSON DescribeAllUserContact without a region (2021-05-27 needs none)",
    client: "v20210527", region: "", method: "POST", action: "DescribeAllUserContact", params: { Product: "mysql", Names: ["李"] } },
  { file: "v1-get-hmacsha1-describe", note: "typed dbbrain.v20191016 client, signature v1 HmacSHA1, GET DescribeAllUserContact (Names.N in the query)",
    client: "v20191016", signMethod: "HmacSHA1", method: "GET", action: "DescribeAllUserContact",
    params: { Product: "mysql", Names: ["John Smith", "张"] } },
  { file: "v1-post-hmacsha1-add", note: "typed dbbrain.v20191016 client, signature v1 HmacSHA1, POST form AddUserContact",
    client: "v20191016", signMethod: "HmacSHA1", method: "POST", action: "AddUserContact", params: JOHN },
  { file: "v1-get-hmacsha256-add-v20210527", note: "typed dbbrain.v20210527 client, signature v1 HmacSHA256, GET AddUserContact",
    client: "v20210527", signMethod: "HmacSHA256", method: "GET", action: "AddUserContact",
    params: { Name: "Ops On-Call #1", ContactInfo: "oncall@example.com", Product: "mysql" } },
  { file: "v1-post-hmacsha256-add-token-v20210527", note: "typed dbbrain.v20210527 client, signature v1 HmacSHA256, POST form AddUserContact, temporary key (Token parameter)",
    client: "v20210527", signMethod: "HmacSHA256", method: "POST", token: TOKEN, action: "AddUserContact",
    params: { Name: "王五", ContactInfo: "wangwu@example.com", Product: "mysql" } },
];

const lookup = (hostname, options, cb) => {
  if (typeof options === "function") { cb = options; options = {}; }
  if (options && options.all) return cb(null, [{ address: "127.0.0.1", family: 4 }]);
  cb(null, "127.0.0.1", 4);
};

let pending = null;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    pending({ method: req.method, target: req.url, httpVersion: req.httpVersion,
      headers: req.rawHeaders.reduce((acc, v, i, arr) => { if (i % 2 === 0) acc.push([v, arr[i + 1]]); return acc; }, []),
      body: body.toString("utf8"), bodyBase64: body.toString("base64") });
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ Response: { Id: 1, TotalCount: 0, Contacts: [], RequestId: "00000000-0000-4000-8000-000000000000" } }));
  });
});

server.listen(0, "127.0.0.1", async () => {
  const port = server.address().port;
  for (const c of cases) {
    const got = new Promise((resolve) => { pending = resolve; });
    const endpoint = c.endpoint || HOST;
    const credential = c.token ? { ...KEY, token: c.token } : { ...KEY };
    const region = c.region === undefined ? "ap-guangzhou" : c.region;
    const profile = { httpProfile: { endpoint: `${endpoint}:${port}`, protocol: "http://", reqMethod: c.method,
      agent: new http.Agent({ lookup }) } };
    if (c.signMethod) profile.signMethod = c.signMethod;
    let sdk, version;
    if (c.client === "common") {
      version = "2019-10-16";
      sdk = `${commonPkg.name} ${commonPkg.version} CommonClient`;
      await new CommonClient(endpoint, version, { credential, region, profile }).request(c.action, c.params);
    } else {
      const client = new dbbrain[c.client].Client({ credential, region, profile });
      version = client.apiVersion;
      sdk = `${fullPkg.name} ${fullPkg.version} dbbrain.${c.client}.Client`;
      await client[c.action](c.params);
    }
    const rec = await got;
    const out = { description: c.note, sdk, node: process.version, version, signMethod: c.signMethod || "TC3-HMAC-SHA256",
      secretId: KEY.secretId, secretKey: KEY.secretKey, token: c.token || "", now: FIXED_MS / 1000, ...rec };
    fs.writeFileSync(path.join(__dirname, "out", c.file + ".json"), JSON.stringify(out, null, 2) + "\n");
    console.log("captured", c.file);
  }
  server.close();
});
