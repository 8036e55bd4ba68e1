// openapi/openapi-3.0.json: the 3.0.3 form of the 3.1 document, generated, committed, valid OpenAPI 3.0 (redocly's
// 3.0 rules), and saying the same as the 3.1 one; and the contract's promises that both documents keep (responses
// open for additions, error codes extensible, named request bodies and events, every auth mode).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { toOpenApi30 } from '../../src/http/openapi-30.js';
import {
  OPENAPI_30_PATH,
  OPENAPI_PATH,
  generateOpenApi30Document,
  serializeOpenApi,
} from '../../src/http/openapi-document.js';
import { PROBLEM_CODES } from '../../src/http/problems.js';
import { EVENT_TYPES } from '../../src/monitoring/events.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const METHODS = ['get', 'put', 'post', 'patch', 'delete'];
type Json = Record<string, unknown>;

async function lint(
  path: string,
): Promise<{ code: number; out: string; totals: { errors: number; warnings: number } }> {
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      'node_modules/.bin/redocly',
      ['lint', path, '--config', 'redocly.yaml', '--format', 'json'],
      {
        cwd: ROOT,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
        timeout: 120_000,
      },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
  const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { totals: { errors: number; warnings: number } };
  return { code, out: `${stdout}\n${stderr}`, totals: report.totals };
}

/** Every schema object in a document, with where it is. */
function* schemasOf(node: unknown, where: string): Generator<[string, Json]> {
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) yield* schemasOf(item, `${where}/${i}`);
  } else if (node && typeof node === 'object') {
    const obj = node as Json;
    if ('type' in obj || 'properties' in obj || '$ref' in obj || 'anyOf' in obj || 'oneOf' in obj) yield [where, obj];
    for (const [key, value] of Object.entries(obj)) yield* schemasOf(value, `${where}/${key}`);
  }
}

describe('openapi/openapi-3.0.json', () => {
  let committed: string;
  let doc: Json;
  let doc31: Json;
  before(async () => {
    committed = await readFile(new URL(`../../${OPENAPI_30_PATH}`, import.meta.url), 'utf8');
    doc = JSON.parse(committed) as Json;
    doc31 = JSON.parse(await readFile(new URL(`../../${OPENAPI_PATH}`, import.meta.url), 'utf8')) as Json;
  });

  it('is what the routes generate (run `npm run openapi` after changing a route)', async () => {
    assert.equal(committed, serializeOpenApi(await generateOpenApi30Document()));
  });

  it('is OpenAPI 3.0.3 that lints clean with redocly (its 3.0 rules: no errors, no warnings)', async () => {
    assert.equal(doc['openapi'], '3.0.3');
    const { code, out, totals } = await lint(OPENAPI_30_PATH);
    assert.equal(code, 0, out);
    assert.deepEqual(totals, { ...totals, errors: 0, warnings: 0 }, out);
  });

  it('keeps no JSON Schema 2020-12 construct: no null type, type lists, const, examples lists, bare nullable', () => {
    for (const [where, schema] of schemasOf(doc['components'], '#/components')) {
      assert.ok(
        !Array.isArray(schema['type']) && schema['type'] !== 'null',
        `${where}: type ${JSON.stringify(schema['type'])}`,
      );
      assert.ok(!('const' in schema) && !('$id' in schema), where);
      if ('nullable' in schema) assert.equal(typeof schema['type'], 'string', `${where}: nullable needs a type`);
      if ('$ref' in schema) assert.deepEqual(Object.keys(schema), ['$ref'], `${where}: nothing beside $ref`);
    }
    assert.ok(!JSON.stringify(doc).includes('"examples":['), 'schema examples are `example` in 3.0');
  });

  it('has the same operations, statuses and components as the 3.1 document', () => {
    const shape = (d: Json) =>
      Object.entries(d['paths'] as Record<string, Record<string, { operationId: string; responses: Json }>>).flatMap(
        ([path, item]) =>
          METHODS.filter((m) => item[m]).map(
            (m) => `${m} ${path} ${item[m]!.operationId} ${Object.keys(item[m]!.responses).join(',')}`,
          ),
      );
    assert.deepEqual(shape(doc), shape(doc31));
    const components = (d: Json) =>
      Object.fromEntries(Object.entries(d['components'] as Record<string, Json>).map(([k, v]) => [k, Object.keys(v)]));
    const expected = components(doc31);
    expected['securitySchemes'] = (expected['securitySchemes'] as string[]).filter((s) => s !== 'mutualTLS');
    assert.deepEqual(components(doc), expected);
    assert.match(String((doc['info'] as Json)['description']), /OpenAPI 3\.0 cannot describe mutual TLS/);
  });

  it('writes null as nullable, keeps references, and keeps the anonymous alternative', () => {
    const schemas = (doc['components'] as { schemas: Record<string, { properties: Record<string, Json> }> }).schemas;
    assert.deepEqual(schemas['ClientList']!.properties['nextCursor'], {
      type: 'string',
      nullable: true,
      description: 'Pass as `cursor` to get the next page; null on the last page.',
    });
    assert.deepEqual(schemas['Caller']!.properties['role']!['enum'], ['viewer', 'operator', 'admin', null]);
    assert.deepEqual(schemas['ThreadpoolChangedEvent']!.properties['previous'], {
      description: 'Null when the gateway had not seen them before.',
      type: 'object',
      nullable: true,
      allOf: [{ $ref: '#/components/schemas/ThreadpoolSettings' }],
    });
    const op = (doc['paths'] as Record<string, Record<string, { security: unknown }>>)['/servers']!['get']!;
    assert.deepEqual(op.security, [{ bearerAuth: [] }, {}]);
  });
});

describe('the conversion to 3.0', () => {
  const wrap = (schema: Json) => ({
    openapi: '3.1.0',
    info: { title: 't', version: '1' },
    paths: {},
    components: { schemas: { S: schema } },
  });
  const converted = (schema: Json) =>
    (toOpenApi30(wrap(schema)) as { components: { schemas: { S: Json } } }).components.schemas.S;

  it('rewrites each 3.1 form into its 3.0 equivalent', () => {
    assert.deepEqual(converted({ type: ['integer', 'null'] }), { type: 'integer', nullable: true });
    assert.deepEqual(converted({ const: 'x' }), { enum: ['x'] });
    assert.deepEqual(converted({ type: 'string', examples: ['a', 'b'] }), { type: 'string', example: 'a' });
    assert.deepEqual(converted({ type: 'number', exclusiveMinimum: 0 }), {
      type: 'number',
      minimum: 0,
      exclusiveMinimum: true,
    });
    assert.deepEqual(converted({ $id: 'S', type: 'string', contentMediaType: 'text/plain' }), { type: 'string' });
    assert.deepEqual(converted({ type: 'object', properties: { a: { $ref: '#/x', description: 'd' } } }), {
      type: 'object',
      properties: { a: { description: 'd', allOf: [{ $ref: '#/x' }] } },
    });
  });

  it('refuses what 3.0 cannot say, instead of saying less', () => {
    assert.throws(() => converted({ type: 'array', prefixItems: [{ type: 'string' }] }), /prefixItems/);
    assert.throws(() => converted({ type: 'object', patternProperties: { '^x': {} } }), /patternProperties/);
    assert.throws(
      () => converted({ anyOf: [{ type: 'string' }, { type: 'integer' }, { type: 'null' }] }),
      /several types/,
    );
    assert.throws(() => toOpenApi30({ ...wrap({}), webhooks: {} }), /webhooks/);
  });

  it('leaves its input as it was', () => {
    const input = wrap({ type: ['string', 'null'] });
    const before = JSON.stringify(input);
    toOpenApi30(input);
    assert.equal(JSON.stringify(input), before);
  });
});

describe('the contract both documents keep', () => {
  let docs: Array<[string, Json]>;
  before(async () => {
    docs = await Promise.all(
      [OPENAPI_PATH, OPENAPI_30_PATH].map(async (p): Promise<[string, Json]> => [
        p,
        JSON.parse(await readFile(new URL(`../../${p}`, import.meta.url), 'utf8')) as Json,
      ]),
    );
  });

  it('has responses open for additions: no additionalProperties: false in any response or shared schema but the request bodies', () => {
    for (const [name, doc] of docs) {
      const { paths, components } = doc as {
        paths: Record<string, Record<string, { requestBody?: unknown; responses: unknown }>>;
        components: Json;
      };
      const requestSchemas = new Set(Object.keys(components['requestBodies'] as Json).map((n) => `${n}Request`));
      for (const [schemaName, schema] of Object.entries(components['schemas'] as Json)) {
        const closed = JSON.stringify(schema).includes('"additionalProperties":false');
        assert.equal(closed, requestSchemas.has(schemaName), `${name} ${schemaName}: closed only if a request body`);
      }
      for (const [path, item] of Object.entries(paths)) {
        for (const [method, op] of Object.entries(item)) {
          assert.ok(
            !JSON.stringify(op.responses).includes('"additionalProperties":false'),
            `${name} ${method} ${path}`,
          );
          if (op.requestBody)
            assert.match(
              JSON.stringify(op.requestBody),
              /^\{"\$ref":"#\/components\/requestBodies\/\w+"\}$/,
              `${name} ${method} ${path}`,
            );
        }
      }
      assert.equal(Object.keys(components['requestBodies'] as Json).length, 6, name);
    }
  });

  it('documents the error code as an open string listing every known code', () => {
    for (const [name, doc] of docs) {
      const code = ((doc['components'] as Json)['schemas'] as Record<string, { properties: Record<string, Json> }>)[
        'Problem'
      ]!.properties['code']!;
      assert.equal(code['type'], 'string', name);
      assert.ok(!('enum' in code), name);
      assert.deepEqual(code['x-extensible-enum'], PROBLEM_CODES, name);
      for (const c of PROBLEM_CODES) assert.ok(String(code['description']).includes(`\`${c}\``), `${name}: ${c}`);
    }
  });

  it('names a schema for every event type, and documents the stream with them', () => {
    for (const [name, doc] of docs) {
      const schemas = (doc['components'] as Json)['schemas'] as Record<string, Json>;
      const mapping = (schemas['Event']!['discriminator'] as { mapping: Record<string, string> }).mapping;
      assert.deepEqual(Object.keys(mapping), EVENT_TYPES, name);
      for (const [type, ref] of Object.entries(mapping)) {
        const schema = schemas[ref.split('/').pop()!] as { properties: { type: { enum: string[] } } };
        assert.deepEqual(schema.properties.type.enum, [type], `${name} ${type}`);
      }
      const ok = (
        (doc['paths'] as Json)['/events'] as {
          get: { responses: { 200: { description: string; content: Record<string, { schema: Json }> } } };
        }
      ).get.responses[200];
      assert.deepEqual(ok.content['text/event-stream']!.schema['anyOf'], [
        { $ref: '#/components/schemas/Event' },
        { $ref: '#/components/schemas/ResyncNotice' },
      ]);
      for (const type of EVENT_TYPES) assert.ok(ok.description.includes(`\`${type}\``), `${name}: ${type} described`);
    }
  });

  it('names a server variable, and describes every authentication mode', () => {
    for (const [name, doc] of docs) {
      assert.deepEqual(
        (doc['servers'] as Json[]).map((s) => [s['url'], Object.keys(s['variables'] as Json)]),
        [['{scheme}://{host}', ['scheme', 'host']]],
        name,
      );
      const description = String((doc['info'] as Json)['description']);
      for (const mode of [
        'no credentials configured',
        '--tokens-file',
        '--tls-client-ca',
        '--insecure',
        'local-token',
      ]) {
        assert.ok(description.includes(mode), `${name}: ${mode}`);
      }
    }
  });
});
