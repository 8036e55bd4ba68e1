import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { settingsEtag } from '../../src/resources/etag.js';

const tp = { minWorkers: 5, maxWorkers: 20, prioWorkers: 5 };

describe('settingsEtag', () => {
  it('is a strong, quoted SHA-256 of the resource name and the values in order', () => {
    // Built independently: the JSON text written by hand, not by the function under test.
    const expected = `"${createHash('sha256').update('["threadpool",5,20,5]').digest('base64url').slice(0, 27)}"`;
    assert.equal(settingsEtag('threadpool', tp), expected);
    assert.match(expected, /^"[A-Za-z0-9_-]{27}"$/);
  });

  it('is stable for the same settings and changes with every settable field', () => {
    assert.equal(settingsEtag('threadpool', { ...tp }), settingsEtag('threadpool', tp));
    const tags = new Set([
      settingsEtag('threadpool', tp),
      settingsEtag('threadpool', { ...tp, minWorkers: 6 }),
      settingsEtag('threadpool', { ...tp, maxWorkers: 21 }),
      settingsEtag('threadpool', { ...tp, prioWorkers: 6 }),
      settingsEtag('client-limits', { maxClients: 5, maxUnauthClients: 20 }),
      settingsEtag('client-limits', { maxClients: 5, maxUnauthClients: 2 }),
      settingsEtag('logging', { outputs: '3:stderr', filters: '' }),
      settingsEtag('logging', { outputs: '3:stderr', filters: '1:*util* ' }),
      settingsEtag('logging', { outputs: '2:stderr', filters: '' }),
    ]);
    assert.equal(tags.size, 9);
  });

  it('keeps different resources apart even with equal values', () => {
    assert.notEqual(settingsEtag('threadpool', { a: 1, b: 2 }), settingsEtag('client-limits', { a: 1, b: 2 }));
  });
});
