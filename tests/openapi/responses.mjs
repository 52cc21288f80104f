// node responses.mjs DOCUMENT DIR: every answer the integration tests recorded in DIR/*.jsonl
// (tests/integration/harness.c, RUNOS_TEST_RECORD_RESPONSES) against DOCUMENT, an OpenAPI 3.1
// document: the request's path is matched to the document's path templates (literal segments
// win over parameters, as in the router), the status must be one the operation declares or its
// default, the media type one of that response's, and a JSON body must validate against its
// schema (ajv, JSON Schema 2020-12, formats). An answer to a path or method the document does
// not route must be an error in the document's Error shape. 304 answers carry no body and are
// counted only, and so are OPTIONS answers (CORS preflight, answered by the HTTP layer for every
// route, not an operation). HEAD is checked as the GET it stands for, without a body. Fails on
// any mismatch, and when nothing was recorded.
import fs from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const [docFile, dir] = process.argv.slice(2);
if (!docFile || !dir) {
  console.error('usage: node responses.mjs DOCUMENT DIR');
  process.exit(2);
}
const doc = JSON.parse(fs.readFileSync(docFile, 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
// The document as one schema, so that $refs into its components resolve.
ajv.addSchema({ $id: 'openapi', components: doc.components }, 'openapi');

function rebase(schema) {
  // "#/components/..." refers to the document: "openapi#/components/...".
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/'));
}
const compiled = new Map();
function validator(key, schema) {
  if (!compiled.has(key)) compiled.set(key, ajv.compile(rebase(schema)));
  return compiled.get(key);
}
function resolve(obj) {
  while (obj && obj.$ref) {
    const parts = obj.$ref.replace(/^#\//, '').split('/');
    obj = parts.reduce((o, p) => o && o[p], doc);
  }
  return obj;
}

// Path templates, most literal segments first (the router's rule: static beats :param).
const templates = Object.keys(doc.paths).map((t) => {
  const segs = t.split('/').slice(1);
  return { t, segs, literal: segs.filter((s) => !s.startsWith('{')).length };
}).sort((a, b) => b.literal - a.literal);
function match(p) {
  const segs = p.split('?')[0].split('/').slice(1);
  // The best template: same length, each literal equal, compared segment by segment so that a
  // literal earlier in the path wins (/user/accounts over /{aid}/accounts...).
  let best = null;
  for (const cand of templates) {
    if (cand.segs.length !== segs.length) continue;
    if (!cand.segs.every((s, i) => s.startsWith('{') ? segs[i] !== '' : s === segs[i])) continue;
    if (!best) { best = cand; continue; }
    for (let i = 0; i < segs.length; i++) {
      const a = !cand.segs[i].startsWith('{'), b = !best.segs[i].startsWith('{');
      if (a !== b) { if (a) best = cand; break; }
    }
  }
  return best && best.t;
}

const errorSchema = { $ref: '#/components/schemas/Error' };
let checked = 0, failed = 0, notModified = 0, preflights = 0;
const failures = new Map(); // one line per kind of failure, with a count
function fail(key, line) {
  failed++;
  const f = failures.get(key);
  if (f) f.count++; else failures.set(key, { line, count: 1 });
}

const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')) : [];
for (const file of files.sort()) {
  const program = file.replace(/-\d+\.jsonl$/, '');
  for (const text of fs.readFileSync(path.join(dir, file), 'utf8').split('\n')) {
    if (!text) continue;
    const r = JSON.parse(text);
    const method = r.method === 'HEAD' ? 'get' : r.method.toLowerCase();
    if (r.status === 304) { notModified++; continue; }
    if (r.method === 'OPTIONS') { preflights++; continue; }
    checked++;
    const where = `${program}: ${r.method} ${r.path.slice(0, 120)} → ${r.status}`;
    const tpl = match(r.path);
    const op = tpl && doc.paths[tpl][method];
    let schema, media;
    if (!op) {
      if (r.status < 400) { fail(`unrouted ${r.method} ${tpl || r.path}`, `${where}: a success for a path or method the document does not have`); continue; }
      schema = errorSchema;
      media = ['application/json'];
    } else {
      const resp = resolve(op.responses[String(r.status)] || op.responses.default);
      if (!resp) { fail(`${method} ${tpl} ${r.status}`, `${where}: status not declared (${Object.keys(op.responses).join(', ')})`); continue; }
      if (!op.responses[String(r.status)] && r.status < 400) {
        fail(`${method} ${tpl} ${r.status}`, `${where}: a success status the operation does not declare (${Object.keys(op.responses).join(', ')})`);
        continue;
      }
      media = resp.content ? Object.keys(resp.content) : [];
      schema = resp.content && resp.content[media[0]] && resp.content[media[0]].schema;
    }
    const type = (r.contentType || '').split(';')[0].trim();
    if (r.method === 'HEAD') continue;
    if (media.length === 0) {
      if (r.body !== null) fail(`${method} ${tpl} ${r.status} body`, `${where}: declared no body, got ${JSON.stringify(r.body).slice(0, 100)}`);
      continue;
    }
    if (!media.includes(type)) { fail(`${method} ${tpl} ${r.status} type ${type}`, `${where}: Content-Type ${type || '(none)'}, declared ${media.join(', ')}`); continue; }
    if (type !== 'application/json') continue;
    if (r.body === null) { fail(`${method} ${tpl} ${r.status} not json`, `${where}: the body is not JSON`); continue; }
    const key = `${tpl} ${method} ${r.status}`;
    const validate = validator(op ? key : 'error', schema);
    if (!validate(r.body)) {
      const errs = validate.errors.slice(0, 3).map((e) => `${e.instancePath || '/'} ${e.message}${e.params && e.params.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`).join('; ');
      fail(`${key} ${errs}`, `${where}: ${errs}`);
    }
  }
}
for (const { line, count } of failures.values()) console.log(`FAIL ${line}${count > 1 ? ` (${count} answers)` : ''}`);
if (checked === 0) {
  console.log(`FAIL no answers recorded in ${dir}`);
  failed++;
}
console.log(`${checked} answers checked (${files.length} programs, ${notModified} answered 304, ${preflights} OPTIONS), ${failed} mismatched`);
process.exit(failed === 0 ? 0 : 1);
