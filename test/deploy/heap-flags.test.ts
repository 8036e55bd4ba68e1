// The gateway's V8 heap flags ship in three places: the CLI's shebang (the npm bin, which the systemd unit
// starts), the start script and the Docker image's entry point. They must agree, and node must take them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const root = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const shebang = read('src/cli.ts').split('\n')[0]!;
const FLAGS = /--max-semi-space-size=\d+ --max-old-space-size=\d+/;

describe('heap flags', () => {
  const flags = FLAGS.exec(shebang)?.[0];

  it('are on the CLI shebang, through env -S (a shebang passes at most one argument)', () => {
    assert.ok(flags, shebang);
    assert.equal(shebang, `#!/usr/bin/env -S node ${flags}`);
  });

  it('are the same in the start script and the image entry point', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    assert.equal(scripts['start'], `node ${flags} dist/cli.js`);
    const entrypoint = /^ENTRYPOINT (.*)$/m.exec(read('Dockerfile'))?.[1];
    assert.deepEqual(JSON.parse(entrypoint ?? 'null'), ['node', ...flags!.split(' '), 'dist/cli.js']);
  });

  it('are taken by node when the shebang line runs', async () => {
    const [env, ...command] = shebang.slice(2).split(' ');
    const probe = 'const v8=require("node:v8");console.log(JSON.stringify(v8.getHeapStatistics()))';
    const { stdout } = await promisify(execFile)(env!, [...command, '-e', probe]);
    const { heap_size_limit: limit } = JSON.parse(stdout) as { heap_size_limit: number };
    // Old space plus young generation: 128 MiB and a few semi-spaces of 8 MiB, far below node's default here.
    const MiB = 1024 * 1024;
    assert.ok(limit > 128 * MiB && limit < 200 * MiB, `heap limit ${limit / MiB} MiB`);
  });
});
