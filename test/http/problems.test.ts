import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { daemonOverloaded, daemonUnavailable, UnknownDaemonError } from '../../src/gateway/errors.js';
import {
  HttpProblemCode,
  isProblemCode,
  PROBLEMS,
  ProblemError,
  problemCodeOf,
  toProblem,
} from '../../src/http/problems.js';
import {
  CallTimeoutError,
  ConnectError,
  ConnectionClosedError,
  ErrorCode,
  InvalidArgumentError,
  LibvirtError,
  ProtocolError,
  UnsupportedProcedureError,
  type LibvirtErrorDetails,
} from '../../src/rpc/errors.js';
import { resourceBusy } from '../../src/http/keyed-lock.js';
import { PreconditionFailedError } from '../../src/http/if-match.js';
import { PolicyErrorCode, PolicyRefusedError } from '../../src/resources/change-policy.js';
import {
  AuthenticationError,
  crossSiteRequestError,
  ForbiddenError,
  hostNotAllowedError,
  LogOutputRefusedError,
  notJsonChangeError,
  rateLimitedError,
  SecurityErrorCode,
  TooManyAuthFailuresError,
} from '../../src/security/errors.js';

function details(code: number, domain = 7): LibvirtErrorDetails {
  return { code, domain, level: 2, str1: null, str2: null, str3: null, int1: -1, int2: -1 };
}

describe('the error table', () => {
  const cases: Array<[string, unknown, number, string]> = [
    [
      'unknown server (95)',
      new LibvirtError("Server not found: No server named 'x'", details(95)),
      404,
      'ERR_UNKNOWN_SERVER',
    ],
    ['unknown client (96)', new LibvirtError('Client not found: x', details(96, 62)), 404, 'ERR_UNKNOWN_CLIENT'],
    ['invalid argument (8)', new LibvirtError('invalid argument: x', details(8, 0)), 400, 'ERR_INVALID_ARGUMENT'],
    [
      'argument unsupported (74)',
      new LibvirtError('argument unsupported: x', details(74, 0)),
      400,
      'ERR_INVALID_ARGUMENT',
    ],
    ['any other libvirt error', new LibvirtError('internal error: x', details(1)), 502, 'ERR_LIBVIRT'],
    [
      'unknown procedure',
      new UnsupportedProcedureError('P', 'unknown procedure: 20', details(39)),
      501,
      'ERR_UNSUPPORTED_PROCEDURE',
    ],
    ['local invalid argument', new InvalidArgumentError('bad'), 400, 'ERR_INVALID_ARGUMENT'],
    ['daemon unavailable', daemonUnavailable('d', 'down', 2500), 503, 'ERR_DAEMON_UNAVAILABLE'],
    ['connect failed', new ConnectError('refused'), 503, 'ERR_CONNECT'],
    ['connection closed', new ConnectionClosedError('eof'), 503, 'ERR_CONNECTION_CLOSED'],
    ['call timeout', new CallTimeoutError('slow'), 504, 'ERR_CALL_TIMEOUT'],
    ['protocol violation', new ProtocolError('bad frame'), 502, 'ERR_PROTOCOL'],
    ['unknown daemon', new UnknownDaemonError('x', ['a']), 404, 'ERR_UNKNOWN_DAEMON'],
    ['route problem', new ProblemError(HttpProblemCode.INVALID_CURSOR, 'bad cursor'), 400, 'ERR_INVALID_CURSOR'],
    [
      'fastify: bad JSON',
      Object.assign(new Error('x'), { code: 'FST_ERR_CTP_INVALID_JSON_BODY', statusCode: 400 }),
      400,
      'ERR_MALFORMED_BODY',
    ],
    [
      'fastify: media type',
      Object.assign(new Error('x'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }),
      415,
      'ERR_UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'fastify: too large',
      Object.assign(new Error('x'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }),
      413,
      'ERR_PAYLOAD_TOO_LARGE',
    ],
    [
      'fastify: any other 4xx',
      Object.assign(new Error('x'), { code: 'FST_ERR_SOMETHING', statusCode: 431 }),
      431,
      'ERR_BAD_REQUEST',
    ],
    ['a bug of ours', new TypeError('undefined is not a function'), 500, 'ERR_INTERNAL'],
    ['a thrown string', 'oops', 500, 'ERR_INTERNAL'],
  ];
  for (const [what, err, status, code] of cases) {
    it(`${what} -> ${status} ${code}`, () => {
      assert.equal(problemCodeOf(err), code);
      const { problem } = toProblem(err, '/x');
      assert.equal(problem.status, status);
      assert.equal(problem.code, code);
      assert.equal(problem.instance, '/x');
      assert.equal(
        problem.type,
        `urn:libvirt-admin-gateway:problem:${code.slice(4).toLowerCase().replaceAll('_', '-')}`,
      );
    });
  }

  it("keeps libvirt's code, domain and message, also from a wrapped cause", () => {
    const cause = new LibvirtError('failed to open /x: No such file or directory', details(38, 0));
    const { problem } = toProblem(
      new ProblemError(ErrorCode.INVALID_ARGUMENT, cause.message, { cause }),
      '/daemon/logging',
    );
    assert.equal(problem.status, 400);
    assert.deepEqual(problem.libvirt, { code: 38, domain: 0, message: 'failed to open /x: No such file or directory' });
  });

  it("shows the daemon's own words for an unknown procedure", () => {
    const err = new UnsupportedProcedureError('CONNECT_DAEMON_SHUTDOWN', 'unknown procedure: 20', {
      ...details(39),
      str1: '%s',
      str2: 'unknown procedure: 20',
    });
    assert.deepEqual(toProblem(err, '/').problem.libvirt, { code: 39, domain: 7, message: 'unknown procedure: 20' });
  });

  it('has no libvirt member for local errors', () => {
    assert.equal(toProblem(new ConnectError('x'), '/').problem.libvirt, undefined);
  });

  it('sends Retry-After with every 503, in whole seconds, at least 1', () => {
    assert.equal(toProblem(daemonUnavailable('d', 'x', 2500), '/').headers['retry-after'], '3');
    assert.equal(toProblem(daemonUnavailable('d', 'x', 0), '/').headers['retry-after'], '1');
    assert.equal(toProblem(new ConnectionClosedError('x'), '/').headers['retry-after'], '1');
    assert.equal(toProblem(new CallTimeoutError('x'), '/').headers['retry-after'], undefined);
  });

  it('hides the details of a fault of ours and marks it for the log', () => {
    const reply = toProblem(new Error('secret internals at /srv/x.ts:12'), '/');
    assert.equal(reply.internal, true);
    assert.doesNotMatch(reply.problem.detail, /secret/);
  });

  it('lists schema violations', () => {
    const err = Object.assign(new Error('body/minWorkers Expected integer'), {
      code: 'FST_ERR_VALIDATION',
      statusCode: 400,
      validation: [{ instancePath: '/minWorkers', message: 'Expected integer' }],
      validationContext: 'body',
    });
    assert.deepEqual(toProblem(err, '/').problem.errors, [{ path: '/body/minWorkers', message: 'Expected integer' }]);
  });

  it('gives every code a 4xx or 5xx status and a title', () => {
    for (const [code, { status, title }] of Object.entries(PROBLEMS)) {
      assert.ok(status >= 400 && status < 600, code);
      assert.ok(title.length > 0, code);
    }
  });

  it('puts each family in its own status range: client 4xx, daemon 501/502, gateway 500/503/504', () => {
    const ranges = {
      client: (s: number) => s >= 400 && s < 500,
      daemon: (s: number) => s === 501 || s === 502,
      gateway: (s: number) => [500, 503, 504].includes(s),
    };
    for (const [code, { status, family }] of Object.entries(PROBLEMS))
      assert.ok(ranges[family](status), `${code} ${family} ${status}`);
  });

  it("answers each layer's typed error with its own code, and a status that agrees with the error's own", () => {
    const raised: Array<Error & { code: string; statusCode?: number }> = [
      new AuthenticationError('who?'),
      new ForbiddenError('no', 'admin', 'viewer'),
      new LogOutputRefusedError('no', '1:file:/etc/x'),
      new TooManyAuthFailuresError(3),
      crossSiteRequestError(),
      notJsonChangeError('text/plain'),
      hostNotAllowedError('evil.example'),
      rateLimitedError('1 minute'),
      new PolicyRefusedError(PolicyErrorCode.ABOVE_CEILING, 'too many'),
      new PolicyRefusedError(PolicyErrorCode.WOULD_LOCK_OUT, 'lock-out'),
      new PreconditionFailedError('"x"'),
      resourceBusy('threadpool'),
      daemonOverloaded('d', 'full', 100),
    ];
    for (const err of raised) {
      assert.equal(problemCodeOf(err), err.code, err.name);
      if (err.statusCode !== undefined) assert.equal(toProblem(err, '/x').problem.status, err.statusCode, err.name);
    }
    for (const code of Object.values(SecurityErrorCode)) {
      // The start-up errors never reach a client: they are not problems.
      assert.equal(
        isProblemCode(code),
        code !== SecurityErrorCode.UNSAFE_LISTEN && code !== SecurityErrorCode.TOKENS_FILE,
        code,
      );
    }
    assert.equal(isProblemCode(ErrorCode.INVALID_URI), false);
    assert.equal(isProblemCode('toString'), false, 'only own entries count');
  });
});
