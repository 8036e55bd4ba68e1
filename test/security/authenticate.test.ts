import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ANONYMOUS, Authenticator, authorize, type Identity } from '../../src/security/authenticate.js';
import { ClientRoles } from '../../src/security/client-certs.js';
import { AuthenticationError, ForbiddenError } from '../../src/security/roles.js';
import { parseTokensFile, tokenLine, TokenStore } from '../../src/security/tokens.js';

const tokens = TokenStore.fromEntries(
  parseTokensFile([tokenLine('viewer', 'view-t', 'v'), tokenLine('operator', 'op-t', 'o'), tokenLine('admin', 'adm-t', 'a')].join('\n')),
);
const clientRoles = ClientRoles.fromMap(new Map([['ops', 'operator' as const]]));
const plain = { remoteAddress: '10.0.0.1' };
const verified = (cn: string): object => ({ getPeerCertificate: () => ({ subject: { CN: cn }, fingerprint256: 'x' }), authorized: true });
const unverified = { getPeerCertificate: () => ({ subject: { CN: 'ops' } }), authorized: false, authorizationError: new Error('unable to verify the first certificate') };

const request = (authorization?: string, socket: object = plain) => ({
  headers: authorization === undefined ? {} : { authorization },
  socket,
});

describe('Authenticator', () => {
  it('lets everybody in as anonymous admin when nothing is configured', () => {
    const auth = new Authenticator();
    assert.equal(auth.enabled, false);
    assert.equal(auth.authenticate(request()), ANONYMOUS);
    assert.equal(auth.authenticate(request('Bearer whatever')), ANONYMOUS);
    assert.equal(ANONYMOUS.role, 'admin');
  });

  it('identifies bearer tokens (scheme case-insensitive)', () => {
    const auth = new Authenticator({ tokens });
    assert.deepEqual(auth.authenticate(request('Bearer view-t')), { kind: 'token', name: 'v', role: 'viewer' });
    assert.deepEqual(auth.authenticate(request('bearer  adm-t')), { kind: 'token', name: 'a', role: 'admin' });
  });

  it('refuses missing, malformed and unknown credentials with 401 and a Bearer challenge', () => {
    const auth = new Authenticator({ tokens });
    const cases: [string | undefined, string, string][] = [
      [undefined, 'Authentication required: send a bearer token', 'Bearer realm="libvirt-admin-gateway"'],
      ['Bearer nope', 'The bearer token is not valid', 'Bearer realm="libvirt-admin-gateway", error="invalid_token"'],
      ['Basic dXNlcjpwYXNz', 'The Authorization header must be "Bearer <token>"', 'Bearer realm="libvirt-admin-gateway", error="invalid_token"'],
      ['Bearer', 'The Authorization header must be "Bearer <token>"', 'Bearer realm="libvirt-admin-gateway", error="invalid_token"'],
      ['Bearer a b', 'The Authorization header must be "Bearer <token>"', 'Bearer realm="libvirt-admin-gateway", error="invalid_token"'],
    ];
    for (const [header, message, challenge] of cases) {
      assert.throws(
        () => auth.authenticate(request(header)),
        (err: unknown) =>
          err instanceof AuthenticationError &&
          err.statusCode === 401 &&
          err.message === message &&
          err.headers['www-authenticate'] === challenge,
      );
    }
  });

  it('identifies verified client certificates; an unlisted CN has no role', () => {
    const auth = new Authenticator({ tokens, clientRoles });
    assert.deepEqual(auth.authenticate(request(undefined, verified('ops'))), { kind: 'certificate', name: 'ops', role: 'operator' });
    assert.deepEqual(auth.authenticate(request(undefined, verified('stranger'))), { kind: 'certificate', name: 'stranger', role: null });
  });

  it('refuses an unverified certificate with the reason', () => {
    const auth = new Authenticator({ clientRoles });
    assert.throws(() => auth.authenticate(request(undefined, unverified)), {
      name: 'AuthenticationError',
      message: 'The client certificate was not accepted: unable to verify the first certificate',
    });
    assert.throws(() => auth.authenticate(request()), { message: 'Authentication required: send a client certificate' });
  });

  it('judges a request with an Authorization header by the header alone', () => {
    const auth = new Authenticator({ tokens, clientRoles });
    assert.equal(auth.authenticate(request('Bearer view-t', verified('ops'))).role, 'viewer');
    assert.throws(() => auth.authenticate(request('Bearer bad', verified('ops'))), AuthenticationError);
    assert.throws(() => auth.authenticate(request()), { message: 'Authentication required: send a bearer token or a client certificate' });
  });

  it('ignores client certificates when no client CA is configured', () => {
    const auth = new Authenticator({ tokens });
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
      message: "This operation needs the viewer role; the certificate 'x' has no role (it is not listed in the client roles file)",
    });
  });
});
