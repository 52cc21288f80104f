// node examples.mjs DOCUMENT: every example of an OpenAPI 3.1 document validates against the
// schema beside it (ajv, JSON Schema 2020-12, formats): request body examples, parameter
// examples, and the examples inside schemas. The document's examples come from the route table's
// field specs (server/api/openapi.c), so a wrong one there fails here. Prints one line per bad
// example and a count; exits 1 when one is bad or there is none at all.
import fs from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const file = process.argv[2];
if (!file) {
  console.error('usage: node examples.mjs DOCUMENT');
  process.exit(2);
}
const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: 'openapi', components: doc.components }, 'openapi');
const rebase = (schema) =>
  JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/'));

let checked = 0, bad = 0;
function check(where, schema, example) {
  checked++;
  const validate = ajv.compile(rebase(schema));
  if (!validate(example)) {
    bad++;
    console.log(`FAIL ${where}: ${ajv.errorsText(validate.errors)}: ${JSON.stringify(example)}`);
  }
}
function resolve(obj) {
  while (obj && obj.$ref) obj = obj.$ref.replace(/^#\//, '').split('/').reduce((o, p) => o?.[p], doc);
  return obj;
}

for (const [path, item] of Object.entries(doc.paths)) {
  for (const [method, op] of Object.entries(item)) {
    for (const p of op.parameters ?? []) {
      const param = resolve(p);
      if (param.example !== undefined) check(`${method} ${path} ${param.name}`, param.schema, param.example);
    }
    for (const [type, media] of Object.entries(op.requestBody?.content ?? {}))
      if (media.example !== undefined) check(`${method} ${path} body (${type})`, media.schema, media.example);
  }
}
for (const [name, schema] of Object.entries(doc.components?.schemas ?? {}))
  if (schema.example !== undefined) check(`schema ${name}`, schema, schema.example);

console.log(`examples: ${checked} checked, ${bad} bad`);
process.exit(bad > 0 || checked === 0 ? 1 : 0);
