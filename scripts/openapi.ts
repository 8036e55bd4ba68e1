// Writes openapi/openapi.json (OpenAPI 3.1) and openapi/openapi-3.0.json (its 3.0.3 form) from the route schemas
// (`npm run openapi`). test/http/openapi.test.ts and openapi-30.test.ts fail when a committed file differs from
// what this writes.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { toOpenApi30 } from '../src/http/openapi-30.js';
import {
  OPENAPI_30_PATH,
  OPENAPI_PATH,
  generateOpenApiDocument,
  serializeOpenApi,
} from '../src/http/openapi-document.js';

const doc = await generateOpenApiDocument();
for (const [path, content] of [
  [OPENAPI_PATH, doc],
  [OPENAPI_30_PATH, toOpenApi30(doc)],
] as const) {
  await writeFile(fileURLToPath(new URL(`../${path}`, import.meta.url)), serializeOpenApi(content));
  process.stdout.write(`wrote ${path}\n`);
}
