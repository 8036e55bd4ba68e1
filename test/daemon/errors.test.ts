import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkFlags, flagsError, strerror, systemError, unsetError, virError } from '../../src/daemon/errors.js';

// The expected payloads are the ones captured from libvirtd 9.0.0 (reference §2 and test/daemon/wire-parity).
describe('daemon errors in virNetMessageError form', () => {
  test('a normal error: message = prefix + detail, str1 the template, str2 the detail, int1/int2 -1', () => {
    assert.deepEqual(virError(95, 7, "No server named 'nosuch'").payload, {
      code: 95,
      domain: 7,
      message: "Server not found: No server named 'nosuch'",
      level: 2,
      dom: null,
      str1: 'Server not found: %s',
      str2: "No server named 'nosuch'",
      str3: null,
      int1: -1,
      int2: -1,
      net: null,
    });
    assert.equal(virError(39, 7, 'unknown procedure: 20').payload.str1, '%s');
    assert.equal(
      virError(96, 62, "no client with matching id '5' found").message,
      "Client not found: no client with matching id '5' found",
    );
    assert.equal(virError(74, 0, 'x').message, 'argument unsupported: x');
    assert.equal(virError(1, 7, 'x').message, 'internal error: x');
  });

  test('claiming 11.3.0: positional templates in str1 for prefixed errors only; the message is unchanged', () => {
    // Captured from libvirtd 11.3.0 (test/contract/libvirt-versions.test.ts pins them against the real daemon).
    const notFound = virError(95, 7, "No server named 'nosuch'");
    assert.deepEqual(notFound.wirePayload('positional'), { ...notFound.payload, str1: 'Server not found: %1$s' });
    assert.deepEqual(notFound.wirePayload('plain'), notFound.payload);
    for (const [code, str1] of [
      [1, 'internal error: %1$s'],
      [8, 'invalid argument: %1$s'],
      [74, 'argument unsupported: %1$s'],
      [96, 'Client not found: %1$s'],
    ] as const) {
      assert.equal(virError(code, 0, 'x').wirePayload('positional').str1, str1);
    }
    // RPC and system errors, flag errors and the unset error keep theirs.
    assert.equal(virError(39, 7, 'Unable to decode message payload').wirePayload('positional').str1, '%s');
    const sys = systemError(Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' }), 'failed to open /x');
    assert.deepEqual(sys.wirePayload('positional'), sys.payload);
    assert.equal(
      flagsError('adminConnectDaemonShutdown', 2).wirePayload('positional').str1,
      'adminConnectDaemonShutdown',
    );
    assert.deepEqual(unsetError().wirePayload('positional'), unsetError().payload);
  });

  test('a flag error: no prefix, the function in str1, "flags" in str2, zeros', () => {
    assert.deepEqual(flagsError('adminConnectGetLoggingOutputs', 3).payload, {
      code: 8,
      domain: 62,
      message: 'unsupported flags (0x3) in function adminConnectGetLoggingOutputs',
      level: 2,
      dom: null,
      str1: 'adminConnectGetLoggingOutputs',
      str2: 'flags',
      str3: null,
      int1: 0,
      int2: 0,
      net: null,
    });
    assert.equal(flagsError('f', 0xffffffff).message, 'unsupported flags (0xffffffff) in function f');
    checkFlags('f', 0);
    checkFlags('f', 1, 1);
    assert.throws(() => checkFlags('f', 3, 1), /0x3/);
  });

  test('a system error: glibc strerror text, errno in int1', () => {
    const enoent = Object.assign(new Error('ENOENT: no such file or directory, open'), { code: 'ENOENT', errno: -2 });
    assert.deepEqual(systemError(enoent, 'failed to open /x').payload, {
      code: 38,
      domain: 0,
      message: 'failed to open /x: No such file or directory',
      level: 2,
      dom: null,
      str1: '%s',
      str2: 'failed to open /x: No such file or directory',
      str3: null,
      int1: 2,
      int2: -1,
      net: null,
    });
    const eisdir = Object.assign(new Error('EISDIR: illegal operation on a directory'), { code: 'EISDIR' });
    assert.equal(systemError(eisdir, 'x').payload.int1, 21);
    assert.equal(
      strerror(Object.assign(new Error('EWEIRD: something odd happened, open'), { code: 'EWEIRD' })),
      'Something odd happened',
    );
  });

  test('a failure that set no error', () => {
    const p = unsetError().payload;
    assert.deepEqual(
      [p.code, p.domain, p.message, p.str1, p.int1, p.int2],
      [1, 7, 'Library function returned error but did not set virError', null, 0, 0],
    );
  });
});
