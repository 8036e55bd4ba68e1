import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { auditResult, auditSource, createAuditLog, type AuditRecord } from '../../src/security/audit.js';

function capture(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

const base: AuditRecord = {
  phase: 'outcome',
  action: 'threadpool.update',
  method: 'PATCH',
  url: '/servers/libvirtd/threadpool',
  requestId: 'req-1',
  actor: { kind: 'token', name: 'ci', role: 'operator' },
  source: { transport: 'tls', address: '10.0.0.7' },
  daemon: 'libvirtd',
  server: 'libvirtd',
  old: { minWorkers: 5 },
  new: { minWorkers: 6 },
  result: 'success',
  statusCode: 200,
};

describe('audit log', () => {
  it('writes one structured record per change on a child logger named audit', () => {
    const { lines, stream } = capture();
    const audit = createAuditLog(pino({ base: null, timestamp: false }, stream));
    audit.record(base);
    assert.equal(lines.length, 1);
    assert.deepEqual(lines[0], {
      level: 30,
      name: 'audit',
      audit: true,
      ...JSON.parse(JSON.stringify(base)),
      msg: "audit: threadpool.update by token 'ci': success",
    });
  });

  it('logs refusals and failures at warn, including unauthenticated callers', () => {
    const { lines, stream } = capture();
    const audit = createAuditLog(pino({ base: null, timestamp: false }, stream));
    audit.record({
      ...base,
      actor: null,
      result: 'refused',
      statusCode: 401,
      reason: 'Authentication required',
      old: undefined,
    });
    audit.record({
      ...base,
      result: 'failure',
      statusCode: 400,
      reason: 'invalid argument: minWorkers cannot be larger than maxWorkers',
    });
    assert.deepEqual(
      lines.map((line) => [line['level'], line['msg'], line['statusCode']]),
      [
        [40, 'audit: threadpool.update by unauthenticated caller: refused', 401],
        [40, "audit: threadpool.update by token 'ci': failure", 400],
      ],
    );
    assert.equal(lines[0]?.['actor'], null);
  });

  it('classifies statuses and sources', () => {
    assert.deepEqual([200, 204, 400, 401, 403, 404, 429, 503].map(auditResult), [
      'success',
      'success',
      'failure',
      'refused',
      'refused',
      'failure',
      'refused',
      'failure',
    ]);
    const tcp = { remoteAddress: '127.0.0.1', remotePort: 40000, localAddress: '127.0.0.1', localPort: 8080 };
    assert.deepEqual(auditSource({ transport: 'tcp', ...tcp }), { transport: 'tcp', address: '127.0.0.1' });
    assert.deepEqual(auditSource({ transport: 'tls', ...tcp, remoteAddress: '::1' }), {
      transport: 'tls',
      address: '::1',
    });
    assert.deepEqual(auditSource({ transport: 'unix', path: '/run/x/http.sock' }), { transport: 'unix' });
    // A request no listener accepted (inject) is not mistaken for a unix-socket caller.
    assert.deepEqual(auditSource(undefined), { transport: 'in-process' });
  });
});
