// A Go client, built from Debian's packages (golang-go, golang-github-getkin-kin-openapi-dev; installed by
// scripts/install-contract-clients.sh) in GOPATH mode with nothing downloaded, loads openapi/openapi-3.0.json and
// validates the live requests and responses of every operation against a gateway in front of a real libvirtd
// (test/contract/go-client/main.go). This test makes the plan of calls from the document and fails when the
// program does.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OPENAPI_30_PATH } from '../../src/http/openapi-document.js';
import { openRawClients, type RawClients } from '../harness/raw-clients.js';
import { planCalls } from './openapi-plan.js';
import { startRealGateway, type RealGateway } from '../http/gateway.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs a command; resolves with its exit code and output (never rejects). */
function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeout: number,
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

describe('a Go client (kin-openapi, from Debian) against a live gateway', () => {
  let dir: string;
  let gw: RealGateway;
  let raw: RawClients;
  let base: string;
  before(async () => {
    await mkdir(join(ROOT, 'tmp'), { recursive: true });
    dir = await mkdtemp(join(ROOT, 'tmp', 'go-client-'));
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

  it('validates every operation of openapi-3.0.json, request and response, and the events', async () => {
    // GOPATH mode: Debian's Go sources in /usr/share/gocode, our program in a GOPATH of its own; the build cache
    // stays in the repository's tmp/ so that later runs do not rebuild kin-openapi.
    await mkdir(join(dir, 'src', 'contractclient'), { recursive: true });
    await copyFile(new URL('./go-client/main.go', import.meta.url), join(dir, 'src', 'contractclient', 'main.go'));
    const env = {
      ...process.env,
      GO111MODULE: 'off',
      GOPATH: `${dir}:/usr/share/gocode`,
      GOCACHE: join(ROOT, 'tmp', 'go-cache'),
      GOFLAGS: '',
      GOPROXY: 'off',
    };
    const build = await run('go', ['build', '-o', join(dir, 'go-client'), 'contractclient'], env, 300_000);
    assert.equal(build.code, 0, `go build failed (run scripts/install-contract-clients.sh):\n${build.out}`);

    const listed = (await (await fetch(`${base}/servers/libvirtd/clients`)).json()) as {
      clients: Array<{ id: number }>;
    };
    const ids = listed.clients.map((c) => c.id);
    assert.ok(ids.length >= 3, `clients: ${ids.join(',')}`);
    const [victim, victim2, kept] = ids.slice(-3) as [number, number, number];
    const calls = await planCalls({ kept, victims: [victim, victim2] });
    await writeFile(join(dir, 'plan.json'), JSON.stringify({ base, calls }));
    const result = await run(
      join(dir, 'go-client'),
      [join(ROOT, OPENAPI_30_PATH), join(dir, 'plan.json')],
      env,
      120_000,
    );
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /contract holds/);
    assert.doesNotMatch(result.out, /FAIL/);
    // What the client changed, virt-admin sees.
    assert.match(await gw.virtAdmin('srv-threadpool-info', 'libvirtd'), /maxWorkers\s+: 10/);
  });
});
