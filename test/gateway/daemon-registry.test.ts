import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DaemonRegistry } from '../../src/gateway/daemon-registry.js';
import { UnknownDaemonError } from '../../src/gateway/errors.js';

describe('DaemonRegistry', () => {
  const registry = new DaemonRegistry(
    [
      { uri: 'virtqemud:///system' },
      { uri: 'libvirtd:///session' },
      { uri: 'virtqemud:///session' },
      { uri: 'virtqemud:///system?socket=/tmp/x' },
      { uri: 'libvirtd:///system', name: 'main' },
      { uri: 'libvirtd:///system?socket=/tmp/e', embedded: true },
    ],
    { callTimeoutMs: 1000 },
  );

  it('names daemons after the URI scheme, made unique in order', () => {
    assert.deepEqual(
      registry.list().map((d) => d.connection.name),
      ['virtqemud', 'libvirtd', 'virtqemud-2', 'virtqemud-3', 'main', 'libvirtd-2'],
    );
  });

  it('makes the first daemon the default one', () => {
    assert.equal(registry.default.name, 'virtqemud');
    assert.equal(registry.get(), registry.default);
    assert.deepEqual(
      registry.list().map((d) => d.isDefault),
      [true, false, false, false, false, false],
    );
    assert.equal(registry.entry('libvirtd-2').embedded, true);
  });

  it('finds daemons by name and refuses unknown ones', () => {
    assert.equal(registry.get('virtqemud-3').uri, 'virtqemud:///system?socket=/tmp/x');
    assert.throws(
      () => registry.get('nosuch'),
      (err: unknown) => {
        assert.ok(err instanceof UnknownDaemonError);
        assert.equal(err.code, 'ERR_UNKNOWN_DAEMON');
        assert.match(err.message, /known: virtqemud, libvirtd/);
        return true;
      },
    );
  });

  it('needs at least one daemon', () => {
    assert.throws(() => new DaemonRegistry([], { callTimeoutMs: 1 }), /at least one daemon/);
  });

  it('closes every connection', async () => {
    await registry.close();
    assert.ok(registry.list().every((d) => d.connection.status.state === 'closed'));
  });
});
