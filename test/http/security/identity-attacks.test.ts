// Who may act without credentials, attacked as the holes were found (issue 11, items 1 and 2), against the real
// libvirtd and the embedded daemon, each behind a gateway process started without credentials. Local tools use
// the unix socket (mode 0600 in the runtime folder); TCP callers need the local token. The attacker is `nobody`;
// after each attack virt-admin shows the daemon unchanged, and the audit trail shows refusals only.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseVirtAdminKeyValues, runVirtAdmin, startRealDaemons, type RealDaemons } from '../../harness/libvirtd.js';
import { runAsNobody } from '../../harness/other-user.js';
import { SseClient } from '../../monitoring/sse-client.js';
import { startGatewayProcess, type GatewayProcess } from './gateway-process.js';

const ATTEMPTS = 20;

/** A PATCH of the libvirtd server's thread pool, as raw HTTP/1.1. */
function patchRequest(minWorkers: number, token?: string): string {
  const body = JSON.stringify({ minWorkers });
  return (
    'PATCH /servers/libvirtd/threadpool HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n${token === undefined ? '' : `Authorization: Bearer ${token}\r\n`}\r\n${body}`
  );
}

/** The statuses of the HTTP responses in a raw reply. */
function statuses(reply: string): number[] {
  // A pipelined answer follows the previous body directly, not on a line of its own.
  return [...reply.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

/** Node code (run as nobody) that sends `payload` on `attempts` connections, resetting each (SO_LINGER 0) at once. */
function resettingSender(port: number, payload: string, attempts: number): string {
  return `
const net = require('node:net');
let left = ${attempts};
const next = () => {
  if (left-- === 0) return;
  const socket = net.connect(${port}, '127.0.0.1', () => socket.write(${JSON.stringify(payload)}, () => socket.resetAndDestroy()));
  socket.on('error', () => {});
  socket.on('close', next);
};
next();`;
}

/** `curl` lines of the banner, run through sh as they would be pasted: their stdout. */
function paste(command: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('sh', ['-c', `${command} --silent --show-error --fail`], (err, stdout, stderr) =>
      err ? reject(new Error(`${command}: ${stderr}`)) : resolve(stdout),
    ),
  );
}

interface Target {
  name: string;
  gateway: GatewayProcess;
  runtimeDir: string;
  minWorkers(): Promise<number>;
}

for (const kind of ['libvirtd', 'embedded'] as const) {
  describe(`without credentials, in front of ${kind === 'libvirtd' ? 'the real libvirtd' : 'the embedded daemon'}`, () => {
    let dir: string;
    let daemons: RealDaemons | undefined;
    let target: Target;
    let token: string;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'identity-'));
      const runtimeDir = join(dir, 'run');
      let args: string[];
      let adminUri: string;
      if (kind === 'libvirtd') {
        daemons = await startRealDaemons({ daemons: ['libvirtd'] });
        adminUri = daemons.adminUri('libvirtd');
        // A fresh folder: the gateway makes it, mode 0700.
        args = ['--connect', adminUri, '--runtime-dir', runtimeDir];
      } else {
        // A folder other users may enter (0755, which the gateway accepts): the socket's own mode keeps them out.
        await mkdir(runtimeDir, { mode: 0o755 });
        adminUri = `libvirtd:///system?socket=${join(runtimeDir, 'libvirt-admin-sock')}`;
        args = ['--runtime-dir', runtimeDir];
      }
      const gateway = await startGatewayProcess(args);
      target = {
        name: kind,
        gateway,
        runtimeDir,
        minWorkers: async () => {
          const run = await runVirtAdmin(adminUri, ['srv-threadpool-info', 'libvirtd']);
          assert.equal(run.code, 0, run.stderr);
          return Number(parseVirtAdminKeyValues(run.stdout)['minWorkers']);
        },
      };
      token = (await readFile(join(runtimeDir, 'local-token'), 'utf8')).trim();
    });
    after(async () => {
      await target?.gateway.stop();
      await daemons?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('serves the unix socket to its owner only (mode 0600), and TCP only with the local token', async () => {
      const socket = join(target.runtimeDir, 'http.sock');
      assert.equal((await stat(socket)).mode & 0o777, 0o600);
      assert.equal((await stat(join(target.runtimeDir, 'local-token'))).mode & 0o777, 0o600);
      // Root (the gateway's user) on the socket: the anonymous admin.
      const servers = await new Promise<number>((resolve, reject) =>
        request({ socketPath: socket, path: '/servers' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end(),
      );
      assert.equal(servers, 200);
      // nobody can neither connect to the socket nor read the token.
      const denied = JSON.parse(
        await runAsNobody(`
const out = {};
const s = require('node:net').connect(${JSON.stringify(socket)});
s.on('connect', () => { out.connect = 'connected'; s.destroy(); done(); });
s.on('error', (e) => { out.connect = e.code; done(); });
function done() {
  try { require('node:fs').readFileSync(${JSON.stringify(join(target.runtimeDir, 'local-token'))}); out.token = 'read'; } catch (e) { out.token = e.code; }
  process.stdout.write(JSON.stringify(out));
}`),
      ) as { connect: string; token: string };
      assert.deepEqual(denied, { connect: 'EACCES', token: 'EACCES' });
      // TCP: 401 without the token, saying where it is; 200 with it.
      const refused = await fetch(`${target.gateway.url}/servers`);
      assert.equal(refused.status, 401);
      assert.match(
        ((await refused.json()) as { detail: string }).detail,
        new RegExp(`contents of ${join(target.runtimeDir, 'local-token')}`),
      );
      assert.equal(
        (await fetch(`${target.gateway.url}/servers`, { headers: { authorization: `Bearer ${token}` } })).status,
        200,
      );
      // The public routes stay public.
      assert.equal((await fetch(`${target.gateway.url}/healthz`)).status, 200);
    });

    it('prints the socket, the token file and a curl for each that works when pasted', async () => {
      const { banner, url } = target.gateway;
      const socket = join(target.runtimeDir, 'http.sock');
      const tokenFile = join(target.runtimeDir, 'local-token');
      assert.ok(banner.includes(`  unix socket: ${socket} (mode 0600)`), banner.join('\n'));
      assert.ok(banner.includes(`  local token: ${tokenFile}`), banner.join('\n'));
      const curls = banner.filter((line) => line.startsWith('  curl: ')).map((line) => line.slice('  curl: '.length));
      assert.deepEqual(curls, [
        `curl --unix-socket ${socket} http://localhost/servers`,
        `curl -H "Authorization: Bearer $(cat ${tokenFile})" ${url}/servers`,
      ]);
      for (const command of curls) {
        const body = JSON.parse(await paste(command)) as { servers: Array<{ name: string }> };
        assert.ok(
          body.servers.some((server) => server.name === 'libvirtd'),
          command,
        );
      }
      assert.ok(
        banner.includes(
          '  no credentials configured: callers on the unix socket and holders of the local token have the admin role; other TCP callers get 401',
        ),
      );
      assert.match(banner.at(-1)!, /^ {2}docs: /);
    });

    it('hole 1: a change sent by nobody on a TCP connection reset at once (SO_LINGER 0) changes nothing', async () => {
      const port = Number(new URL(target.gateway.url).port);
      const events = await SseClient.open(`${target.gateway.url}/events?type=threadpool.changed`, {
        authorization: `Bearer ${token}`,
      });
      const changedTo = (value: number) =>
        events.find(
          'threadpool.changed',
          (data) => (data['threadpool'] as { minWorkers: number }).minWorkers === value,
        );
      try {
        const before = await target.minWorkers();
        const from = target.gateway.lines().length;
        await runAsNobody(resettingSender(port, patchRequest(before + 1), ATTEMPTS));
        // The same reset with the local token, sent after: its change shows that reset requests are read and acted
        // on, and once it is seen, every request of the attack before it has been dealt with.
        await runAsNobody(resettingSender(port, patchRequest(before + 2, token), ATTEMPTS));
        await events.until(() => changedTo(before + 2).length > 0, 20_000, 'the change sent with the token');
        assert.deepEqual(changedTo(before + 1), [], "nobody's change was never made");
        assert.equal(await target.minWorkers(), before + 2, 'virt-admin shows only the change made with the token');
        // Each of nobody's requests that the gateway read was refused (401), and audited so.
        const records = target.gateway
          .lines()
          .slice(from)
          .filter((line) => line['audit'] === true && line['actor'] === null);
        for (const record of records) {
          assert.deepEqual(
            [record['result'], record['statusCode'], record['source']],
            ['refused', 401, { transport: 'tcp', address: '127.0.0.1' }],
          );
        }
        const restore = await fetch(`${target.gateway.url}/servers/libvirtd/threadpool`, {
          method: 'PATCH',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ minWorkers: before }),
        });
        assert.equal(restore.status, 200);
      } finally {
        events.close();
      }
    });

    it("hole 2: nobody borrowing the local port of root's open connection, pipelining and half-closing, is refused", async () => {
      const before = await target.minWorkers();
      const port = Number(new URL(target.gateway.url).port);
      // root holds a connection: an event stream opened with the local token (a monitoring curl on /events).
      const held = await SseClient.open(`${target.gateway.url}/events`, { authorization: `Bearer ${token}` });
      assert.equal(held.response.statusCode, 200);
      const borrowed = held.response.socket.localPort;
      const from = target.gateway.lines().length;
      try {
        const reply = await runAsNobody(`
const net = require('node:net');
const s = net.connect({ port: ${port}, host: '127.0.0.1', localAddress: '127.0.0.2', localPort: ${borrowed} });
let out = '';
s.on('connect', () => s.write(${JSON.stringify('GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' + patchRequest(before + 2))}));
// Half-closed once the public answer is in, while the change waits its turn behind it.
s.on('data', (c) => { out += c; if (/^HTTP\\/1\\.1 /.test(out) && !s.writableEnded) s.end(); });
s.on('close', () => process.stdout.write(out));
s.on('error', (e) => { console.error(e.message); process.exit(1); });`);
        const [readyz, patch] = statuses(reply);
        assert.ok(readyz === 200 || readyz === 503, reply);
        assert.equal(patch, 401, reply);
      } finally {
        held.close();
      }
      assert.equal(await target.minWorkers(), before);
      const records = target.gateway
        .lines()
        .slice(from)
        .filter((line) => line['audit'] === true);
      assert.equal(records.length, 1, JSON.stringify(records));
      assert.deepEqual(
        [records[0]!['result'], records[0]!['actor'], records[0]!['source']],
        ['refused', null, { transport: 'tcp', address: '127.0.0.2' }],
      );
    });
  });
}
