import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClientRef } from '../../src/admin/types.js';
import { connectedAt } from '../../src/http/representations.js';

const client = (timestamp: bigint): ClientRef => ({ id: 1n, timestamp, transport: 0, server: { name: 'libvirtd' } });

describe('connectedAt', () => {
  it('writes the Unix time as ISO 8601, the same on every call', () => {
    assert.equal(connectedAt(client(0n)), '1970-01-01T00:00:00.000Z');
    assert.equal(connectedAt(client(1_700_000_000n)), '2023-11-14T22:13:20.000Z');
    assert.equal(connectedAt(client(1_700_000_000n)), '2023-11-14T22:13:20.000Z');
  });

  it('stays right past the size of its memory of recent times', () => {
    for (let t = 1_600_000_000n; t < 1_600_020_000n; t += 1n) {
      if (t % 997n === 0n) assert.equal(connectedAt(client(t)), new Date(Number(t) * 1000).toISOString());
      else connectedAt(client(t));
    }
    assert.equal(connectedAt(client(1_600_000_000n)), '2020-09-13T12:26:40.000Z');
  });
});
