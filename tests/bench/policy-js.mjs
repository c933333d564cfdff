#!/usr/bin/env node
// policy-js.mjs - the rule sets and requests written by "tests/bench/policy
// -o DIR", decided by the reference JS CEL implementation (@bufbuild/cel)
// with the same semantics and the same index as nsreg's engine: rules
// compiled once, looked up by action and service, every forbid first,
// then permits up to the first that holds.  Requests are converted to CEL values once, before timing.
//
// usage: node policy-js.mjs DIR SECONDS   (run where @bufbuild/cel is
// installed, e.g. the conformance harness folder, via NODE_PATH or cwd)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const [dir, secondsArg, modulesDir] = process.argv.slice(2);
const seconds = Number(secondsArg ?? 2);
// Resolve @bufbuild/* from the harness's node_modules.
const require = createRequire(join(resolve(modulesDir ?? process.cwd()), "package.json"));
const cel = await import(require.resolve("@bufbuild/cel"));
const wkt = await import(require.resolve("@bufbuild/protobuf/wkt"));
const { parse, plan, celEnv, isCelError } = cel;
const { timestampFromMs } = wkt;

function toMap(o) {
  const m = new Map();
  for (const [k, v] of Object.entries(o ?? {})) {
    m.set(k, Array.isArray(v) ? v : v !== null && typeof v === "object" ? toMap(v) : v);
  }
  return m;
}

function bindings(r) {
  const p = r.principal;
  const m = /^spiffe:\/\/([^/]+)(\/.*)?$/.exec(p.id);
  const principal = new Map([
    ["id", p.id], ["trust_domain", m[1]], ["path", m[2] ?? ""],
    ["segments", (m[2] ?? "").split("/").filter(Boolean)],
    ["auth", p.auth], ["claims", toMap(p.claims)],
    ["expires_at", timestampFromMs(Date.parse(p.expires_at))],
  ]);
  const service = r.service ? new Map([["name", r.service.name], ["payload", r.service.payload],
    ["labels", toMap(r.service.labels)]]) : null;
  const request = new Map([["labels", toMap(r.request.labels)],
    ["time", timestampFromMs(Date.parse(r.request.time))]]);
  return { principal, action: r.action, service, endpoint: null, request };
}

function run(n) {
  const rules = JSON.parse(readFileSync(join(dir, `rules-${n}.json`), "utf8"));
  const reqs = JSON.parse(readFileSync(join(dir, `requests-${n}.json`), "utf8"));
  const env = celEnv({});
  const compiled = rules.map((r) => ({ ...r, program: r.condition ? plan(env, parse(r.condition)) : null }));
  // Index: action -> { any: [rules], svc: Map(name -> [rules]) }, each
  // list in rule order.
  const index = new Map();
  for (const r of compiled) {
    for (const a of r.actions) {
      if (!index.has(a)) index.set(a, { any: [], svc: new Map() });
      const e = index.get(a);
      if (!r.services) e.any.push(r);
      else for (const s of r.services) { if (!e.svc.has(s)) e.svc.set(s, []); e.svc.get(s).push(r); }
    }
  }
  // Merge each service's rules with the rules for any service, in rule
  // order, once (as the C index yields them).
  compiled.forEach((r, i) => { r.id = i; });
  for (const e of index.values())
    for (const [s, l] of e.svc) e.svc.set(s, e.any.concat(l).sort((a, b) => a.id - b.id));
  const inputs = reqs.map((r) => ({ action: r.action, service: r.service?.name, b: bindings(r) }));
  const holds = (r, b) => {
    if (!r.program) return true;
    const v = r.program(b);
    if (isCelError(v)) return r.effect === "forbid";
    return v === true;
  };
  const decide = (inp) => {
    const e = index.get(inp.action);
    if (!e) return false;
    const list = (inp.service !== undefined ? e.svc.get(inp.service) : undefined) ?? e.any;
    // Every forbid (all are reasons); permits up to the first that holds.
    let forbid = false;
    for (const r of list) if (r.effect === "forbid" && holds(r, inp.b)) forbid = true;
    if (forbid) return false;
    for (const r of list) if (r.effect === "permit" && holds(r, inp.b)) return true;
    return false;
  };
  for (const inp of inputs) decide(inp);	// warm up the JIT
  let count = 0, allow = 0;
  const t0 = process.hrtime.bigint();
  let t;
  do {
    for (const inp of inputs) if (decide(inp)) allow++;
    count += inputs.length;
    t = Number(process.hrtime.bigint() - t0) / 1e9;
  } while (t < seconds);
  console.log(`js rules=${n} decisions=${count} seconds=${t.toFixed(3)} us_per_decision=${(t * 1e6 / count).toFixed(3)} decisions_per_s=${(count / t).toFixed(0)} allow=${(100 * allow / count).toFixed(1)}%`);
}

run(20);
run(1000);
