#!/usr/bin/env node
// Turns a run.mjs --report file into TAP, one line per conformance case,
// so the automake TAP driver counts every case.  Known failures become
// "not ok ... # TODO known failure"; unsupported cases "ok ... # SKIP".
// With FLOOR, one more line checks that at least FLOOR cases pass.
// Usage: node tap.mjs REPORT.json [FLOOR]
import { readFileSync } from "node:fs";

const report = JSON.parse(readFileSync(process.argv[2], "utf8"));
const rows = report.results ?? [];
const clean = (s) => String(s).replace(/[\r\n]+/g, " ").replace(/#/g, "\\#");
const floor = process.argv[3] !== undefined ? Number(process.argv[3]) : null;
const out = [`1..${rows.length + (floor !== null ? 1 : 0)}`];
rows.forEach((r, i) => {
  const n = i + 1;
  const name = clean(r.path);
  if (r.status === "pass") {
    out.push(r.known ? `ok ${n} - ${name} # TODO known failure now passes: remove it from tests/cel-known-failures`
      : `ok ${n} - ${name}`);
  } else if (r.status === "unsupported") {
    out.push(`ok ${n} - ${name} # SKIP unsupported: ${clean(r.detail)}`);
  } else {
    out.push(`not ok ${n} - ${name}${r.known ? " # TODO known failure" : ""}`);
    out.push(`#   expr: ${clean(r.expr).slice(0, 200)}`);
    out.push(`#   ${clean(r.detail).slice(0, 400)}`);
  }
});
const s = report.summary ?? {};
if (floor !== null) {
  const pass = rows.filter((r) => r.status === "pass").length;
  out.push(`${pass >= floor ? "ok" : "not ok"} ${rows.length + 1} - at least ${floor} cases pass (${pass} do)`);
}
out.push(`# conformance: ${s.pass ?? 0} passed, ${(s.fail ?? 0) + (s.crash ?? 0)} failed, ${s.unsupported ?? 0} unsupported of ${s.total ?? rows.length}`);
console.log(out.join("\n"));
