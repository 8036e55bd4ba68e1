/**
 * The OpenAPI 3.0.3 form of the gateway's 3.1 document, for the tools that know 3.0 only (Go's kin-openapi,
 * Perl's OpenAPI::Client, generators that call 3.1 beta). Made from the 3.1 document, which the route schemas
 * generate, so both always say the same thing.
 *
 * 3.1 schemas are JSON Schema 2020-12; 3.0 schemas are an older dialect. Each difference is rewritten into its 3.0
 * equivalent (null as `nullable`, `const` as a one-value enum, `examples` as `example`, numeric exclusive bounds as
 * booleans); annotations 3.0 lacks are dropped; a keyword that would change what is valid and has no 3.0 form makes
 * the conversion throw, so the 3.0 document never quietly says less than the 3.1 one.
 */

/** The OpenAPI version of the converted document. */
export const OPENAPI_30_VERSION = '3.0.3';

type Json = Record<string, unknown>;

// JSON Schema 2020-12 keywords that only annotate or identify: 3.0 does not know them and loses nothing without them.
const DROPPED = new Set(['$id', '$schema', '$comment', '$anchor', 'contentMediaType', 'contentEncoding']);

// Keywords that change what is valid and have no 3.0 form.
const UNCONVERTIBLE = new Set([
  'prefixItems',
  'if',
  'then',
  'else',
  'dependentSchemas',
  'dependentRequired',
  'unevaluatedProperties',
  'unevaluatedItems',
  'patternProperties',
  'propertyNames',
  'contains',
  'minContains',
  'maxContains',
  '$dynamicRef',
  '$defs',
]);

// Keywords whose value is one schema, or a list or map of schemas.
const SUBSCHEMA = new Set(['items', 'not', 'additionalProperties']);
const SUBSCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf']);
const SUBSCHEMA_MAPS = new Set(['properties']);

// What a 3.0 Schema Object may say beside `$ref` and still be read: nothing (3.0 ignores a $ref's siblings).
const REF = '$ref';

/** What a conversion needs to know about the document: the type of a referenced component. */
interface Context {
  typeOf(ref: string): unknown;
}

/** The 3.0.3 form of a 3.1 document. The input is left as it is. */
export function toOpenApi30(doc31: Json): Json {
  const doc = structuredClone(doc31);
  const ctx: Context = {
    typeOf: (ref) => {
      const name = /^#\/components\/schemas\/([^/]+)$/.exec(ref)?.[1];
      const target =
        name === undefined
          ? undefined
          : ((doc31['components'] as Json | undefined)?.['schemas'] as Json | undefined)?.[name];
      return (target as Json | undefined)?.['type'];
    },
  };
  for (const key of ['webhooks', 'jsonSchemaDialect']) {
    if (key in doc) throw new Error(`OpenAPI 3.0 has no ${key}`);
  }
  doc['openapi'] = OPENAPI_30_VERSION;
  const info = doc['info'] as Json;
  delete info['summary'];
  const license = info['license'] as Json | undefined;
  if (license !== undefined && typeof license['identifier'] === 'string') {
    // 3.0 names a license by URL: the SPDX page of the identifier.
    license['url'] ??= `https://spdx.org/licenses/${license['identifier']}.html`;
    delete license['identifier'];
  }

  const components = (doc['components'] ?? {}) as Json;
  if ('pathItems' in components) throw new Error('OpenAPI 3.0 has no components.pathItems');
  // mutualTLS is a 3.1 scheme: 3.0 cannot name it, so its requirements go and the document says so in words.
  const schemes = (components['securitySchemes'] ?? {}) as Record<string, Json>;
  const mtls = Object.keys(schemes).filter((name) => schemes[name]!['type'] === 'mutualTLS');
  for (const name of mtls) delete schemes[name];
  if (mtls.length > 0) {
    info['description'] =
      `${typeof info['description'] === 'string' ? info['description'] : ''}\n\nOpenAPI 3.0 cannot describe mutual TLS: where an operation accepts a ` +
      'bearer token it also accepts a client certificate when the gateway is started with `--tls-client-ca` ' +
      '(the OpenAPI 3.1 document, `/openapi.json`, names it as the `mutualTLS` scheme).';
  }
  const dropSchemes = (requirements: unknown) => {
    if (!Array.isArray(requirements)) return requirements;
    const kept = (requirements as Json[])
      .map((r) => Object.fromEntries(Object.entries(r).filter(([name]) => !mtls.includes(name))))
      // A requirement that named only mutualTLS is gone; the anonymous one ({}) was empty to begin with.
      .filter((r, i) => Object.keys(r).length > 0 || Object.keys((requirements as Json[])[i]!).length === 0);
    return kept;
  };
  if ('security' in doc) doc['security'] = dropSchemes(doc['security']);

  for (const [name, schema] of Object.entries((components['schemas'] ?? {}) as Json)) {
    (components['schemas'] as Json)[name] = convertSchema(schema, `#/components/schemas/${name}`, ctx);
  }
  for (const [name, body] of Object.entries((components['requestBodies'] ?? {}) as Record<string, Json>)) {
    convertContent(body['content'], `#/components/requestBodies/${name}`, ctx);
  }
  for (const [name, response] of Object.entries((components['responses'] ?? {}) as Record<string, Json>)) {
    convertResponse(response, `#/components/responses/${name}`, ctx);
  }
  for (const [path, item] of Object.entries((doc['paths'] ?? {}) as Record<string, Record<string, Json>>)) {
    convertParameters(item['parameters'], path, ctx);
    for (const [method, op] of Object.entries(item)) {
      if (method === 'parameters' || typeof op !== 'object' || op === null) continue;
      const where = `${method.toUpperCase()} ${path}`;
      if ('security' in op) op['security'] = dropSchemes(op['security']);
      convertParameters(op['parameters'], where, ctx);
      const body = op['requestBody'] as Json | undefined;
      if (body !== undefined) convertContent(body['content'], `${where} requestBody`, ctx);
      for (const [status, response] of Object.entries((op['responses'] ?? {}) as Record<string, Json>)) {
        convertResponse(response, `${where} ${status}`, ctx);
      }
    }
  }
  return doc;
}

function convertParameters(parameters: unknown, where: string, ctx: Context): void {
  if (!Array.isArray(parameters)) return;
  for (const parameter of parameters as Json[]) {
    if ('schema' in parameter)
      parameter['schema'] = convertSchema(parameter['schema'], `${where} ${String(parameter['name'])}`, ctx);
  }
}

function convertResponse(response: Json, where: string, ctx: Context): void {
  for (const [name, header] of Object.entries((response['headers'] ?? {}) as Record<string, Json>)) {
    if ('schema' in header) header['schema'] = convertSchema(header['schema'], `${where} header ${name}`, ctx);
  }
  convertContent(response['content'], where, ctx);
}

function convertContent(content: unknown, where: string, ctx: Context): void {
  for (const [type, media] of Object.entries((content ?? {}) as Record<string, Json>)) {
    if ('schema' in media) media['schema'] = convertSchema(media['schema'], `${where} ${type}`, ctx);
  }
}

/** One schema (and every schema in it) in its 3.0 form. */
function convertSchema(input: unknown, where: string, ctx: Context): Json {
  if (typeof input === 'boolean') {
    // `true` allows anything, `false` nothing: 3.0 has no boolean schemas.
    return input ? {} : { not: {} };
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new Error(`${where}: not a schema: ${JSON.stringify(input)}`);
  }
  let schema: Json = { ...(input as Json) };
  for (const key of Object.keys(schema)) {
    if (UNCONVERTIBLE.has(key)) throw new Error(`${where}: \`${key}\` has no OpenAPI 3.0 form`);
    if (DROPPED.has(key)) delete schema[key];
  }

  if ('const' in schema) {
    schema['enum'] = [schema['const']];
    delete schema['const'];
  }
  if (Array.isArray(schema['examples'])) {
    const [first] = schema['examples'] as unknown[];
    delete schema['examples'];
    if (first !== undefined && !('example' in schema)) schema['example'] = first;
  }
  for (const [bound, flag] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof schema[bound] === 'number') {
      schema[flag] = schema[bound];
      schema[bound] = true;
    }
  }

  // `type: [X, "null"]`: X, nullable. More than one other type: a choice of them (3.0's `type` is one word).
  if (Array.isArray(schema['type'])) {
    const types = schema['type'] as string[];
    const others = types.filter((t) => t !== 'null');
    if (others.length < types.length) schema['nullable'] = true;
    if (others.length === 1) schema['type'] = others[0];
    else {
      delete schema['type'];
      schema['anyOf'] = others.map((type) => ({ type }));
    }
  }
  if (schema['type'] === 'null') {
    // Only null: 3.0 needs some type to hang `nullable` on; an enum of null alone allows nothing else.
    schema = { ...schema, type: 'string', nullable: true, enum: [null] };
  }

  // anyOf/oneOf with a `{type: null}` member: the other members, nullable.
  for (const key of ['anyOf', 'oneOf'] as const) {
    const members = schema[key];
    if (!Array.isArray(members)) continue;
    const others = (members as unknown[]).filter((m) => !isNullSchema(m));
    if (others.length === members.length) continue;
    if (others.length === 0) throw new Error(`${where}: \`${key}\` of null only`);
    delete schema[key];
    schema = { ...schema, ...nullableOf(others, key, where, ctx) };
  }

  for (const [key, value] of Object.entries(schema)) {
    if (SUBSCHEMA.has(key) && typeof value === 'object' && value !== null) {
      schema[key] = convertSchema(value, `${where}/${key}`, ctx);
    } else if (key === 'items' && typeof value === 'boolean') {
      schema[key] = convertSchema(value, `${where}/${key}`, ctx);
    } else if (SUBSCHEMA_LISTS.has(key) && Array.isArray(value)) {
      schema[key] = value.map((member, i) => convertSchema(member, `${where}/${key}/${i}`, ctx));
    } else if (SUBSCHEMA_MAPS.has(key) && typeof value === 'object' && value !== null) {
      schema[key] = Object.fromEntries(
        Object.entries(value as Json).map(([name, member]) => [
          name,
          convertSchema(member, `${where}/${key}/${name}`, ctx),
        ]),
      );
    }
  }

  // 3.0 reads nothing beside $ref: keep what was said beside it by wrapping the reference.
  if (REF in schema && Object.keys(schema).length > 1) {
    const { [REF]: target, ...rest } = schema;
    schema = { ...rest, allOf: [{ [REF]: target }, ...((rest['allOf'] as Json[] | undefined) ?? [])] };
  }
  return schema;
}

/** The 3.0 schema for "one of `members`, or null" (the null member already removed). */
function nullableOf(members: unknown[], key: 'anyOf' | 'oneOf', where: string, ctx: Context): Json {
  // One-value string enums (TypeBox's literal unions) become one enum that also lists null.
  if (members.every(isStringLiteral)) {
    return { type: 'string', enum: [...members.map((m) => (m as { enum: [string] }).enum[0]), null], nullable: true };
  }
  if (members.length === 1) {
    const only = convertSchema(members[0], `${where}/${key}/0`, ctx);
    // A reference cannot carry `nullable` beside it in 3.0: wrap it, with the type `nullable` needs beside it.
    if (REF in only) {
      const type = ctx.typeOf(String(only[REF]));
      if (typeof type !== 'string')
        throw new Error(`${where}: nullable reference to ${String(only[REF])}, which has no single type`);
      return { type, nullable: true, allOf: [only] };
    }
    const out: Json = { ...only, nullable: true };
    // A nullable enum must list null to admit it (OpenAPI 3.0.3's clarification of `nullable`).
    if (Array.isArray(out['enum']) && !(out['enum'] as unknown[]).includes(null))
      out['enum'] = [...(out['enum'] as unknown[]), null];
    return out;
  }
  // Several members and null: 3.0 can say so only where they share one type.
  const converted = members.map((m, i) => convertSchema(m, `${where}/${key}/${i}`, ctx));
  const types = new Set(converted.map((m) => (REF in m ? ctx.typeOf(String(m[REF])) : m['type'])));
  const [type] = types;
  if (types.size !== 1 || typeof type !== 'string')
    throw new Error(`${where}: nullable ${key} of several types has no OpenAPI 3.0 form`);
  return { type, nullable: true, [key]: converted };
}

function isNullSchema(schema: unknown): boolean {
  if (!schema || typeof schema !== 'object') return false;
  const { type, description: _d, ...rest } = schema as Json;
  return type === 'null' && Object.keys(rest).length === 0;
}

function isStringLiteral(schema: unknown): boolean {
  if (!schema || typeof schema !== 'object') return false;
  const { type, enum: values, ...rest } = schema as Json;
  return type === 'string' && Array.isArray(values) && values.length === 1 && Object.keys(rest).length === 0;
}
