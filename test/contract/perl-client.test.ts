// A Perl client: OpenAPI::Client (Debian's libopenapi-client-perl, installed by scripts/install-contract-clients.sh)
// loads openapi/openapi-3.0.json from the file, with no network, and calls every operation by its operationId
// against a gateway in front of a real libvirtd, each request validated by the client and each JSON answer by
// the document (test/contract/perl-client/call-every-operation.pl). This test fails when the script does.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OPENAPI_30_PATH } from '../../src/http/openapi-document.js';
import { openRawClients, type RawClients } from '../harness/raw-clients.js';
import { startRealGateway, type RealGateway } from '../http/gateway.js';
import { planCalls } from './openapi-plan.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('a Perl client (OpenAPI::Client, from Debian) against a live gateway', () => {
  let dir: string;
  let gw: RealGateway;
  let raw: RawClients;
  let base: string;
  before(async () => {
    await mkdir(join(ROOT, 'tmp'), { recursive: true });
    dir = await mkdtemp(join(ROOT, 'tmp', 'perl-client-'));
    gw = await startRealGateway();
    raw = await openRawClients(gw.daemons.readOnlyClientSocket, 3);
    await gw.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(gw.app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    raw?.close();
    await gw?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('calls every operation of openapi-3.0.json by its operationId, and every answer matches the document', async () => {
    const listed = (await (await fetch(`${base}/servers/libvirtd/clients`)).json()) as {
      clients: Array<{ id: number }>;
    };
    const ids = listed.clients.map((c) => c.id);
    assert.ok(ids.length >= 3, `clients: ${ids.join(',')}`);
    const [victim, victim2, kept] = ids.slice(-3) as [number, number, number];
    const calls = await planCalls({ kept, victims: [victim, victim2] });
    await writeFile(join(dir, 'plan.json'), JSON.stringify({ base, calls }));
    const script = fileURLToPath(new URL('./perl-client/call-every-operation.pl', import.meta.url));
    // No proxy and no home: nothing lets JSON::Validator reach the network for the 3.0 meta-schema it ships.
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', MOJO_PROXY: '0', HOME: dir };
    const { code, out } = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(
        'perl',
        [script, join(ROOT, OPENAPI_30_PATH), join(dir, 'plan.json')],
        { env, timeout: 120_000 },
        (err, stdout, stderr) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` }),
      );
    });
    assert.equal(code, 0, out);
    assert.match(out, new RegExp(`^${calls.length} passed, 0 failed$`, 'm'));
    // What the client changed, virt-admin sees.
    assert.match(await gw.virtAdmin('srv-threadpool-info', 'libvirtd'), /maxWorkers\s+: 10/);
  });
});
