import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ANONYMOUS, Authenticator, authorize, LOCAL_IDENTITY, type Identity } from '../../src/security/authenticate.js';
import { recordOrigins } from '../../src/security/connection-origin.js';
import { LocalToken } from '../../src/security/local-token.js';
import { prepareRuntimeDir } from '../../src/security/runtime-dir.js';
import { ClientRoles } from '../../src/security/client-certs.js';
import { AuthenticationError, ForbiddenError } from '../../src/security/errors.js';
import { parseTokensFile, tokenLine, TokenStore } from '../../src/security/tokens.js';

const tokens = TokenStore.fromEntries(
  parseTokensFile(
    [tokenLine('viewer', 'view-t', 'v'), tokenLine('operator', 'op-t', 'o'), tokenLine('admin', 'adm-t', 'a')].join(
      '\n',
    ),
  ),
);
const clientRoles = ClientRoles.fromMap(new Map([['ops', 'operator' as const]]));
// Sockets no listener of ours accepted: what the credential checks see when the gateway serves anyone.
const plain = { remoteAddress: '10.0.0.1' };
const verified = (cn: string): object => ({
  getPeerCertificate: () => ({ subject: { CN: cn }, fingerprint256: 'x' }),
  authorized: true,
});
const unverified = {
  getPeerCertificate: () => ({ subject: { CN: 'ops' } }),
  authorized: false,
  authorizationError: new Error('unable to verify the first certificate'),
};

const request = (authorization?: string, socket: object = plain) => ({
  headers: authorization === undefined ? {} : { authorization },
  socket,
});

/** The server side of a real connection accepted by a listener that records origins (TCP, or unix at `path`). */
async function accepted(path?: string): Promise<{ socket: Socket; close: () => void }> {
  const server = createServer();
  recordOrigins(server);
  await new Promise<void>((resolve) =>
    path === undefined ? server.listen(0, '127.0.0.1', resolve) : server.listen(path, resolve),
  );
  const address = server.address();
  const client = typeof address === 'string' ? connect(address) : connect((address as AddressInfo).port, '127.0.0.1');
  const [socket] = (await once(server, 'connection')) as [Socket];
  return {
    socket,
    close: () => {
      client.destroy();
      socket.destroy();
      server.close();
    },
  };
}

describe('Authenticator', () => {
  let dir: string;
  let tcp: Awaited<ReturnType<typeof accepted>>;
  let unix: Awaited<ReturnType<typeof accepted>>;
  let localToken: LocalToken;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'auth-'));
    tcp = await accepted();
    unix = await accepted(join(dir, 'http.sock'));
    localToken = LocalToken.generate(await prepareRuntimeDir(join(dir, 'run')));
    await localToken.write();
  });
  after(async () => {
    tcp?.close();
    unix?.close();
    await rm(dir, { recursive: true, force: true });
  });
  const token = async () => (await readFile(localToken.path, 'utf8')).trim();

  it('without credentials: the unix socket caller is the anonymous admin, a TCP caller needs the local token', async () => {
    const auth = new Authenticator({ localToken });
    assert.equal(auth.credentialsConfigured, false);
    assert.equal(auth.authenticate(request(undefined, unix.socket)), ANONYMOUS);
    assert.equal(ANONYMOUS.role, 'admin');
    assert.throws(() => auth.authenticate(request(undefined, tcp.socket)), {
      name: 'AuthenticationError',
      message:
        "Authentication required: no credentials are configured, so TCP callers send the gateway's local token " +
        `(Authorization: Bearer <the contents of ${localToken.path}>), or use its unix socket`,
    });
    assert.equal(auth.authenticate(request(`Bearer ${await token()}`, tcp.socket)), LOCAL_IDENTITY);
    assert.deepEqual(LOCAL_IDENTITY, { kind: 'token', name: 'local', role: 'admin' });
    // A header is judged alone, on the unix socket too.
    assert.throws(() => auth.authenticate(request('Bearer wrong', tcp.socket)), {
      message: 'The bearer token is not valid',
    });
    assert.throws(() => auth.authenticate(request('Bearer wrong', unix.socket)), {
      message: 'The bearer token is not valid',
    });
  });

  it('refuses TCP callers outright without credentials and without a local token', () => {
    assert.throws(() => new Authenticator().authenticate(request(undefined, tcp.socket)), {
      message:
        "Authentication required: no credentials are configured, so only callers on the gateway's unix socket are served",
    });
  });

  it("refuses a request whose connection none of the gateway's listeners accepted, whatever it carries", () => {
    for (const auth of [new Authenticator({ localToken }), new Authenticator({ tokens })]) {
      for (const socket of [plain, {}, { remoteAddress: undefined, remotePort: undefined }]) {
        assert.throws(() => auth.authenticate(request('Bearer adm-t', socket)), {
          name: 'AuthenticationError',
          message:
            "The caller of this request cannot be established: its connection was not accepted by one of the gateway's listeners",
        });
      }
    }
  });

  it('serves everybody as the anonymous admin with callers: anyone (--insecure) and nothing configured', async () => {
    const auth = new Authenticator({ callers: 'anyone' });
    assert.equal(auth.servesAnyone, true);
    for (const socket of [plain, tcp.socket, unix.socket])
      assert.equal(auth.authenticate(request(undefined, socket)), ANONYMOUS);
    assert.equal(auth.authenticate(request('Bearer whatever')), ANONYMOUS);
  });

  it('keeps a reset connection a TCP caller: the record, not the socket, says where it came from', async () => {
    const reset = await accepted();
    try {
      reset.socket.destroy();
      // What a socket reset before node first asked for its peer reports (the hole this closes): no address, no port.
      Object.defineProperties(reset.socket, { remoteAddress: { value: undefined }, remotePort: { value: undefined } });
      assert.throws(
        () => new Authenticator({ localToken }).authenticate(request(undefined, reset.socket)),
        /TCP callers send/,
      );
    } finally {
      reset.close();
    }
  });

  it('identifies bearer tokens (scheme case-insensitive)', () => {
    const auth = new Authenticator({ tokens });
    assert.equal(auth.credentialsConfigured, true);
    assert.deepEqual(auth.authenticate(request('Bearer view-t', tcp.socket)), {
      kind: 'token',
      name: 'v',
      role: 'viewer',
    });
    assert.deepEqual(auth.authenticate(request('bearer  adm-t', unix.socket)), {
      kind: 'token',
      name: 'a',
      role: 'admin',
    });
  });

  it('with credentials configured, the unix socket caller needs them too', () => {
    assert.throws(() => new Authenticator({ tokens }).authenticate(request(undefined, unix.socket)), {
      message: 'Authentication required: send a bearer token',
    });
  });

  it('refuses missing, malformed and unknown credentials with 401 and a Bearer challenge', () => {
    const auth = new Authenticator({ tokens });
    const cases: [string | undefined, string, string][] = [
      [undefined, 'Authentication required: send a bearer token', 'Bearer realm="libvirt-admin-gateway"'],
      ['Bearer nope', 'The bearer token is not valid', 'Bearer realm="libvirt-admin-gateway", error="invalid_token"'],
      [
        'Basic dXNlcjpwYXNz',
        'The Authorization header must be "Bearer <token>"',
        'Bearer realm="libvirt-admin-gateway", error="invalid_token"',
      ],
      [
        'Bearer',
        'The Authorization header must be "Bearer <token>"',
        'Bearer realm="libvirt-admin-gateway", error="invalid_token"',
      ],
      [
        'Bearer a b',
        'The Authorization header must be "Bearer <token>"',
        'Bearer realm="libvirt-admin-gateway", error="invalid_token"',
      ],
    ];
    for (const [header, message, challenge] of cases) {
      assert.throws(
        () => auth.authenticate(request(header, tcp.socket)),
        (err: unknown) =>
          err instanceof AuthenticationError &&
          err.statusCode === 401 &&
          err.message === message &&
          err.headers['www-authenticate'] === challenge,
      );
    }
  });

  // Certificates are read from fake TLS sockets, which no listener accepted: these authenticators serve anyone.
  it('identifies verified client certificates; an unlisted CN has no role', () => {
    const auth = new Authenticator({ tokens, clientRoles, callers: 'anyone' });
    assert.deepEqual(auth.authenticate(request(undefined, verified('ops'))), {
      kind: 'certificate',
      name: 'ops',
      role: 'operator',
    });
    assert.deepEqual(auth.authenticate(request(undefined, verified('stranger'))), {
      kind: 'certificate',
      name: 'stranger',
      role: null,
    });
  });

  it('refuses an unverified certificate with the reason', () => {
    const auth = new Authenticator({ clientRoles, callers: 'anyone' });
    assert.throws(() => auth.authenticate(request(undefined, unverified)), {
      name: 'AuthenticationError',
      message: 'The client certificate was not accepted: unable to verify the first certificate',
    });
    assert.throws(() => auth.authenticate(request()), {
      message: 'Authentication required: send a client certificate',
    });
  });

  it('judges a request with an Authorization header by the header alone', () => {
    const auth = new Authenticator({ tokens, clientRoles, callers: 'anyone' });
    assert.equal(auth.authenticate(request('Bearer view-t', verified('ops'))).role, 'viewer');
    assert.throws(() => auth.authenticate(request('Bearer bad', verified('ops'))), AuthenticationError);
    assert.throws(() => auth.authenticate(request()), {
      message: 'Authentication required: send a bearer token or a client certificate',
    });
  });

  it('ignores client certificates when no client CA is configured', () => {
    const auth = new Authenticator({ tokens, callers: 'anyone' });
    assert.throws(() => auth.authenticate(request(undefined, verified('ops'))), AuthenticationError);
  });
});

describe('authorize', () => {
  const viewer: Identity = { kind: 'token', name: 'v', role: 'viewer' };
  const operator: Identity = { kind: 'certificate', name: 'ops', role: 'operator' };
  const admin: Identity = { kind: 'token', name: 'a', role: 'admin' };

  it('allows a role and every role above it', () => {
    for (const identity of [viewer, operator, admin]) authorize(identity, 'viewer');
    for (const identity of [operator, admin]) authorize(identity, 'operator');
    authorize(admin, 'admin');
  });

  it('refuses a role too low with 403, saying what is needed', () => {
    assert.throws(
      () => authorize(viewer, 'operator'),
      (err: unknown) =>
        err instanceof ForbiddenError &&
        err.statusCode === 403 &&
        err.message === "This operation needs the operator role; the token 'v' has the viewer role",
    );
    assert.throws(() => authorize(operator, 'admin'), {
      message: "This operation needs the admin role; the certificate 'ops' has the operator role",
    });
  });

  it('refuses a certificate without a role, even for reading', () => {
    assert.throws(() => authorize({ kind: 'certificate', name: 'x', role: null }, 'viewer'), {
      name: 'ForbiddenError',
      message:
        "This operation needs the viewer role; the certificate 'x' has no role (it is not listed in the client roles file)",
    });
  });
});
