// Writes openapi/openapi.json from the route schemas (`npm run openapi`). The test in
// test/http/openapi.test.ts fails when the committed file differs from what this writes.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { OPENAPI_PATH, generateOpenApiDocument, serializeOpenApi } from '../src/http/openapi-document.js';

const target = fileURLToPath(new URL(`../${OPENAPI_PATH}`, import.meta.url));
await writeFile(target, serializeOpenApi(await generateOpenApiDocument()));
process.stdout.write(`wrote ${OPENAPI_PATH}\n`);
