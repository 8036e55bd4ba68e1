import { XdrError, type Codec, type XdrReader, type XdrWriter } from '../xdr/index.js';
import { AdminLimits, TypedParamType } from './constants.js';
import type { ClientRef, ServerRef, TypedParam } from './types.js';

/** XDR codecs of the admin program's shared types (admin_protocol.x). */

const STR = AdminLimits.STRING_MAX;

/** admin_nonnull_string / admin_string: strings bounded by ADMIN_STRING_MAX. */
export const adminString: Codec<string> = {
  encode: (w, s) => void w.string(s, STR),
  decode: (r) => r.string(STR),
};

/** admin_string (a nullable string). */
export const optionalAdminString: Codec<string | null> = {
  encode: (w, s) => void w.optional(s, (x, v) => x.string(v, STR)),
  decode: (r) => r.optional((x) => x.string(STR)),
};

/** admin_nonnull_server. */
export const serverCodec: Codec<ServerRef> = {
  encode: (w, s) => void w.string(s.name, STR),
  decode: (r) => ({ name: r.string(STR) }),
};

/** admin_nonnull_client. */
export const clientCodec: Codec<ClientRef> = {
  encode(w, c) {
    serverCodec.encode(w, c.server);
    w.uhyper(c.id).hyper(c.timestamp).uint(c.transport);
  },
  decode: (r) => ({ server: serverCodec.decode(r), id: r.uhyper(), timestamp: r.hyper(), transport: r.uint() }),
};

function writeTypedParam(w: XdrWriter, p: TypedParam): void {
  w.string(p.field, STR).int(p.type);
  switch (p.type) {
    case TypedParamType.INT:
      w.int(p.value);
      break;
    case TypedParamType.UINT:
      w.uint(p.value);
      break;
    case TypedParamType.LLONG:
      w.hyper(p.value);
      break;
    case TypedParamType.ULLONG:
      w.uhyper(p.value);
      break;
    case TypedParamType.DOUBLE:
      w.double(p.value);
      break;
    case TypedParamType.BOOLEAN:
      w.int(p.value ? 1 : 0);
      break;
    case TypedParamType.STRING:
      w.string(p.value, STR);
      break;
  }
}

// The value is a discriminated union (admin_typed_param_value); an unknown discriminant cannot be skipped,
// because its size is unknown, so it fails the whole payload as libvirtd does.
function readTypedParam(r: XdrReader): TypedParam {
  const field = r.string(STR);
  const type = r.int();
  switch (type) {
    case TypedParamType.INT:
      return { field, type, value: r.int() };
    case TypedParamType.UINT:
      return { field, type, value: r.uint() };
    case TypedParamType.LLONG:
      return { field, type, value: r.hyper() };
    case TypedParamType.ULLONG:
      return { field, type, value: r.uhyper() };
    case TypedParamType.DOUBLE:
      return { field, type, value: r.double() };
    case TypedParamType.BOOLEAN:
      // libvirt sends booleans as an int; any non-zero value is true.
      return { field, type, value: r.int() !== 0 };
    case TypedParamType.STRING:
      return { field, type, value: r.string(STR) };
    default:
      throw new XdrError(`unknown typed parameter type ${type} for '${field}'`);
  }
}

/** admin_typed_param<max>: an array of typed parameters with the given bound. */
export function typedParamsCodec(max: number): Codec<TypedParam[]> {
  return {
    encode: (w, ps) => void w.array(ps, max, writeTypedParam),
    decode: (r) => r.array(max, readTypedParam),
  };
}

/** A struct codec from an ordered list of [key, codec] pairs: the order is the wire order. */
export function struct<T extends object>(fields: { [K in keyof T]: readonly [K, Codec<T[K]>] }[keyof T][]): Codec<T> {
  return {
    encode(w, value) {
      for (const [key, codec] of fields) codec.encode(w, value[key]);
    },
    decode(r) {
      const out = {} as T;
      for (const [key, codec] of fields) out[key] = codec.decode(r);
      return out;
    },
  };
}

/** u32 */
export const uint: Codec<number> = { encode: (w, v) => void w.uint(v), decode: (r) => r.uint() };
/** u64 */
export const uhyper: Codec<bigint> = { encode: (w, v) => void w.uhyper(v), decode: (r) => r.uhyper() };
/** XDR bool encoded as u32 as libvirt's `int need_results` expects. */
export const needResults: Codec<boolean> = { encode: (w, v) => void w.uint(v ? 1 : 0), decode: (r) => r.uint() !== 0 };

/** A variable-length array of one codec's values, with the XDR `<max>` bound. */
export function arrayOf<T>(max: number, item: Codec<T>): Codec<T[]> {
  return {
    encode: (w, items) => void w.array(items, max, item.encode),
    decode: (r) => r.array(max, item.decode),
  };
}
