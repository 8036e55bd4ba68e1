// Event streams do not outlive revocation: /events streams opened over a real TLS socket with tokens and client
// certificates, in front of a real libvirtd, then the tokens and client-roles files are rewritten and the gateway
// reloads (SIGHUP, the path `systemctl reload` takes). The streams of a removed token and of a certificate whose
// CN lost its role end, with a comment saying why, and their holders cannot open new ones; the streams whose
// identity still holds (a role raised, or lowered but still viewer) go on and receive the next change libvirtd
// reports. A reload that refuses a bad file closes nothing.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config.js';
import { startGateway, type RunningGateway } from '../../../src/server.js';
import { tokenLine } from '../../../src/security/tokens.js';
import { eventually } from '../../helpers/wait.js';
import { startRealDaemons, type RealDaemons } from '../../harness/libvirtd.js';
import { send } from './https-client.js';
import { makePki, type KeyPair, type TestPki } from './pki.js';

const TOKENS = {
  grafana: 'a3f09c5d2e7b4168b0c9d1e2f3a4b5c6',
  ci: '0c1d2e3f4a5b6c7d8e9fa0b1c2d3e4f5',
  ops: '9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b',
};

/** An /events stream over HTTPS, read as raw text: enough to see its comments, its events and its end. */
class TlsStream {
  text = '';
  ended = false;
  readonly closed: Promise<void>;
  private constructor(readonly response: IncomingMessage) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => (this.text += chunk));
    this.closed = new Promise((resolve) => {
      const done = () => {
        this.ended = true;
        resolve();
      };
      response.once('end', done);
      response.once('close', done);
      response.once('error', done);
    });
  }

  static open(base: string, ca: Buffer, credentials: { token?: string; cert?: KeyPair }): Promise<TlsStream> {
    const url = new URL('/events?type=threadpool.changed', base);
    return new Promise((resolve, reject) => {
      const req = request({
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        servername: 'localhost',
        ca,
        cert: credentials.cert?.cert,
        key: credentials.cert?.key,
        agent: false,
        headers: {
          accept: 'text/event-stream',
          ...(credentials.token ? { authorization: `Bearer ${credentials.token}` } : {}),
        },
      });
      req.once('response', (res) => resolve(new TlsStream(res)));
      req.once('error', reject);
      req.end();
    });
  }

  /** Data lines of the threadpool.changed events received so far. */
  events(): string[] {
    return this.text.split('\n\n').filter((block) => block.includes('event: threadpool.changed'));
  }

  destroy(): void {
    this.response.destroy();
  }
}

describe('event streams after the credentials change (real libvirtd, TLS)', () => {
  let daemons: RealDaemons;
  let pki: TestPki;
  let dir: string;
  let gateway: RunningGateway;
  let laptop: KeyPair;
  let desk: KeyPair;
  const streams: TlsStream[] = [];

  const writeCredentials = async (tokens: string[], roles: string[]): Promise<void> => {
    await writeFile(join(dir, 'tokens'), `${tokens.join('\n')}\n`);
    await writeFile(join(dir, 'client-roles'), `${roles.join('\n')}\n`);
  };
  const open = async (credentials: { token?: string; cert?: KeyPair }): Promise<TlsStream> => {
    const stream = await TlsStream.open(gateway.url, pki.ca.cert, credentials);
    streams.push(stream);
    assert.equal(stream.response.statusCode, 200);
    await eventually(() => stream.text.includes(': stream open'), 'the stream to open', 5000, 20);
    return stream;
  };
  const reload = () => process.kill(process.pid, 'SIGHUP');

  before(async () => {
    daemons = await startRealDaemons({ daemons: ['libvirtd'] });
    pki = await makePki();
    laptop = await pki.client('laptop');
    desk = await pki.client('desk');
    dir = await mkdtemp(join(tmpdir(), 'revoke-'));
    await writeCredentials(
      [
        tokenLine('viewer', TOKENS.grafana, 'grafana'),
        tokenLine('viewer', TOKENS.ci, 'ci'),
        tokenLine('operator', TOKENS.ops, 'ops'),
      ],
      ['viewer laptop', 'viewer desk'],
    );
    const invocation = loadConfig(
      [
        '--connect',
        daemons.adminUri('libvirtd'),
        '--listen',
        '127.0.0.1:0',
        '--log-level',
        'silent',
        '--watch-interval',
        '200',
        '--tls-cert',
        pki.server.certPath,
        '--tls-key',
        pki.server.keyPath,
        '--tls-client-ca',
        pki.ca.certPath,
        '--tls-client-roles',
        join(dir, 'client-roles'),
        '--tokens-file',
        join(dir, 'tokens'),
      ],
      {},
    );
    assert.equal(invocation.kind, 'run');
    gateway = await startGateway(invocation.config, () => {});
  });
  after(async () => {
    for (const stream of streams) stream.destroy();
    await gateway?.close();
    await daemons?.stop();
    await pki?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('closes the streams whose token or certificate role is gone, and only those', async () => {
    const grafana = await open({ token: TOKENS.grafana });
    const ci = await open({ token: TOKENS.ci });
    const ops = await open({ token: TOKENS.ops });
    const onLaptop = await open({ cert: laptop });
    const onDesk = await open({ cert: desk });

    // ci's token is removed; grafana is raised to admin, ops lowered to viewer (both still may read events);
    // the laptop's CN loses its role.
    await writeCredentials(
      [tokenLine('admin', TOKENS.grafana, 'grafana'), tokenLine('viewer', TOKENS.ops, 'ops')],
      ['viewer desk'],
    );
    reload();
    await eventually(() => ci.ended && onLaptop.ended, 'the revoked streams to end', 5000, 20);
    for (const revoked of [ci, onLaptop]) assert.match(revoked.text, /\n: access revoked\n\n$/);

    // The others go on: the next change libvirtd reports reaches them.
    const info = await daemons.virtAdmin('libvirtd', 'srv-threadpool-info', 'admin');
    const min = Number(/minWorkers\s*:\s*(\d+)/.exec(info.stdout)?.[1]);
    assert.equal(
      (await daemons.virtAdmin('libvirtd', 'srv-threadpool-set', 'admin', '--min-workers', String(min + 1))).code,
      0,
    );
    await eventually(
      () => [grafana, ops, onDesk].every((s) => s.events().length === 1),
      'the change to reach the remaining streams',
      10_000,
      50,
    );
    assert.deepEqual(
      [grafana, ops, onDesk].map((s) => s.ended),
      [false, false, false],
    );
    assert.deepEqual(
      [ci, onLaptop].map((s) => s.events().length),
      [0, 0],
    );

    // The revoked holders cannot come back.
    assert.equal((await send(gateway.url, { path: '/events', ca: pki.ca.cert, token: TOKENS.ci })).status, 401);
    assert.equal(
      (await send(gateway.url, { path: '/events', ca: pki.ca.cert, cert: laptop.cert, key: laptop.key })).status,
      403,
    );
  });

  it('closes nothing when the reload refuses the new file (the old one stays in force)', async () => {
    const grafana = await open({ token: TOKENS.grafana });
    // An empty tokens file that others could write: refused, so grafana's token still holds.
    await writeFile(join(dir, 'tokens'), '');
    await chmod(join(dir, 'tokens'), 0o666);
    reload();
    // Reloads run one after the other: once a second reload (of a good file with a new token) is seen in force,
    // the refused one is over, and it closed nothing.
    const late = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
    await writeFile(
      join(dir, 'tokens'),
      `${tokenLine('admin', TOKENS.grafana, 'grafana')}\n${tokenLine('viewer', late, 'late')}\n`,
    );
    await chmod(join(dir, 'tokens'), 0o644);
    reload();
    await eventually(
      async () => (await send(gateway.url, { path: '/servers', ca: pki.ca.cert, token: late })).status === 200,
      'the second reload',
      5000,
      20,
    );
    assert.equal(grafana.ended, false);
    const info = await daemons.virtAdmin('libvirtd', 'srv-threadpool-info', 'admin');
    const min = Number(/minWorkers\s*:\s*(\d+)/.exec(info.stdout)?.[1]);
    assert.equal(
      (await daemons.virtAdmin('libvirtd', 'srv-threadpool-set', 'admin', '--min-workers', String(min - 1))).code,
      0,
    );
    await eventually(() => grafana.events().length === 1, 'the change to reach the stream', 10_000, 50);
    assert.equal(grafana.ended, false);
  });
});
