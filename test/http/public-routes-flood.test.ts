// A stranger's burst on the routes anyone may call. The gateway runs as shipped (the CLI under its heap flags:
// 128 MiB of old space) with the embedded daemon; 200 requests are fired at once at every public route,
// before any of them has been served (cold: the reference's 4 MB script is not loaded yet).
// Every answer must arrive whole and be right, and the gateway must still be up. Once, ~15 such requests for
// the script exhausted the heap and the process aborted. The peak RSS is printed, not asserted (under tsx it
// carries ~35 MiB of compiler; `npm run bench` measures the built gateway against its 150 MiB target).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT, startGateway, type GatewayProcess } from '../../bench/lib/gateway-process.js';
import { flood, PUBLIC_ROUTE_BURSTS, type FloodAnswer } from '../helpers/http-flood.js';
import { scriptServedByThePackage } from '../helpers/scalar-reference.js';

/** Requests at once per route. */
const BURST = 200;
const MiB = 1024 * 1024;

/** Every route a caller without credentials may use, and what each answer must be. */
interface PublicRoute {
  path: string;
  check(answer: FloodAnswer): void;
}

const json = (a: FloodAnswer): unknown => JSON.parse(a.body!.toString('utf8'));

describe(`${BURST} concurrent cold requests at every public route, on the gateway as shipped`, () => {
  let dir: string;
  let gateway: GatewayProcess;
  let routes: PublicRoute[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flood-'));
    // Built independently of the gateway: the committed document and the package's own rendition of the script.
    // Served as committed, but for `servers`: the address each was fetched from (the gateway on loopback).
    const committed = async (name: string) => {
      const { servers: _variable, ...rest } = JSON.parse(
        await readFile(join(REPO_ROOT, 'openapi', name), 'utf8'),
      ) as Record<string, unknown>;
      return rest;
    };
    const document = await committed('openapi.json');
    const document30 = await committed('openapi-3.0.json');
    const served = (doc: unknown, expected: unknown) => {
      const { servers, ...rest } = doc as { servers: Array<{ url: string }> };
      assert.match(servers[0]!.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.deepEqual(rest, expected);
    };
    const script = await scriptServedByThePackage();
    const scriptHash = createHash('sha256').update(script).digest('hex');
    const scriptVersion = createHash('sha256').update(script).digest('base64url').slice(0, 16);
    const isJson = (a: FloodAnswer) => assert.match(String(a.headers['content-type']), /^application\/json/);
    const isYaml = (a: FloodAnswer) => assert.match(String(a.headers['content-type']), /^application\/yaml/);
    routes = [
      { path: '/healthz', check: (a) => (assert.equal(a.status, 200), assert.deepEqual(json(a), { status: 'ok' })) },
      {
        path: '/readyz',
        check: (a) => (assert.equal(a.status, 200), assert.equal((json(a) as { status: string }).status, 'ready')),
      },
      { path: '/openapi.json', check: (a) => (assert.equal(a.status, 200), isJson(a), served(json(a), document)) },
      {
        path: '/openapi.yaml',
        check: (a) => (assert.equal(a.status, 200), isYaml(a), served(parseYaml(a.body!.toString('utf8')), document)),
      },
      {
        path: '/openapi-3.0.json',
        check: (a) => (assert.equal(a.status, 200), isJson(a), served(json(a), document30)),
      },
      {
        path: '/openapi-3.0.yaml',
        check: (a) => (assert.equal(a.status, 200), isYaml(a), served(parseYaml(a.body!.toString('utf8')), document30)),
      },
      { path: '/docs', check: (a) => (assert.equal(a.status, 301), assert.equal(a.headers['location'], '/docs/')) },
      {
        path: '/docs/',
        check: (a) => {
          assert.equal(a.status, 200);
          assert.equal(a.headers['content-type'], 'text/html; charset=utf-8');
          const page = a.body!.toString('utf8');
          assert.ok(page.includes(`<script src="js/scalar.js?v=${scriptVersion}"></script>`), page);
          assert.ok(page.trimEnd().endsWith('</html>'), page);
        },
      },
      {
        path: '/docs/js/scalar.js',
        check: (a) => {
          assert.equal(a.status, 200);
          assert.equal(a.headers['content-type'], 'text/javascript; charset=utf-8');
          assert.equal(a.bytes, script.length);
          assert.equal(a.sha256, scriptHash);
        },
      },
      { path: '/docs/openapi.json', check: (a) => (assert.equal(a.status, 200), isJson(a), served(json(a), document)) },
      {
        path: '/docs/openapi.yaml',
        check: (a) => (assert.equal(a.status, 200), isYaml(a), served(parseYaml(a.body!.toString('utf8')), document)),
      },
      // No route: the gateway's 404 problem, which is public too.
      {
        path: '/docs/nothing',
        check: (a) => (assert.equal(a.status, 404), assert.equal((json(a) as { code: string }).code, 'ERR_NOT_FOUND')),
      },
    ];
    assert.deepEqual(PUBLIC_ROUTE_BURSTS.flat().sort(), routes.map((r) => r.path).sort());
    gateway = await startGateway({ connect: [], args: ['--embedded-socket', join(dir, 'admin-sock')] });
  });
  after(async () => {
    await gateway?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers every request whole and right, and stays up', async (t) => {
    const startRss = gateway.rss();
    for (const burst of PUBLIC_ROUTE_BURSTS) {
      const answers = await Promise.all(burst.map((path) => flood(gateway.base, path, BURST)));
      burst.forEach((path, i) => {
        const route = routes.find((r) => r.path === path)!;
        const failed = answers[i]!.filter((a) => a.error !== undefined);
        assert.deepEqual(
          failed.map((a) => a.error).slice(0, 3),
          [],
          `${path}: ${failed.length} of ${BURST} requests failed`,
        );
        // Answers alike (status, headers that matter, body) are checked once: parsing 200 copies of the YAML
        // document would take longer than the burst.
        const checked = new Set<string>();
        for (const answer of answers[i]!) {
          const key = [answer.status, answer.headers['content-type'], answer.headers['location'], answer.sha256].join(
            '|',
          );
          if (checked.has(key)) continue;
          checked.add(key);
          try {
            route.check(answer);
          } catch (err) {
            (err as Error).message = `${path}: ${(err as Error).message}`;
            throw err;
          }
        }
      });
    }
    t.diagnostic(
      `gateway RSS (node --import tsx, shipped heap flags): ${(startRss / MiB).toFixed(1)} MiB at start, ` +
        `peak ${(gateway.peakRss() / MiB).toFixed(1)} MiB`,
    );
    const health = await fetch(`${gateway.base}/healthz`);
    assert.equal(health.status, 200, gateway.output());
    assert.doesNotMatch(gateway.output(), /heap out of memory|FATAL ERROR/);
  });
});
