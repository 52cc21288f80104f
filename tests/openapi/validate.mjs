// node validate.mjs DOCUMENT: @apidevtools/swagger-parser's validation of an OpenAPI document
// (the OpenAPI 3.1 schema, then every $ref resolved). Prints "ok" or the error, exits 0 or 1.
import SwaggerParser from '@apidevtools/swagger-parser';

const file = process.argv[2];
if (!file) {
  console.error('usage: node validate.mjs DOCUMENT');
  process.exit(2);
}
try {
  const api = await SwaggerParser.validate(file);
  console.log(`ok ${api.info.title} ${api.info.version}: ${Object.keys(api.paths).length} paths`);
} catch (err) {
  console.error(`FAIL swagger-parser: ${err.message}`);
  process.exit(1);
}
