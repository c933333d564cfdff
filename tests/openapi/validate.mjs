// validate.mjs FILE [NSREGD] - check an OpenAPI document with two
// standard validators, @seriousme/openapi-schema-validator (the OpenAPI
// specification's JSON Schemas) and @apidevtools/swagger-parser
// (schema and $refs), then, given the nsregd program, the answers of a
// running nsregd against it (responses.mjs); each check a TAP line.
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import SwaggerParser from "@apidevtools/swagger-parser";
import YAML from "yaml";
import { checkResponses } from "./responses.mjs";

const file = process.argv[2];
const text = readFileSync(file, "utf8");
let n = 0;
let failed = 0;
const results = [];

function report(ok, name, detail) {
  n++;
  results.push(`${ok ? "ok" : "not ok"} ${n} - ${name}`);
  if (!ok) {
    failed++;
    for (const l of String(detail).split("\n").slice(0, 40))
      results.push(`# ${l}`);
  }
}

let doc;
const parsed = YAML.parseDocument(text, { uniqueKeys: true });
report(parsed.errors.length === 0, "YAML parses with unique keys",
  parsed.errors.map((e) => e.message).join("\n"));
doc = parsed.toJS();

const v = new Validator();
const res = await v.validate(structuredClone(doc));
report(res.valid, `@seriousme/openapi-schema-validator: valid OpenAPI ${v.version}`,
  JSON.stringify(res.errors, null, 1));

try {
  await SwaggerParser.validate(structuredClone(doc));
  report(true, "@apidevtools/swagger-parser: valid");
} catch (e) {
  report(false, "@apidevtools/swagger-parser: valid", e.message);
}

// Descriptions are prose: a key that looks like a sentence fragment is a
// description that YAML split at ": " or ", ".
const odd = [];
(function walk(o, path) {
  if (o === null || typeof o !== "object")
    return;
  for (const [k, val] of Object.entries(o)) {
    if (/[ ,]/.test(k) && !path.endsWith("/paths") &&
        !path.includes("/examples"))
      odd.push(`${path}/${k}`);
    walk(val, `${path}/${k}`);
  }
})(doc, "");
report(odd.length === 0, "no key is a stray piece of prose", odd.join("\n"));

if (process.argv[3]) {
  try {
    await checkResponses(doc, process.argv[3], report);
  } catch (e) {
    report(false, "nsregd --dev answers", e.stack);
  }
}

console.log(`1..${n}`);
for (const l of results)
  console.log(l);
process.exit(0);
