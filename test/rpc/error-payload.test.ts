import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorPayloadCodec, type ErrorPayload } from '../../src/rpc/error-payload.js';
import {
  CallAbortedError,
  CallTimeoutError,
  ConnectError,
  ConnectionClosedError,
  ErrorCode,
  InvalidArgumentError,
  LibvirtError,
  LocalError,
  ProtocolError,
  UnsupportedProcedureError,
} from '../../src/rpc/errors.js';
import { XdrError, XdrReader, XdrWriter } from '../../src/xdr/index.js';
import { i32, optStr, padded, str, u32 } from '../helpers/bytes.js';
import { V5 } from '../helpers/vectors.js';

const decode = (b: Buffer) => errorPayloadCodec.decode(new XdrReader(b));
const encode = (e: ErrorPayload) => {
  const w = new XdrWriter();
  errorPayloadCodec.encode(w, e);
  return Buffer.from(w.toBuffer());
};

/** The error libvirtd 9.0.0 sent in V5. */
const NO_SERVER: ErrorPayload = {
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
};

// A flag error as §2.1 describes it, written by hand: no prefix, str1 = function, str2 = "flags", ints 0.
const FLAG_ERROR_BYTES = Buffer.concat([
  i32(8),
  i32(62),
  optStr('unsupported flags (0x1) in function adminConnectListServers'),
  i32(2),
  u32(0),
  optStr('adminConnectListServers'),
  optStr('flags'),
  optStr(null),
  i32(0),
  i32(0),
  u32(0),
]);

describe('virNetMessageError codec', () => {
  it('decodes the captured "Server not found" error payload field by field', () => {
    assert.deepEqual(decode(V5.reply.subarray(28)), NO_SERVER);
  });

  it('encodes it back to the captured bytes (the embedded daemon sends the same)', () => {
    assert.deepEqual(encode(NO_SERVER), V5.reply.subarray(28));
  });

  it('decodes a flag error', () => {
    const e = decode(FLAG_ERROR_BYTES);
    assert.equal(e.code, 8);
    assert.equal(e.domain, 62);
    assert.equal(e.message, 'unsupported flags (0x1) in function adminConnectListServers');
    assert.equal(e.str1, 'adminConnectListServers');
    assert.equal(e.str2, 'flags');
    assert.equal(e.str3, null);
    assert.deepEqual([e.int1, e.int2], [0, 0]);
    assert.deepEqual(encode(e), FLAG_ERROR_BYTES);
  });

  it('decodes a NULL message and non-null dom and net objects', () => {
    const uuid = Buffer.from([...Array(16).keys()]);
    const bytes = Buffer.concat([
      i32(1),
      i32(0),
      optStr(null),
      i32(1),
      u32(1),
      str('vm1'),
      padded(uuid),
      i32(7),
      optStr(null),
      optStr(null),
      optStr('x'),
      i32(-1),
      i32(-1),
      u32(1),
      str('net0'),
      padded(uuid),
    ]);
    const e = decode(bytes);
    assert.equal(e.message, null);
    assert.equal(e.level, 1);
    assert.deepEqual(e.dom, { name: 'vm1', uuid, id: 7 });
    assert.equal(e.str3, 'x');
    assert.deepEqual(e.net, { name: 'net0', uuid });
    assert.deepEqual(encode(e), bytes);
  });

  it('fails on a truncated payload at every length', () => {
    const full = V5.reply.subarray(28);
    for (let n = 0; n < full.length; n++) assert.throws(() => decode(full.subarray(0, n)), XdrError, `length ${n}`);
  });
});

describe('error classes', () => {
  it("LibvirtError keeps libvirt's code, domain, message and details", () => {
    const e = new LibvirtError(NO_SERVER.message, NO_SERVER);
    assert.ok(e instanceof Error);
    assert.equal(e.code, ErrorCode.LIBVIRT);
    assert.equal(e.libvirtCode, 95);
    assert.equal(e.libvirtDomain, 7);
    assert.equal(e.message, "Server not found: No server named 'nosuch'");
    assert.equal(e.details.str2, "No server named 'nosuch'");
    assert.equal(e.name, 'LibvirtError');
  });

  it('shows a NULL message as "Unknown error", as libvirt\'s client does', () => {
    assert.equal(new LibvirtError(null, NO_SERVER).message, 'Unknown error');
  });

  it('UnsupportedProcedureError is a LibvirtError with its own code and the procedure name', () => {
    const e = new UnsupportedProcedureError('CONNECT_DAEMON_SHUTDOWN', 'unknown procedure: 20', {
      ...NO_SERVER,
      code: 39,
      domain: 7,
    });
    assert.ok(e instanceof LibvirtError);
    assert.equal(e.code, ErrorCode.UNSUPPORTED);
    assert.equal(e.procedure, 'CONNECT_DAEMON_SHUTDOWN');
    assert.equal(e.libvirtCode, 39);
    assert.match(e.message, /CONNECT_DAEMON_SHUTDOWN is unsupported by this daemon \(unknown procedure: 20\)/);
  });

  it('every local error has a stable code and is a LocalError', () => {
    const cases: [LocalError, string][] = [
      [new ConnectError('x'), 'ERR_CONNECT'],
      [new ConnectionClosedError('x'), 'ERR_CONNECTION_CLOSED'],
      [new CallTimeoutError('x'), 'ERR_CALL_TIMEOUT'],
      [new CallAbortedError('x'), 'ERR_CALL_ABORTED'],
      [new ProtocolError('x'), 'ERR_PROTOCOL'],
      [new InvalidArgumentError('x'), 'ERR_INVALID_ARGUMENT'],
      [new InvalidArgumentError('x', ErrorCode.INVALID_URI), 'ERR_INVALID_URI'],
    ];
    for (const [err, code] of cases) {
      assert.ok(err instanceof LocalError);
      assert.ok(!(err instanceof LibvirtError));
      assert.equal(err.code, code);
    }
  });
});
