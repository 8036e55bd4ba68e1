import { AdminLimits, TypedParamType } from '../admin/constants.js';
import type { TypedParam } from '../admin/types.js';
import { VirErrorDomain, VirErrorNumber, virError } from './errors.js';

/**
 * Checks of incoming typed parameters, in the two steps libvirtd runs them (src/util/virtypedparam.c):
 * virTypedParamsDeserialize copies each field name into a fixed 80-byte array when the RPC arrives (before the
 * flags check), and virTypedParamsValidate checks names, types and duplicates afterwards.
 */

/** One accepted parameter: its name and the only type allowed for it. */
export type ParamSchema = readonly (readonly [name: string, type: TypedParamType])[];

/** virTypedParameterType names, used in "invalid type" errors (index = type number). */
const TYPE_NAMES = ['', 'int', 'uint', 'llong', 'ullong', 'double', 'boolean', 'string'] as const;

/**
 * libvirt is C: a name read from XDR ends at its first NUL byte. Every name the daemon compares or prints goes
 * through this, so `"admin\0junk"` finds the server `admin`, as it does in libvirtd.
 */
export function cString(s: string): string {
  const nul = s.indexOf('\0');
  return nul < 0 ? s : s.slice(0, nul);
}

/** virTypedParamsDeserialize: a field name must fit VIR_TYPED_PARAM_FIELD_LENGTH with its NUL. */
export function checkFieldNames(params: readonly TypedParam[]): void {
  for (const p of params) {
    const name = cString(p.field);
    if (Buffer.byteLength(name, 'utf8') >= AdminLimits.TYPED_PARAM_FIELD_LENGTH) {
      throw virError(VirErrorNumber.INTERNAL_ERROR, VirErrorDomain.NONE, `parameter ${name} too big for destination`);
    }
  }
}

// strcmp order: bytes, not UTF-16 code units.
function byName(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * virTypedParamsValidate: both the parameters and the schema are sorted by name and walked together, so which
 * error is reported when several apply depends on that order, exactly as in libvirt: a duplicate or a wrong type
 * is found while walking, an unknown name once the schema runs out. Sorting is stable (glibc's qsort is a merge
 * sort for arrays this small), so of two duplicates the one sent first is checked first.
 */
export function validateTypedParams(params: readonly TypedParam[], schema: ParamSchema): void {
  const sorted = params
    .map((p) => ({ field: cString(p.field), type: p.type }))
    .sort((a, b) => byName(a.field, b.field));
  const keys = [...schema].sort((a, b) => byName(a[0], b[0]));
  let i = 0;
  let j = 0;
  while (i < sorted.length && j < keys.length) {
    const param = sorted[i]!;
    const [key, type] = keys[j]!;
    if (param.field !== key) {
      j++;
      continue;
    }
    if (i > 0 && sorted[i - 1]!.field === param.field) {
      throw virError(
        VirErrorNumber.INVALID_ARG,
        VirErrorDomain.NONE,
        `parameter '${param.field}' occurs multiple times`,
      );
    }
    if (param.type !== type) {
      throw virError(
        VirErrorNumber.INVALID_ARG,
        VirErrorDomain.NONE,
        `invalid type '${TYPE_NAMES[param.type]}' for parameter '${param.field}', expected '${TYPE_NAMES[type]}'`,
      );
    }
    i++;
  }
  if (i < sorted.length) {
    throw virError(
      VirErrorNumber.ARGUMENT_UNSUPPORTED,
      VirErrorDomain.NONE,
      `parameter '${sorted[i]!.field}' not supported`,
    );
  }
}

/** virTypedParamsGet + value.ui: the first parameter of that name, as an unsigned int, or undefined. */
export function uintParam(params: readonly TypedParam[], name: string): number | undefined {
  const p = params.find((x) => cString(x.field) === name);
  return p && p.type === TypedParamType.UINT ? p.value : undefined;
}
