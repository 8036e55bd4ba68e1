import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';

/**
 * A typed `$ref` to a shared schema (one registered with addSchema): the OpenAPI document gets a component
 * instead of a copy, and the route keeps the static type. Used in responses only: request schemas stay
 * inline, because the TypeBox validator compiles each route schema on its own.
 */
export function ref<T extends TSchema>(schema: T): TUnsafe<Static<T>> {
  if (!schema.$id) throw new Error('ref() needs a schema with an $id');
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id));
}
