import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TypedParam } from '../../src/admin/types.js';
import { DaemonError } from '../../src/daemon/errors.js';
import {
  cString,
  checkFieldNames,
  uintParam,
  validateTypedParams,
  type ParamSchema,
} from '../../src/daemon/typed-params.js';

const SCHEMA: ParamSchema = [
  ['minWorkers', 2],
  ['maxWorkers', 2],
  ['prioWorkers', 2],
];
const u = (field: string, value = 1): TypedParam => ({ field, type: 2, value });

function failure(fn: () => void): { code: number; domain: number; message: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DaemonError, String(err));
    return { code: err.payload.code, domain: err.payload.domain, message: err.message };
  }
  assert.fail('expected an error');
}

describe('typed parameter checks (virtypedparam.c)', () => {
  test('accepts known names of the right type, in any order, and nothing at all', () => {
    validateTypedParams([], SCHEMA);
    validateTypedParams([u('prioWorkers'), u('maxWorkers'), u('minWorkers')], SCHEMA);
  });

  test('unknown and read-only names: 74/0 "not supported"', () => {
    assert.deepEqual(
      failure(() => validateTypedParams([u('nWorkers')], SCHEMA)),
      {
        code: 74,
        domain: 0,
        message: "argument unsupported: parameter 'nWorkers' not supported",
      },
    );
  });

  test('wrong type: 8/0 naming both types', () => {
    const p: TypedParam = { field: 'maxWorkers', type: 3, value: 1n };
    assert.deepEqual(
      failure(() => validateTypedParams([p], SCHEMA)),
      {
        code: 8,
        domain: 0,
        message: "invalid argument: invalid type 'llong' for parameter 'maxWorkers', expected 'uint'",
      },
    );
    const names = ['int', 'uint', 'llong', 'ullong', 'double', 'boolean', 'string'];
    const values: TypedParam[] = [
      { field: 'minWorkers', type: 1, value: 1 },
      { field: 'minWorkers', type: 4, value: 1n },
      { field: 'minWorkers', type: 5, value: 1.5 },
      { field: 'minWorkers', type: 6, value: true },
      { field: 'minWorkers', type: 7, value: 's' },
    ];
    for (const v of values)
      assert.match(failure(() => validateTypedParams([v], SCHEMA)).message, new RegExp(`'${names[v.type - 1]}'`));
  });

  test('duplicates: 8/0 "occurs multiple times"', () => {
    assert.equal(
      failure(() => validateTypedParams([u('minWorkers'), u('maxWorkers'), u('minWorkers')], SCHEMA)).message,
      "invalid argument: parameter 'minWorkers' occurs multiple times",
    );
  });

  test('several problems: the first met in name order (strcmp) wins, as in libvirt', () => {
    // 'aaa' sorts first: the walk runs off the end of the schema looking for it.
    assert.match(
      failure(() => validateTypedParams([{ field: 'minWorkers', type: 1, value: 1 }, u('aaa')], SCHEMA)).message,
      /'aaa' not supported/,
    );
    // 'maxWorkers' sorts before 'zzz': its type error is found first.
    assert.match(
      failure(() => validateTypedParams([u('zzz'), { field: 'maxWorkers', type: 7, value: 'x' }], SCHEMA)).message,
      /invalid type 'string'/,
    );
    // Upper case sorts before lower case in strcmp.
    assert.match(
      failure(() => validateTypedParams([u('minWorkers', 1), u('Zed')], SCHEMA)).message,
      /'Zed' not supported/,
    );
  });

  test('field names must fit 80 bytes with their NUL: 1/0 "too big for destination"', () => {
    checkFieldNames([u('x'.repeat(79))]);
    assert.deepEqual(
      failure(() => checkFieldNames([u('x'.repeat(80))])),
      {
        code: 1,
        domain: 0,
        message: `internal error: parameter ${'x'.repeat(80)} too big for destination`,
      },
    );
    // Bytes, not characters.
    assert.throws(() => checkFieldNames([u('é'.repeat(40))]));
  });

  test('names end at their first NUL, as C strings do', () => {
    assert.equal(cString('admin\0junk'), 'admin');
    validateTypedParams([u('minWorkers\0tail')], SCHEMA);
    assert.equal(uintParam([u('maxWorkers\0x', 7)], 'maxWorkers'), 7);
    assert.equal(uintParam([u('maxWorkers', 7)], 'minWorkers'), undefined);
  });
});
