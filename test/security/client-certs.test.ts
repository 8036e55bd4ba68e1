import assert from 'node:assert/strict';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ClientRoles, parseClientRolesFile, peerCertificateStatus } from '../../src/security/client-certs.js';
import { CredentialReloads, reloadOnSighup } from '../../src/security/reloadable.js';
import { NOBODY } from '../harness/other-user.js';
import { until } from '../helpers/wait.js';

/** A stand-in for a TLSSocket after the handshake. */
function tlsSocket(cert: object, authorized: boolean, authorizationError?: Error): object {
  return { getPeerCertificate: () => cert, authorized, authorizationError };
}

const certOf = (subject: Record<string, string | string[]>): object => ({ subject, fingerprint256: 'AB:CD' });

describe('parseClientRolesFile', () => {
  it('maps common names (the rest of the line, exactly) to roles', () => {
    const roles = parseClientRolesFile('# cn -> role\n\nviewer monitoring\noperator  ops team laptop \nadmin Admin\n');
    assert.deepEqual(
      [...roles],
      [
        ['monitoring', 'viewer'],
        ['ops team laptop', 'operator'],
        ['Admin', 'admin'],
      ],
    );
  });

  it('names the line of a bad role, a missing CN and a duplicate', () => {
    assert.throws(() => parseClientRolesFile('owner x', 'r'), {
      message: "r line 1: unknown role 'owner' (expected viewer, operator or admin)",
    });
    assert.throws(() => parseClientRolesFile('\nadmin', 'r'), {
      message: "r line 2: missing the certificate's common name after the role",
    });
    assert.throws(() => parseClientRolesFile('admin a\nviewer a', 'r'), {
      message: "r line 2: common name 'a' is listed twice",
    });
  });
});

describe('peerCertificateStatus', () => {
  it('is none for a plain socket, a TLS socket without a certificate, and no socket', () => {
    assert.deepEqual(peerCertificateStatus({ remoteAddress: '127.0.0.1' }), { kind: 'none' });
    assert.deepEqual(peerCertificateStatus(tlsSocket({}, false)), { kind: 'none' });
    assert.deepEqual(peerCertificateStatus(null), { kind: 'none' });
  });

  it('gives the CN of a verified certificate', () => {
    assert.deepEqual(peerCertificateStatus(tlsSocket(certOf({ CN: 'ops', O: 'Example' }), true)), {
      kind: 'verified',
      commonName: 'ops',
      subject: 'CN=ops,O=Example',
      fingerprint256: 'AB:CD',
    });
  });

  it('reports a certificate the CA did not verify, with the reason', () => {
    const status = peerCertificateStatus(tlsSocket(certOf({ CN: 'ops' }), false, new Error('self-signed certificate')));
    assert.deepEqual(status, { kind: 'unverified', reason: 'self-signed certificate' });
  });

  it('refuses subjects with no CN or with several', () => {
    assert.equal(peerCertificateStatus(tlsSocket(certOf({ O: 'x' }), true)).kind, 'unverified');
    assert.equal(peerCertificateStatus(tlsSocket(certOf({ CN: ['a', 'b'] }), true)).kind, 'unverified');
  });
});

describe('ClientRoles', () => {
  it('loads, looks up, and reloads on SIGHUP keeping the old map when the new file is bad', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'roles-'));
    try {
      const file = join(dir, 'roles');
      await writeFile(file, 'viewer grafana\n');
      const roles = await ClientRoles.load(file);
      assert.deepEqual([roles.roleOf('grafana'), roles.roleOf('other'), roles.count()], ['viewer', null, 1]);

      const logged: string[] = [];
      const log = {
        info: (_: object, msg: string) => logged.push(`info ${msg}`),
        error: (_: object, msg: string) => logged.push(`error ${msg}`),
      };
      const stop = reloadOnSighup(new CredentialReloads([roles], log));
      try {
        await writeFile(file, 'admin grafana\n');
        process.kill(process.pid, 'SIGHUP');
        await until(() => roles.roleOf('grafana') === 'admin');
        await writeFile(file, 'root grafana\n');
        process.kill(process.pid, 'SIGHUP');
        await until(() => logged.some((line) => line.startsWith('error ')));
        assert.equal(roles.roleOf('grafana'), 'admin');
        assert.ok(logged.includes('error client roles file not reloaded; keeping the previous one'), logged.join('\n'));
      } finally {
        stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a roles file that another user owns, at load and on reload', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'roles-'));
    try {
      const file = join(dir, 'roles');
      await writeFile(file, 'viewer grafana\n');
      await chown(file, NOBODY, NOBODY);
      await assert.rejects(ClientRoles.load(file), {
        name: 'ConfigFileError',
        message: new RegExp(`^refusing client roles file ${file}: .* is owned by uid ${NOBODY}`),
      });
      await chown(file, 0, 0);
      const roles = await ClientRoles.load(file);
      await writeFile(file, 'admin grafana\n');
      await chown(file, NOBODY, NOBODY);
      const errors: string[] = [];
      assert.equal(await roles.reload({ info: () => {}, error: (_obj, msg) => errors.push(msg) }), false);
      assert.deepEqual(
        [roles.roleOf('grafana'), errors],
        ['viewer', ['client roles file not reloaded; keeping the previous one']],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
