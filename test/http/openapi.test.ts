// openapi/openapi.json: generated from the route schemas, committed, valid OpenAPI 3.1 that lints clean, and
// complete (operationIds, summaries, tags, examples that match their schemas, every error documented).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { OPENAPI_PATH, generateOpenApiDocument, serializeOpenApi } from '../../src/http/openapi-document.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;

interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  parameters?: Array<{ name: string; in: string; description?: string; schema: unknown; example?: unknown }>;
  requestBody?: { $ref?: string; content: Record<string, { schema: unknown; example?: unknown }> };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: unknown; example?: unknown }> }>;
}
type Doc = {
  openapi: string;
  tags: Array<{ name: string }>;
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, { examples?: unknown[] }>;
    requestBodies: Record<string, NonNullable<Operation['requestBody']>>;
    responses: Record<string, { content: Record<string, { schema: unknown; example: unknown }> }>;
  };
};

/** An operation's request body, its reference resolved. */
function bodyOf(doc: Doc, op: Operation): Operation['requestBody'] {
  const ref = op.requestBody?.$ref;
  return ref === undefined ? op.requestBody : doc.components.requestBodies[ref.split('/').pop()!];
}

function operations(doc: Doc): Array<[string, string, Operation]> {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m): [string, string, Operation] => [path, m, item[m]!]),
  );
}

describe('openapi/openapi.json', () => {
  let committed: string;
  let doc: Doc;
  before(async () => {
    committed = await readFile(new URL(`../../${OPENAPI_PATH}`, import.meta.url), 'utf8');
    doc = JSON.parse(committed) as Doc;
  });

  it('is what the routes generate (run `npm run openapi` after changing a route)', async () => {
    assert.equal(committed, serializeOpenApi(await generateOpenApiDocument()));
  });

  it('is OpenAPI 3.1', () => {
    assert.equal(doc.openapi, '3.1.0');
  });

  it('lints clean with @redocly/cli (no errors, no warnings)', async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        'node_modules/.bin/redocly',
        ['lint', OPENAPI_PATH, '--config', 'redocly.yaml', '--format', 'json'],
        {
          cwd: ROOT,
          env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
          timeout: 120_000,
        },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
      );
    });
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { totals: { errors: number; warnings: number } };
    assert.deepEqual(report.totals, { ...report.totals, errors: 0, warnings: 0 }, stdout);
  });

  it('gives every operation a unique operationId, a summary, known tags and a 2xx response', () => {
    const ids = new Set<string>();
    const tags = new Set(doc.tags.map((t) => t.name));
    for (const [path, method, op] of operations(doc)) {
      const where = `${method.toUpperCase()} ${path}`;
      assert.ok(op.operationId && !ids.has(op.operationId), `${where}: operationId`);
      ids.add(op.operationId);
      assert.ok(op.summary, `${where}: summary`);
      assert.ok(op.tags?.length && op.tags.every((t) => tags.has(t)), `${where}: tags`);
      assert.ok(
        Object.keys(op.responses).some((s) => /^2\d\d$/.test(s)),
        `${where}: 2xx`,
      );
    }
  });

  it('has every resource of the default daemon also under /daemons/{daemon}, with the same methods', () => {
    const own = [
      '/',
      '/healthz',
      '/readyz',
      '/metrics',
      '/events',
      '/openapi.json',
      '/openapi.yaml',
      '/openapi-3.0.json',
      '/openapi-3.0.yaml',
      '/daemons',
    ];
    const unprefixed = Object.keys(doc.paths).filter((p) => !p.startsWith('/daemons/') && !own.includes(p));
    assert.ok(unprefixed.includes('/daemon') && unprefixed.includes('/servers/{server}/clients/{id}'));
    for (const path of unprefixed) {
      const scoped =
        path === '/daemon'
          ? '/daemons/{daemon}'
          : path.replace(/^\/daemon(?=\/)/, '/daemons/{daemon}').replace(/^\/servers/, '/daemons/{daemon}/servers');
      assert.ok(doc.paths[scoped], `${path} -> ${scoped}`);
      assert.deepEqual(Object.keys(doc.paths[scoped]).sort(), Object.keys(doc.paths[path]!).sort(), path);
    }
  });

  it('documents every error as a shared problem+json response, with the statuses each operation can give', () => {
    for (const [path, method, op] of operations(doc)) {
      const where = `${method.toUpperCase()} ${path}`;
      const errors = Object.entries(op.responses).filter(([s]) => Number(s) >= 400);
      assert.ok(errors.length > 0, where);
      for (const [status, response] of errors) {
        const shared = /^#\/components\/responses\/\w+$/.test(response.$ref ?? '');
        assert.ok(shared || response.content?.['application/problem+json'], `${where} ${status}: problem+json`);
      }
      const statuses = new Set(errors.map(([s]) => s));
      assert.ok(statuses.has('500'), `${where}: 500`);
      const hasInput = (op.parameters?.length ?? 0) > 0 || op.requestBody;
      if (hasInput) assert.ok(statuses.has('400'), `${where}: 400`);
      if (op.requestBody) assert.ok(statuses.has('415') && statuses.has('413'), `${where}: 413/415`);
      if (path.startsWith('/daemons/{daemon}')) assert.ok(statuses.has('404'), `${where}: 404 for an unknown daemon`);
      const callsDaemon = (path.startsWith('/daemon') && path !== '/daemons') || path.startsWith('/servers');
      if (callsDaemon) for (const s of ['502', '503', '504']) assert.ok(statuses.has(s), `${where}: ${s}`);
    }
    for (const [name, response] of Object.entries(doc.components.responses)) {
      assert.ok(response.content['application/problem+json'], name);
    }
  });

  it('has examples, and every example matches its schema', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema({ ...doc, $id: 'openapi.json' });
    let n = 0;
    const check = (schema: unknown, example: unknown, where: string) => {
      const validate = ajv.compile({ $id: `check-${++n}`, $ref: refOf(schema) } as object);
      assert.ok(validate(example), `${where}: ${JSON.stringify(validate.errors)}`);
    };
    // Inline schemas (request bodies) have no references of their own.
    const refOf = (schema: unknown) => {
      const ref = (schema as { $ref?: string }).$ref;
      if (ref) return `openapi.json${ref}`;
      const id = `inline-${++n}`;
      ajv.addSchema({ ...(schema as object), $id: id });
      return id;
    };
    let checked = 0;
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      for (const [i, example] of (schema.examples ?? []).entries()) {
        check({ $ref: `#/components/schemas/${name}` }, example, `${name}[${i}]`);
        checked += 1;
      }
    }
    for (const [name, response] of Object.entries(doc.components.responses)) {
      const media = response.content['application/problem+json']!;
      assert.ok(media.example, `${name} has an example`);
      check(media.schema, media.example, name);
      checked += 1;
    }
    for (const [path, method, op] of operations(doc)) {
      const media = bodyOf(doc, op)?.content['application/json'];
      if (media) {
        assert.ok(media.example !== undefined, `${method} ${path}: request example`);
        check(media.schema, media.example, `${method} ${path} body`);
        checked += 1;
      }
      const ok = Object.entries(op.responses).find(([s]) => s === '200')?.[1];
      const schema = ok?.content?.['application/json']?.schema as { $ref?: string } | undefined;
      if (schema?.$ref) {
        const component = doc.components.schemas[schema.$ref.split('/').pop()!]!;
        assert.ok(component.examples?.length, `${method} ${path}: response example (${schema.$ref})`);
      }
    }
    assert.ok(checked > 20, `${checked} examples checked`);
  });

  it('names the libvirt parameter behind every field that has one', () => {
    const fields: Record<string, string[]> = {
      Threadpool: ['minWorkers', 'maxWorkers', 'prioWorkers', 'currentWorkers', 'freeWorkers', 'jobQueueDepth'],
      ClientLimits: ['maxClients', 'maxUnauthClients', 'currentClients', 'currentUnauthClients'],
      ClientIdentity: [
        'readonly',
        'unixUserId',
        'unixUserName',
        'unixGroupId',
        'unixGroupName',
        'processId',
        'saslUserName',
        'x509DistinguishedName',
        'socketAddress',
        'selinuxContext',
      ],
    };
    for (const [schema, names] of Object.entries(fields)) {
      const props = (doc.components.schemas[schema] as { properties: Record<string, { description?: string }> })
        .properties;
      for (const name of names)
        assert.match(props[name]?.description ?? '', /libvirt typed parameter `\w+`/, `${schema}.${name}`);
    }
  });
});
