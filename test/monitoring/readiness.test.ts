import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkReadiness } from '../../src/monitoring/readiness.js';
import type { DaemonSource } from '../../src/monitoring/source.js';
import { FakeDaemon } from './fake-daemon.js';

describe('checkReadiness', () => {
  it('is ready when every daemon answers GET_LIB_VERSION', async () => {
    const a = new FakeDaemon('libvirtd');
    const b = new FakeDaemon('virtlogd');
    const r = await checkReadiness([a.source(), b.source()], 500);
    assert.deepEqual(r, {
      ready: true,
      daemons: [
        { daemon: 'libvirtd', ready: true, version: '9.0.0' },
        { daemon: 'virtlogd', ready: true, version: '9.0.0' },
      ],
    });
    assert.deepEqual([...a.calls.keys()], ['getLibVersion']);
  });

  it('names the daemon that does not answer, and why', async () => {
    const a = new FakeDaemon('libvirtd');
    const b = new FakeDaemon('virtlogd');
    b.down = true;
    const r = await checkReadiness([a.source(), b.source()], 500);
    assert.equal(r.ready, false);
    assert.deepEqual(
      r.daemons.filter((d) => !d.ready).map((d) => d.daemon),
      ['virtlogd'],
    );
    assert.match(r.daemons[1]!.error!, /Connection refused/);
  });

  it('gives up on a daemon that hangs after the timeout', async () => {
    const hanging: DaemonSource = { name: 'stuck', call: () => new Promise(() => {}) };
    const started = Date.now();
    const r = await checkReadiness([hanging], 50);
    assert.ok(Date.now() - started < 1000);
    assert.deepEqual(r.daemons, [{ daemon: 'stuck', ready: false, error: 'no answer within 50 ms' }]);
  });
});
