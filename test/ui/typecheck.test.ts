// The page's TypeScript (ui/, DOM types, bundled by esbuild, which does not type-check) passes the compiler in
// strict mode, like the gateway's own code.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('ui/ sources', () => {
  it('type-check with ui/tsconfig.json', async () => {
    const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(
        'node_modules/.bin/tsc',
        ['-p', 'ui/tsconfig.json'],
        { cwd: ROOT, timeout: 120_000 },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, output: `${stdout}${stderr}` }),
      );
    });
    assert.equal(code, 0, output);
  });
});
