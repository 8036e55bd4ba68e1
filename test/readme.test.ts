// README.md stays true: every option is in the configuration table, and the tour shows every resource.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe, it } from 'node:test';
import { OPTIONS } from '../src/config.js';

describe('README.md', () => {
  let readme: string;
  before(async () => {
    readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  });

  it('gives the setup, run and test commands', () => {
    for (const command of ['sudo bash scripts/install-libvirt.sh', 'npm install', 'npm start', 'npm test']) {
      assert.ok(readme.includes(command), command);
    }
  });

  it('lists every option with its environment variable in the configuration table', () => {
    const table = readme.slice(readme.indexOf('## Configuration'));
    for (const option of Object.values(OPTIONS)) {
      assert.ok(table.includes(`| \`--${option.flag}`), `--${option.flag}`);
      assert.ok(table.includes(`\`${option.env}\``), option.env);
    }
  });

  it('tours every resource of the gateway with curl', () => {
    const tour = readme.slice(readme.indexOf('## A curl tour'), readme.indexOf('## Configuration'));
    const shown = [...tour.matchAll(/^\$ curl .*?http:\/\/127\.0\.0\.1:8080(\/[^\s"'|?]*)/gm)].map((m) => m[1]);
    for (const resource of [
      '/',
      '/daemons',
      '/daemon',
      '/daemon/timeout',
      '/daemon/shutdown',
      '/daemon/logging',
      '/servers',
      '/servers/libvirtd',
      '/servers/libvirtd/threadpool',
      '/servers/libvirtd/client-limits',
      '/servers/libvirtd/clients',
      '/servers/libvirtd/clients/1',
      '/servers/libvirtd/tls/reload',
      '/daemons/virtlogd/servers',
      '/healthz',
      '/openapi.json',
      '/openapi.yaml',
      '/docs/',
    ]) {
      assert.ok(shown.includes(resource), resource);
    }
  });
});
