// responses.mjs OPENAPI NSREGD - start "nsregd --dev" in a temporary
// folder, make a representative request of every documented operation
// (successes and the usual errors) with each kind of caller, and check
// each answer against schema/openapi.yaml: its status is documented for
// the operation, its JSON body matches the response schema (ajv, JSON
// Schema 2020-12 as OpenAPI 3.1 uses it) and the headers the response
// declares are present.  One TAP line per request (no plan: validate.mjs
// prints it).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import YAML from "yaml";

export async function checkResponses(doc, nsregd, report) {
  const dir = mkdtempSync(join(tmpdir(), "nsreg-openapi-"));
  const port = await freePort();
  const env = { ...process.env };
  delete env.NOTIFY_SOCKET;
  const child = spawn(nsregd, ["--dev", dir, "--port", String(port)],
    { env, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr.on("data", (d) => { log += d; });
  let exited = false;
  child.on("exit", () => { exited = true; });
  try {
    await run(doc, dir, port, report, () => exited, () => log);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => (exited ? r() : child.on("exit", r)));
    rmSync(dir, { recursive: true, force: true });
  }
}

// A loopback TCP port nobody listens on now.
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// One request; extra is one more header ("If-Match: \"1\"") or null.
function request(ctx, cred, method, path, body, extra) {
  const headers = {};
  if (extra) {
    const i = extra.indexOf(":");
    headers[extra.slice(0, i).trim().toLowerCase()] = extra.slice(i + 1).trim();
  }
  const opts = {
    host: "127.0.0.1", port: ctx.port, method, path, headers,
    ca: ctx.ca, servername: "localhost", rejectUnauthorized: true,
  };
  if (cred === "admin")
    headers.authorization = `Bearer ${ctx.admin}`;
  else if (cred === "jwt")
    headers.authorization = `Bearer ${ctx.jwt}`;
  else if (cred === "badjwt")
    headers.authorization = "Bearer not.a.token";
  else if (cred === "x509") {
    opts.cert = ctx.cert;
    opts.key = ctx.key;
  }
  let data = null;
  if (body !== undefined) {
    data = typeof body === "string" ? body : JSON.stringify(body);
    headers["content-type"] = "application/json";
    headers["content-length"] = Buffer.byteLength(data);
  }
  return new Promise((resolve, reject) => {
    const req = https.request(opts, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode,
        headers: res.headers, text: Buffer.concat(chunks).toString() }));
    });
    req.setTimeout(20000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    if (data !== null)
      req.write(data);
    req.end();
  });
}

// The operation of doc serving method and a concrete path, with the
// JSON pointer of its path item.
function operation(doc, method, path) {
  const bare = path.split("?")[0];
  for (const [tmpl, item] of Object.entries(doc.paths)) {
    const re = new RegExp("^" + tmpl.replace(/[.]/g, "\\.")
      .replace(/\{[^}]+\}/g, "[^/]+") + "$");
    if (re.test(bare) && item[method.toLowerCase()])
      return { tmpl, op: item[method.toLowerCase()],
        ptr: `#/paths/${tmpl.replace(/~/g, "~0").replace(/\//g, "~1")}/` +
          method.toLowerCase() };
  }
  return null;
}

function resolve(doc, ref) {
  return ref.replace(/^#\//, "").split("/").reduce((o, k) =>
    o[k.replace(/~1/g, "/").replace(/~0/g, "~")], doc);
}

async function run(doc, dir, port, report, exited, log) {
  const ctx = { port };
  for (let i = 0; i < 200; i++) {
    if (exited())
      throw new Error(`nsregd --dev exited:\n${log()}`);
    try {
      ctx.ca = readFileSync(join(dir, "bundle.pem"));
      const r = await request(ctx, "none", "GET", "/healthz");
      if (r.status === 200)
        break;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  ctx.admin = readFileSync(join(dir, "admin.token"), "utf8").split("\n")[0];
  ctx.jwt = readFileSync(join(dir, "client.jwt"), "utf8").trim();
  ctx.cert = readFileSync(join(dir, "client.pem"));
  ctx.key = readFileSync(join(dir, "client.key"));

  const ajv = new Ajv2020({ strict: false, allErrors: true,
    validateSchema: false });
  addFormats(ajv);
  ajv.addSchema(doc, "openapi");
  const validators = new Map();
  const bundle = readFileSync(join(dir, "bundle.json"), "utf8");
  const saved = {};

  // [caller, method, path, body, expected status]; bodies may use what
  // earlier answers saved (a grant token, an ETag).
  const cases = [
    ["none", "GET", "/healthz", undefined, 200],
    ["none", "GET", "/readyz", undefined, 200],
    ["admin", "GET", "/metrics", undefined, 200],
    ["x509", "GET", "/v1/whoami", undefined, 200],
    ["jwt", "GET", "/v1/whoami", undefined, 200],
    ["badjwt", "GET", "/v1/whoami", undefined, 401],
    ["none", "GET", "/v1/bundle", undefined, 200],
    ["none", "GET", "/v1/jwks", undefined, 200],
    ["admin", "PUT", "/v1/services/db",
      { labels: { tier: "data" }, vl3: { prefix: "10.60.0.0/16" } }, 201],
    ["admin", "PUT", "/v1/services/db",
      { labels: { tier: "data", v: "2" }, vl3: { prefix: "10.60.0.0/16" } },
      200],
    ["admin", "PUT", "/v1/services/web", { labels: { tier: "front" } }, 201],
    ["admin", "PUT", "/v1/services/bad", "{not json", 400],
    ["admin", "PUT", "/v1/services/Bad!Name", {}, 400],
    ["none", "PUT", "/v1/services/x", {}, 401],
    ["x509", "PUT", "/v1/services/x", {}, 403],
    ["x509", "GET", "/v1/services", undefined, 200],
    ["x509", "GET", "/v1/services?limit=1", undefined, 200],
    ["x509", "GET", "/v1/services?limit=x", undefined, 400],
    ["x509", "GET", "/v1/services/db", undefined, 200],
    ["x509", "GET", "/v1/services/nope", undefined, 404],
    ["x509", "PUT", "/v1/endpoints/db-1",
      { url: "tcp://10.0.0.1:5432", network_service_names: ["db"] }, 201],
    ["x509", "PUT", "/v1/endpoints/db-1",
      { url: "tcp://10.0.0.1:5433", network_service_names: ["db"] }, 200],
    ["x509", "PUT", "/v1/endpoints/db-2",
      { url: "tcp://10.0.0.2:5432", network_service_names: ["db"] }, 201],
    ["x509", "PUT", "/v1/endpoints/bad", { url: "tcp://10.0.0.3:1" }, 400],
    ["x509", "GET", "/v1/endpoints", undefined, 200],
    ["jwt", "GET", "/v1/endpoints?service=db", undefined, 200],
    ["x509", "GET", "/v1/endpoints/db-1", undefined, 200],
    ["x509", "GET", "/v1/endpoints/nope", undefined, 404],
    ["x509", "PUT", "/v1/endpoints/db-1",
      { url: "tcp://10.0.0.1:5432", network_service_names: ["db"] }, 412,
      'If-Match: "1"'],
    ["x509", "POST", "/v1/grants", { service: "db" }, 201, null, "grant"],
    ["x509", "POST", "/v1/grants", { service: "nope" }, 404],
    ["x509", "POST", "/v1/grants", { nope: 1 }, 400],
    ["x509", "GET", "/v1/grants", undefined, 200],
    ["x509", "GET", "/v1/grants/{grant}", undefined, 200],
    ["x509", "GET", "/v1/grants/nope", undefined, 404],
    ["x509", "POST", "/v1/grants/introspect", { token: "{token}" }, 200],
    ["x509", "POST", "/v1/grants/introspect", { token: "garbage" }, 200],
    ["x509", "POST", "/v1/grants/introspect", {}, 400],
    ["x509", "POST", "/v1/grants/{grant}/refresh", undefined, 200],
    ["x509", "DELETE", "/v1/grants/{grant}", undefined, 204],
    ["x509", "DELETE", "/v1/grants/{grant}", undefined, 404],
    ["admin", "PUT", "/v1/policies/p1",
      { effect: "permit", actions: ["find"], condition: "true" }, 201],
    ["admin", "PUT", "/v1/policies/p2",
      { effect: "permit", actions: ["find"], condition: "(" }, 400],
    ["admin", "GET", "/v1/policies", undefined, 200],
    ["admin", "GET", "/v1/policies/p1", undefined, 200],
    ["admin", "GET", "/v1/policies/nope", undefined, 404],
    ["x509", "GET", "/v1/policies", undefined, 403],
    ["admin", "GET", "/v1/decisions", undefined, 200],
    ["admin", "GET", "/v1/decisions?decision=deny", undefined, 200],
    ["admin", "GET", "/v1/decisions?since=2026-11-27T16:31:14Z", undefined,
      200],
    ["admin", "GET", "/v1/decisions?until=yesterday", undefined, 400],
    ["admin", "POST", "/v1/decisions/evaluate",
      { principal: "spiffe://example.org/ns/web/sa/x", action: "find",
        service: "db" }, 200],
    ["admin", "POST", "/v1/decisions/evaluate", { action: "find" }, 400],
    ["admin", "GET", "/v1/trust-domains", undefined, 200],
    ["admin", "GET", "/v1/trust-domains/example.org", undefined, 200],
    ["admin", "PUT", "/v1/trust-domains/b.test",
      `{"bundle":${bundle.replace(/example\.org/g, "b.test")}}`, 201],
    ["admin", "PUT", "/v1/trust-domains/c.test",
      { federation: { bundle_endpoint_url: "https://127.0.0.1:1/v1/bundle",
        profile: "https_web" } }, 201],
    ["admin", "GET", "/v1/trust-domains/b.test", undefined, 200],
    ["admin", "GET", "/v1/trust-domains/c.test", undefined, 200],
    ["admin", "GET", "/v1/trust-domains", undefined, 200],
    ["admin", "GET", "/v1/trust-domains/nope.test", undefined, 404],
    ["admin", "PUT", "/v1/trust-domains/example.org",
      `{"bundle":${bundle}}`, 409],
    ["admin", "POST", "/v1/trust-domains/b.test/refresh", undefined, 409],
    ["admin", "DELETE", "/v1/trust-domains/c.test", undefined, 204],
    ["admin", "DELETE", "/v1/policies/p1", undefined, 204],
    ["x509", "DELETE", "/v1/endpoints/db-2", undefined, 204],
    ["x509", "DELETE", "/v1/endpoints/db-2", undefined, 404],
    ["admin", "DELETE", "/v1/services/web", undefined, 204],
    ["admin", "DELETE", "/v1/services/web", undefined, 404],
  ];
  for (const [cred, method, rawPath, body, want, extra, save] of cases) {
    const path = rawPath.replace(/\{(\w+)\}/g, (_, k) => saved[k]);
    let b = body;
    if (typeof b === "object" && b !== null)
      b = JSON.parse(JSON.stringify(b).replace(/\{(\w+)\}/g,
        (m, k) => saved[k] ?? m));
    const name = `${method} ${rawPath} as ${cred}: ${want}`;
    let r;
    try {
      r = await request(ctx, cred, method, path, b, extra);
    } catch (e) {
      report(false, name, e.message);
      continue;
    }
    const problems = [];
    if (r.status !== want)
      problems.push(`status ${r.status}, not ${want}: ${r.text.slice(0, 300)}`);
    const o = operation(doc, method, path);
    let json = null;
    if (o === null) {
      problems.push("no operation in openapi.yaml");
    } else {
      let resp = o.op.responses[String(r.status)];
      let ptr = `${o.ptr}/responses/${r.status}`;
      if (resp === undefined) {
        problems.push(`status ${r.status} is not documented`);
      } else {
        if (resp.$ref) {
          ptr = resp.$ref;
          resp = resolve(doc, resp.$ref);
        }
        for (const h of Object.keys(resp.headers ?? {}))
          if (r.headers[h.toLowerCase()] === undefined)
            problems.push(`declared header ${h} is missing`);
        const media = resp.content?.["application/json"];
        const ctype = r.headers["content-type"] ?? "";
        if (media?.schema) {
          if (!ctype.startsWith("application/json"))
            problems.push(`content-type ${ctype}, not application/json`);
          try {
            json = JSON.parse(r.text);
          } catch {
            problems.push("body is not JSON");
          }
          if (json !== null) {
            const sp = `${ptr}/content/application~1json/schema`;
            if (!validators.has(sp)) {
              try {
                validators.set(sp, ajv.compile({ $ref: `openapi${sp}` }));
              } catch (e) {
                validators.set(sp, e);
              }
            }
            const v = validators.get(sp);
            if (v instanceof Error)
              problems.push(`the response schema does not compile: ${v.message}`);
            else if (!v(json))
              problems.push(...v.errors.map((e) =>
                `${e.instancePath || "/"} ${e.message} ` +
                `${JSON.stringify(e.params)}`),
                `body: ${r.text.slice(0, 400)}`);
          }
        } else if (r.status !== 204 && !resp.content) {
          problems.push("the response declares no content");
        }
      }
    }
    if (save === "grant" && json !== null) {
      saved.grant = json.id;
      saved.token = json.token;
    }
    report(problems.length === 0, name, problems.join("\n"));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const doc = YAML.parse(readFileSync(process.argv[2], "utf8"));
  let n = 0;
  await checkResponses(doc, process.argv[3], (ok, name, detail) => {
    n++;
    console.log(`${ok ? "ok" : "not ok"} ${n} - ${name}`);
    if (!ok)
      for (const l of String(detail).split("\n").slice(0, 20))
        console.log(`# ${l}`);
  });
  console.log(`1..${n}`);
}
