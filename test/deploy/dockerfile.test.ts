// The Dockerfile, without a Docker engine (none runs on this machine): its structure is checked as text, and
// scripts/docker-smoke.sh performs its build and run steps from a fresh clone, then waits for the image's
// own HEALTHCHECK command and GET /healthz. A test here keeps the two files' steps the same.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './helpers/helm.js';

interface Instruction {
  op: string;
  args: string;
}

interface Stage {
  from: string;
  name: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim());
  for (const line of lines) {
    if (line === '' || line.startsWith('#')) continue;
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const [, from = '', name = ''] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? [];
      stages.push({ from, name, instructions: [] });
    } else if (stages.length > 0) {
      stages.at(-1)!.instructions.push({ op: upper, args: args.replace(/\s+/g, ' ') });
    }
  }
  return stages;
}

const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
const smokeScript = readFileSync(join(repoRoot, 'scripts', 'docker-smoke.sh'), 'utf8');
const stages = parseDockerfile(dockerfile);
const [build, runtime] = stages;

describe('Dockerfile', () => {
  it('has a build stage and a runtime stage, both on the official slim Node.js 24 image', () => {
    assert.equal(stages.length, 2);
    assert.match(dockerfile, /^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
    // A tag moves; the comment above it says how to build from a digest instead.
    assert.match(dockerfile, /^# +docker build --build-arg NODE_IMAGE=node:24-bookworm-slim@sha256:/m);
    assert.deepEqual(
      stages.map((s) => [s.from, s.name]),
      [
        ['${NODE_IMAGE}', 'build'],
        ['${NODE_IMAGE}', 'runtime'],
      ],
    );
  });

  it('ships only production dependencies, dist/ and the OpenAPI document, and installs no compiler', () => {
    const copies = runtime!.instructions.filter((i) => i.op === 'COPY').map((i) => i.args);
    assert.deepEqual(copies, [
      'package.json package-lock.json ./',
      '--from=build /src/dist ./dist',
      'openapi ./openapi',
    ]);
    const runs = runtime!.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
    assert.equal(runs.length, 1);
    assert.match(runs[0]!, /^npm ci --omit=dev --ignore-scripts /);
    assert.doesNotMatch(dockerfile, /apt-get|apk add|build-essential|gcc|g\+\+|python3/);
  });

  it('runs node directly as uid 0, listens on 8080 and checks /healthz with node', () => {
    const ops = Object.fromEntries(runtime!.instructions.map((i) => [i.op, i.args]));
    assert.equal(ops.USER, '0:0');
    assert.equal(ops.EXPOSE, '8080');
    assert.equal(ops.ENV, 'LIBVIRT_ADMIN_GATEWAY_LISTEN=0.0.0.0:8080');
    assert.equal(ops.ENTRYPOINT, '["node", "--max-semi-space-size=8", "--max-old-space-size=128", "dist/cli.js"]');
    const healthcheck = ops.HEALTHCHECK!;
    const cmd = JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD') + 3)) as string[];
    assert.equal(cmd[0], 'node');
    assert.match(cmd[2]!, /path:'\/healthz'/);
    // TLS and tokens are not switched off by the image: no insecure default.
    assert.doesNotMatch(dockerfile, /^ENV .*INSECURE/m);
  });

  it('copies from the build context only files that .dockerignore lets in', () => {
    const allowed = readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).replace(/\/$/, ''));
    const sources = stages
      .flatMap((s) => s.instructions)
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from='))
      .flatMap((i) => i.args.split(' ').slice(0, -1));
    for (const source of sources) assert.ok(allowed.includes(source), `${source} is excluded by .dockerignore`);
  });

  it('is mirrored step by step by scripts/docker-smoke.sh', () => {
    for (const stage of [build!, runtime!]) {
      for (const { op, args } of stage.instructions) {
        if (op === 'COPY') {
          assert.ok(smokeScript.includes(`COPY ${args}`), `the script does not perform COPY ${args}`);
        } else if (op === 'RUN') {
          // The first command of each RUN; what follows in the runtime stage only trims the image.
          const command = args.split(' && ')[0]!;
          assert.ok(smokeScript.includes(`RUN ${command}"`), `the script does not announce RUN ${command}`);
          assert.ok(smokeScript.includes(`quiet ${command})`), `the script does not run ${command}`);
        }
      }
    }
    const entrypoint = (
      JSON.parse(Object.fromEntries(runtime!.instructions.map((i) => [i.op, i.args])).ENTRYPOINT!) as string[]
    ).join(' ');
    assert.ok(smokeScript.includes(`exec ${entrypoint} `), 'the script does not start the ENTRYPOINT');
  });
});

// Builds from a fresh clone of HEAD when the working tree is clean (as in CI); with uncommitted changes it
// uses the working tree's files instead, so that what is tested is what is there.
function smokeArgs(): string[] {
  const git = (...args: string[]): string =>
    execFileSync('git', ['-C', repoRoot, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    git('rev-parse', '--verify', 'HEAD');
    if (git('status', '--porcelain') === '') return [];
  } catch {
    // No commit yet: nothing to clone.
  }
  return ['--from-worktree'];
}

describe('scripts/docker-smoke.sh', () => {
  it(
    'builds like the Dockerfile, installs production dependencies only, and the gateway answers /healthz and lists the embedded servers',
    {
      timeout: 900_000,
    },
    () => {
      const args = smokeArgs();
      const run = spawnSync('bash', [join(repoRoot, 'scripts', 'docker-smoke.sh'), ...args, repoRoot], {
        encoding: 'utf8',
        timeout: 890_000,
      });
      const output = `${run.stdout}\n${run.stderr}`;
      assert.equal(run.status, 0, `docker-smoke.sh ${args.join(' ')} failed:\n${output}`);
      assert.match(run.stdout, /GET \/healthz: 200/);
      assert.match(run.stdout, /GET \/servers: admin libvirtd/);
      assert.match(run.stdout, /docker-smoke: ok/);
    },
  );
});
