// Records the raw requests the official Node.js SDK sends, for the fixtures
// beside this file. Not run by any test (CI has no npm); to regenerate, in a
// scratch directory outside the repository:
//
//   npm init -y && npm install tencentcloud-sdk-nodejs-common@4.1.220
//   cp <repo>/internal/tc3/testdata/node/capture.js . && mkdir -p out && node capture.js
//   cp out/*.json <repo>/internal/tc3/testdata/node/
//
// It pins the SDK's clock (global Date) to FIXED_MS, answers from a local
// capture server, and resolves every host name to 127.0.0.1 so that the
// endpoint can keep the real "dbbrain." host name (the SDK derives the scope
// service from it). The key pair below exists only for these fixtures.
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
const pkg = require("tencentcloud-sdk-nodejs-common/package.json");

const KEY = { secretId: "AKIDNODEFIXTURE0000000000000000000000", secretKey: "node-fixture-secret-key" };
const TOKEN = "node-fixture-session-token";

const cases = [
  { file: "post-json-add-john-smith", note: "POST JSON AddUserContact, permanent key, endpoint dbbrain.tencentcloudapi.com:PORT",
    endpoint: "dbbrain.tencentcloudapi.com", method: "POST", token: null, action: "AddUserContact",
    params: { Name: "John Smith", ContactInfo: "test@qq.com", Product: "mysql" } },
  { file: "post-json-add-zhangsan-token", note: "POST JSON AddUserContact, temporary key with X-TC-Token, non-ASCII name",
    endpoint: "dbbrain.tencentcloudapi.com", method: "POST", token: TOKEN, action: "AddUserContact",
    params: { Name: "张三", ContactInfo: "zhangsan@example.com", Product: "mysql" } },
  { file: "get-query-describe", note: "GET DescribeAllUserContact, parameters in the query string (Names.N)",
    endpoint: "dbbrain.tencentcloudapi.com", method: "GET", token: null, action: "DescribeAllUserContact",
    params: { Product: "mysql", Names: ["John Smith", "张"] } },
  { file: "post-json-describe", note: "POST JSON DescribeAllUserContact with a Names array",
    endpoint: "dbbrain.tencentcloudapi.com", method: "POST", token: null, action: "DescribeAllUserContact",
    params: { Product: "mysql", Names: ["zhang"] } },
  { file: "post-json-ip-endpoint", note: "endpoint 127.0.0.1:PORT: the SDK derives the scope service from the endpoint's first label (\"127\"), so the real service and the emulator answer SignatureFailure",
    endpoint: "127.0.0.1", method: "POST", token: null, action: "AddUserContact",
    params: { Name: "John Smith", ContactInfo: "test@qq.com", Product: "mysql" } },
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
    const client = new CommonClient(c.endpoint, "2019-10-16", {
      credential: c.token ? { ...KEY, token: c.token } : { ...KEY },
      region: "ap-guangzhou",
      profile: { httpProfile: { endpoint: `${c.endpoint}:${port}`, protocol: "http://", reqMethod: c.method,
        agent: new http.Agent({ lookup }) } },
    });
    await client.request(c.action, c.params);
    const rec = await got;
    const out = { description: c.note, sdk: `${pkg.name} ${pkg.version}`, node: process.version,
      secretId: KEY.secretId, secretKey: KEY.secretKey, token: c.token || "", now: FIXED_MS / 1000, ...rec };
    fs.writeFileSync(path.join(__dirname, "out", c.file + ".json"), JSON.stringify(out, null, 2) + "\n");
    console.log("captured", c.file);
  }
  server.close();
});
