import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { parseOutput } from '../../src/admin/logging/outputs.js';
import { DaemonError } from '../../src/daemon/errors.js';
import { DaemonLog, globToRegExp, timestamp } from '../../src/daemon/log.js';

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  return {
    stream: new Writable({
      write(chunk, _enc, done) {
        text += String(chunk);
        done();
      },
    }),
    text: () => text,
  };
}

function payloadOf(fn: () => void): DaemonError['payload'] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DaemonError, String(err));
    return err.payload;
  }
  assert.fail('expected an error');
}

describe('DaemonLog', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'daemon-log-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const make = (stderr = capture()) => {
    const log = new DaemonLog({
      defaultOutput: parseOutput(`3:file:${dir}/default.log`),
      libVersion: 9_000_000,
      streams: { stderr: stderr.stream },
    });
    log.open();
    return { log, stderr };
  };

  test('starts with the default output; GET shows it, filters are NULL', () => {
    const { log } = make();
    assert.deepEqual(log.getOutputs(), { outputs: `3:file:${dir}/default.log`, count: 1 });
    assert.deepEqual(log.getFilters(), { filters: null, count: 0 });
    log.close();
  });

  test('writes warnings and errors by default, each output after a version and hostname header', async () => {
    const { log } = make();
    log.log('rpc.netserver', 2, 'not written');
    log.log('util.error', 4, 'an error');
    log.log('rpc.netserver', 3, 'a warning');
    log.close();
    const lines = (await readFile(join(dir, 'default.log'), 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 4);
    assert.match(
      lines[0]!,
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+0000: \d+: info : libvirt version: 9\.0\.0, package: /,
    );
    assert.match(lines[1]!, /: info : hostname: /);
    assert.match(lines[2]!, /: \d+: error : util\.error : an error$/);
    assert.match(lines[3]!, /: warning : rpc\.netserver : a warning$/);
    assert.equal((await stat(join(dir, 'default.log'))).mode & 0o777, 0o600);
  });

  test('filters: the first whose glob matches the category sets the minimum; outputs keep their own level', async () => {
    const { log, stderr } = make();
    log.setOutputs(`1:file:${dir}/debug.log 3:stderr`);
    log.setFilters('1:rpc.netserver 4:rpc 2:daemon.*');
    log.log('rpc.netserverclient', 1, 'debug from a matching category');
    log.log('rpc.netdaemon', 3, 'warning below the error-only filter');
    log.log('daemon.admin', 2, 'info allowed by daemon.*');
    log.log('util.error', 2, 'info under the default threshold');
    log.log('rpc.netserver', 3, 'warning to both');
    log.close();
    const file = await readFile(join(dir, 'debug.log'), 'utf8');
    assert.match(file, /debug : rpc\.netserverclient : debug from a matching category/);
    assert.match(file, /info : daemon\.admin : info allowed/);
    assert.doesNotMatch(file, /below the error-only filter|under the default threshold/);
    assert.match(stderr.text(), /warning : rpc\.netserver : warning to both\n$/);
    assert.doesNotMatch(stderr.text(), /debug from/);
  });

  test('a failed SET keeps the old outputs and closes what it opened; duplicates replace earlier ones', () => {
    const { log } = make();
    log.setOutputs(`4:stderr 1:file:${dir}/a.log 2:stderr`);
    assert.deepEqual(log.getOutputs(), { outputs: `1:file:${dir}/a.log 2:stderr`, count: 2 });
    const missing = payloadOf(() => log.setOutputs(`1:file:${dir}/b.log 1:file:${dir}/nope/c.log`));
    assert.deepEqual(
      [missing.code, missing.domain, missing.message, missing.int1],
      [38, 0, `failed to open ${dir}/nope/c.log: No such file or directory`, 2],
    );
    const bad = payloadOf(() => log.setOutputs('1:stderr 7:stderr'));
    assert.deepEqual([bad.code, bad.domain, bad.str2], [8, 0, "Invalid log priority '7' for log output '7:stderr'"]);
    assert.deepEqual(log.getOutputs(), { outputs: `1:file:${dir}/a.log 2:stderr`, count: 2 });
    log.setOutputs('1:syslog:x 2:journald 3:syslog:y');
    assert.deepEqual(log.getOutputs(), { outputs: '1:syslog:x 2:journald 3:syslog:y', count: 3 });
    log.setOutputs('');
    assert.deepEqual(log.getOutputs(), { outputs: `3:file:${dir}/default.log`, count: 1 });
    log.close();
  });

  test('blanks leave no output at all, and GET then fails like libvirtd', () => {
    const { log } = make();
    log.setOutputs('   ');
    assert.equal(payloadOf(() => log.getOutputs()).message, 'Library function returned error but did not set virError');
    log.setOutputs(null);
    assert.equal(log.getOutputs().count, 1);
    log.close();
  });

  test('filter errors and clearing', () => {
    const { log } = make();
    assert.equal(
      payloadOf(() => log.setFilters('1:ok x:bad')).message,
      "invalid argument: Invalid priority 'x' for filter 'x:bad'",
    );
    assert.deepEqual(log.getFilters(), { filters: null, count: 0 });
    log.setFilters('4:event 3:+remote');
    assert.deepEqual(log.getFilters(), { filters: '4:*event* 3:*remote* ', count: 2 });
    log.setFilters('  ');
    assert.deepEqual(log.getFilters(), { filters: null, count: 0 });
    log.close();
  });

  test('globs and timestamps', () => {
    assert.ok(globToRegExp('*rpc*').test('rpc.netserver'));
    assert.ok(globToRegExp('rpc.net?erver').test('rpc.netserver'));
    assert.ok(!globToRegExp('rpc.net?erver').test('rpcXnetserver.x'));
    assert.ok(!globToRegExp('a.b').test('axb'));
    assert.equal(timestamp(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6))), '2024-01-02 03:04:05.006+0000');
  });
});
