import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

/**
 * Request validation with TypeBox's compiler. Bodies are checked as sent (JSON has types: "5" is not 5).
 * Path and query parameters arrive as strings and are converted first, strictly: only a whole decimal becomes
 * an integer, only `true`/`false` a boolean. (TypeBox's own Value.Convert would read "1.5" as the client 1.)
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = TypeCompiler.Compile(schema);
  return (value: unknown) => {
    const converted = httpPart === 'body' ? value : convertParameters(schema, value);
    if (check.Check(converted)) return { value: converted };
    // Fastify turns these into its validation error ("querystring/limit Expected integer").
    const error = [...check.Errors(converted)].map((e) => ({ message: e.message, instancePath: e.path }));
    return { error } as never;
  };
};

const INTEGER = /^-?(0|[1-9][0-9]*)$/;
const NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$/;

/** Convert the string members of a flat parameter object to the types its schema asks for, where exact. */
function convertParameters(schema: TSchema, value: unknown): unknown {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties;
  if (!properties || !value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [key, raw] of Object.entries(out)) {
    const type = properties[key]?.type;
    if (typeof raw !== 'string') continue;
    if (type === 'integer' && INTEGER.test(raw)) out[key] = Number(raw);
    else if (type === 'number' && NUMBER.test(raw)) out[key] = Number(raw);
    else if (type === 'boolean' && (raw === 'true' || raw === 'false')) out[key] = raw === 'true';
    // A repeatable parameter given once (`?type=a`) arrives as a string, given twice as an array.
    else if (type === 'array') out[key] = [raw];
  }
  return out;
}
