// A TypeScript client generated from openapi/openapi.json during the test (openapi-typescript), type-checked
// with a driver written against it (tsc, strict), then run against a live gateway in front of a real libvirtd
// and virtlogd: every operation of the document is called and answers as documented.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import request from 'supertest';
import { OPENAPI_PATH } from '../../src/http/openapi-document.js';
import { openRawClients, type RawClients } from '../harness/raw-clients.js';
import { startRealGateway, type RealGateway } from './gateway.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const METHODS = ['get', 'put', 'post', 'patch', 'delete'];

describe('a TypeScript client generated from the OpenAPI document', () => {
  let dir: string;
  before(async () => {
    // Inside the repository (its /tmp is git-ignored) so that openapi-fetch resolves from node_modules.
    await mkdir(join(ROOT, 'tmp'), { recursive: true });
    dir = await mkdtemp(join(ROOT, 'tmp', 'openapi-client-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('is generated, and type-checks with a driver that uses every operation', async () => {
    const doc = JSON.parse(await readFile(join(ROOT, OPENAPI_PATH), 'utf8')) as object;
    await writeFile(join(dir, 'api.d.ts'), astToString(await openapiTS(doc as never)));
    await copyFile(new URL('./.openapi-client/driver.ts', import.meta.url), join(dir, 'driver.ts'));
    const args = [
      '--noEmit',
      '--strict',
      '--noUncheckedIndexedAccess',
      '--target',
      'ES2022',
      '--module',
      'NodeNext',
      '--moduleResolution',
      'NodeNext',
      '--types',
      'node',
      '--skipLibCheck',
      join(dir, 'api.d.ts'),
      join(dir, 'driver.ts'),
    ];
    const out = await new Promise<string>((resolve) => {
      execFile(join(ROOT, 'node_modules/.bin/tsc'), args, { cwd: ROOT, timeout: 120_000 }, (err, stdout, stderr) =>
        resolve(err ? `tsc failed:\n${stdout}${stderr}` : ''),
      );
    });
    assert.equal(out, '');
  });

  describe('against a live gateway', () => {
    let gw: RealGateway;
    let raw: RawClients;
    let baseUrl: string;
    before(async () => {
      gw = await startRealGateway();
      raw = await openRawClients(gw.daemons.readOnlyClientSocket, 3);
      await gw.app.listen({ host: '127.0.0.1', port: 0 });
      baseUrl = `http://127.0.0.1:${(gw.app.server.address() as AddressInfo).port}`;
    });
    after(async () => {
      raw?.close();
      await gw?.close();
    });

    it('drives every operation of the document', async () => {
      const listed = await request(gw.app.server).get('/servers/libvirtd/clients').expect(200);
      const ids = listed.body.clients.map((c: { id: number }) => c.id) as number[];
      const { drive } = (await import(pathToFileURL(join(dir, 'driver.ts')).href)) as {
        drive: (baseUrl: string, facts: { otherDaemon: string; victims: [number, number] }) => Promise<string[]>;
      };
      const calls = await drive(baseUrl, { otherDaemon: 'virtlogd', victims: [ids[0]!, ids[1]!] });
      const doc = JSON.parse(await readFile(join(ROOT, OPENAPI_PATH), 'utf8')) as {
        paths: Record<string, Record<string, unknown>>;
      };
      const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
        METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${path}`),
      );
      assert.deepEqual([...new Set(calls)].sort(), documented.sort());
      // What the client changed, virt-admin sees.
      assert.match(await gw.virtAdmin('srv-threadpool-info', 'libvirtd'), /maxWorkers\s+: 25/);
      assert.match(await gw.virtAdmin('daemon-log-outputs'), /Logging outputs: 3:stderr/);
      assert.doesNotMatch(await gw.virtAdmin('srv-clients-list', 'libvirtd'), new RegExp(`^ ${ids[0]} `, 'm'));
    });
  });
});
